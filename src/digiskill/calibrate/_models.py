"""Item models in slope–intercept form: category log-probabilities and their derivatives in the item parameters.

Inside the estimation every item of a family carries one row of internal parameters ``η``:

* dichotomous (``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``): ``η = (a, d, γ_c, γ_u)`` with
  ``P(X=1 | θ) = c + (u − c) σ(aθ + d)``, ``c = σ(γ_c)``, ``u = σ(γ_u)``; a fixed ``c = 0`` is stored as
  ``γ_c = −∞`` and a fixed ``u = 1`` as ``γ_u = +∞``. IRT form: ``b = −d/a``.
* graded (``grm``): ``η = (a, d_1, …, d_{K−1})`` with ``P(X ≥ k | θ) = σ(aθ + d_k)``, ``d_1 > d_2 > …``.
  IRT form: ``b_k = −d_k/a``.
* partial credit (``gpcm``, ``pcm``): ``η = (a, d_1, …, d_{K−1})`` with ``P(X = k | θ) ∝ exp(k·aθ + d_k)``,
  ``d_0 = 0``. IRT form (steps): ``b_k = −(d_k − d_{k−1})/a``.

This is R mirt's parameterisation (``a1``, ``d``/``d1..``, logit ``g``/``u``). Each kernel returns, for ``Q`` ability
values and ``J`` items of its family, ``log P`` of shape ``(Q, J, K)`` (−∞ for categories an item lacks) and
``∂ log P / ∂η`` of shape ``(Q, J, K, p)`` (zero for absent categories).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..irt.items import DICHOTOMOUS, GRADED, PARTIAL_CREDIT
from ..irt.special import expit, log_expit, log_softmax  # numpy versions: scipy.special is slow to import

# model name -> (family, slope free per item, lower asymptote free, upper asymptote free)
MODEL_FAMILY: dict[str, int] = {
    "rasch": DICHOTOMOUS,
    "1pl": DICHOTOMOUS,
    "2pl": DICHOTOMOUS,
    "3pl": DICHOTOMOUS,
    "4pl": DICHOTOMOUS,
    "grm": GRADED,
    "gpcm": PARTIAL_CREDIT,
    "pcm": PARTIAL_CREDIT,
}
MODELS = tuple(MODEL_FAMILY)
FIXED_SLOPE_MODELS = ("rasch", "pcm")  # slope fixed at 1: the latent variance is estimated instead (as mirt's Rasch)

DICHOTOMOUS_NAMES = ("a", "d", "logit_c", "logit_u")

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class Priors:
    """Prior densities for MAP estimation of item parameters (``None`` switches one off).

    Attributes:
        guessing: ``Beta(α, β)`` on the lower asymptote ``c`` of 3PL/4PL items. The default ``Beta(5, 17)`` has its
            mode at 0.2 (chance on a five-option item), mean 0.23 and 95 % of its mass in [0.08, 0.42]; it is
            ``Beta(20p + 1, 20(1 − p) + 1)`` with ``p = 0.2``, i.e. worth about 20 pseudo-observations (the form
            BILOG-MG uses). Without a prior the lower asymptotes of easy items are barely identified: they drift to 0
            or wander, and slopes and difficulties follow. Pass ``(20p + 1, 20(1 − p) + 1)`` for items with
            ``1/p`` options.
        slipping: ``Beta(α, β)`` on the upper asymptote ``u`` of 4PL items; default ``Beta(17, 5)``, the guessing
            prior mirrored (mode 0.8).
        slope: ``LogNormal(μ, σ)`` on the slope ``a`` of items with their own free slope (2PL, 3PL, 4PL, GRM, GPCM);
            off by default, as in mirt, so that 2PL/GRM/GPCM estimates are maximum likelihood and match mirt's. A
            common choice when slopes are poorly identified (small samples, 3PL) is ``(0.0, 0.5)``: median slope 1,
            95 % of the mass in [0.38, 2.66].
        asymptote_slope: ``LogNormal(μ, σ)`` on the slope of 3PL/4PL items only (those with a free asymptote), used
            when ``slope`` is None; default ``(0.0, 0.5)`` (median 1, 95 % in [0.38, 2.66]). With a free asymptote
            the likelihood is nearly flat in the slope of easy or hard items, and the slope can run off towards
            infinity (seen for 4PL at N = 500); the prior keeps it finite while 2PL/GRM/GPCM stay maximum likelihood.
            ``None`` switches it off.
        intercept: ``Normal(μ, σ)`` on every free intercept ``d`` (slope–intercept form, ``d = −a·b``; the
            thresholds ``d_k`` of GRM/GPCM/PCM items); off by default (ML, as mirt). ``(0.0, 3.0)`` is a weak choice
            that only keeps the intercepts of items almost everyone (or no one) answers correctly from drifting
            towards ±∞. It acts on ``d`` alone, so it is separable from the slope and its curvature is exact.
        difficulty: ``Normal(μ, σ)`` on the IRT difficulty ``b = −d/a`` of every item with a free intercept: the
            ``b`` of dichotomous items (``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``), every threshold
            ``b_k = −d_k/a`` of GRM items and every step location ``b_k = −(d_k − d_{k−1})/a`` (``d_0 = 0``) of
            GPCM/PCM items; off by default (ML, as mirt). ``(0.0, 1.0)`` (locations expected on the N(0, 1) ability
            scale) or the weaker ``(0.0, 2.0)`` are common choices. The prior involves the slope too:
            with a free slope (also the common 1PL slope) it acts through ``a`` and ``d``; with a fixed slope
            (``rasch``, ``pcm``) only through ``d``.

    ``intercept`` or ``difficulty``? Both can be set (their log densities add). Prefer ``difficulty`` when the prior
    expresses a belief about where items sit on the ability scale (μ and σ are in θ units, independent of the
    slope): it shrinks an extreme location towards μ whatever the item's discrimination. Prefer ``intercept`` as a
    purely numerical safeguard against ``d`` running off for items with extreme proportions: it leaves the slope
    alone, whereas a prior on ``b`` couples slope and location (for an item with a weak slope, ``b = −d/a`` is far
    out and the prior also pushes ``a`` up). With ``a`` near 1 the two coincide. A prior on ``b`` alone does not
    bound the slope: for an item that few persons answer correctly (or incorrectly) it can move ``b`` towards μ by
    steepening the curve, up to ``a → ∞`` (seen with N = 300 and 5 correct answers); in small samples pair it with a
    ``slope`` prior, e.g. ``Priors(slope=(0.0, 0.5), difficulty=(0.0, 1.0))``.
    """

    guessing: tuple[float, float] | None = (5.0, 17.0)
    slipping: tuple[float, float] | None = (17.0, 5.0)
    slope: tuple[float, float] | None = None
    intercept: tuple[float, float] | None = None
    asymptote_slope: tuple[float, float] | None = (0.0, 0.5)
    difficulty: tuple[float, float] | None = None  # last, so that positional construction keeps its meaning

    def __post_init__(self) -> None:
        for name in ("guessing", "slipping"):
            v = getattr(self, name)
            if v is not None and not (len(v) == 2 and v[0] >= 1 and v[1] >= 1):
                raise ValueError(f"Priors.{name} must be Beta(α, β) with α, β ≥ 1, got {v}")
        for name in ("slope", "asymptote_slope"):
            v = getattr(self, name)
            if v is not None and not (len(v) == 2 and v[1] > 0):
                raise ValueError(f"Priors.{name} must be LogNormal(μ, σ) with σ > 0, got {v}")
        for name in ("intercept", "difficulty"):
            v = getattr(self, name)
            if v is not None and not (len(v) == 2 and v[1] > 0):
                raise ValueError(f"Priors.{name} must be Normal(μ, σ) with σ > 0, got {v}")


# ---------------------------------------------------------------------------------------------------- kernels
def dichotomous_terms(
    theta: np.ndarray, eta: np.ndarray, n_cat: np.ndarray, with_grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Dichotomous items, ``η = (a, d, γ_c, γ_u)``: ``log P`` ``(Q, J, 2)`` and ``∂ log P/∂η`` ``(Q, J, 2, 4)``."""
    a, d, gc, gu = eta[:, 0], eta[:, 1], eta[:, 2], eta[:, 3]
    th = theta[:, None]
    z = th * a + d  # (Q, J)
    q, j = z.shape
    logp = np.empty((q, j, 2))
    ls1 = log_expit(z)
    ls0 = ls1 - z  # log σ(−z)
    grad = np.zeros((q, j, 2, 4)) if with_grad else None
    if not (np.isfinite(gc).any() or np.isfinite(gu).any()):  # c = 0 and u = 1 everywhere: plain logistic
        logp[..., 1], logp[..., 0] = ls1, ls0
        if grad is not None:
            s1 = expit(z)
            s0 = 1.0 - s1
            grad[..., 1, 0], grad[..., 1, 1] = th * s0, s0
            grad[..., 0, 0], grad[..., 0, 1] = -th * s1, -s1
        return logp, grad
    with np.errstate(divide="ignore"):  # c = 0 or u = 1 give log 0 = −inf, which logaddexp and exp handle
        log_c, log_1mc = log_expit(gc), log_expit(-gc)
        log_u, log_1mu = log_expit(gu), log_expit(-gu)
        log_umc = np.log(expit(gu) - expit(gc))
    logp[..., 1] = np.logaddexp(log_c, log_umc + ls1)
    logp[..., 0] = np.logaddexp(log_1mu, log_umc + ls0)
    if grad is not None:
        lp1, lp0 = logp[..., 1], logp[..., 0]
        r1 = np.exp(log_umc + ls1 - lp1)  # (u − c)σ(z)/P1 ∈ [0, 1]
        r0 = np.exp(log_umc + ls0 - lp0)
        dz1 = np.exp(ls0) * r1
        dz0 = -np.exp(ls1) * r0
        grad[..., 1, 0], grad[..., 1, 1] = th * dz1, dz1
        grad[..., 0, 0], grad[..., 0, 1] = th * dz0, dz0
        # ∂P1/∂γ_c = c(1 − c)σ(−z), ∂P1/∂γ_u = u(1 − u)σ(z); P0 = 1 − P1
        gcz = log_c + log_1mc + ls0
        guz = log_u + log_1mu + ls1
        grad[..., 1, 2], grad[..., 0, 2] = np.exp(gcz - lp1), -np.exp(gcz - lp0)
        grad[..., 1, 3], grad[..., 0, 3] = np.exp(guz - lp1), -np.exp(guz - lp0)
    return logp, grad


def graded_terms(
    theta: np.ndarray, eta: np.ndarray, n_cat: np.ndarray, with_grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Graded items, ``η = (a, d_1..d_{K−1})``: ``log P`` ``(Q, J, K)`` and ``∂ log P/∂η`` ``(Q, J, K, K)``.

    ``P_k = σ(z_k) − σ(z_{k+1}) = σ(z_k) σ(−z_{k+1}) (1 − exp(−(d_k − d_{k+1})))`` with ``z_k = aθ + d_k``,
    ``z_0 = +∞``, ``z_K = −∞``; the derivative ratios ``W_k/P_k`` (``W = σ(z)σ(−z)``) are formed in log space.
    """
    k_max = eta.shape[1]
    thr_present = np.arange(1, k_max) < n_cat[:, None]  # (J, K−1): thresholds the item has
    present = np.arange(k_max) < n_cat[:, None]  # (J, K)
    a, d = eta[:, 0], np.where(thr_present, eta[:, 1:], 0.0)
    th = theta[:, None, None]
    z = np.where(thr_present, th * a[:, None] + d, -np.inf)  # (Q, J, K−1)
    shape = (*z.shape[:-1], 1)
    upper = np.concatenate([np.full(shape, np.inf), z], axis=-1)  # z_k
    lower = np.concatenate([z, np.full(shape, -np.inf)], axis=-1)  # z_{k+1}
    gap = d[:, :-1] - d[:, 1:]  # (J, K−2), > 0 where both thresholds exist
    both = thr_present[:, :-1] & thr_present[:, 1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        const = np.where(both, np.log(-np.expm1(-np.where(both, gap, 1.0))), 0.0)
    edge = np.zeros((eta.shape[0], 1))
    const = np.concatenate([edge, const, edge], axis=1)  # (J, K)
    with np.errstate(invalid="ignore"):
        logp = log_expit(upper) + log_expit(-lower) + const
    logp = np.where(present, logp, -np.inf)
    if not with_grad:
        return logp, None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_wu = log_expit(upper) + log_expit(-upper)  # log W_k (−∞ for k = 0)
        log_wl = log_expit(lower) + log_expit(-lower)  # log W_{k+1} (−∞ for the top category)
        big_a = np.where(present, np.exp(log_wu - logp), 0.0)
        big_b = np.where(present, np.exp(log_wl - logp), 0.0)
    big_a = np.nan_to_num(big_a, nan=0.0)
    big_b = np.nan_to_num(big_b, nan=0.0)
    grad = np.zeros((*logp.shape, k_max))
    grad[..., 0] = theta[:, None, None] * (big_a - big_b)
    idx = np.arange(1, k_max)
    grad[..., idx, idx] = big_a[..., 1:]  # ∂ log P_k / ∂d_k
    idx = np.arange(k_max - 1)
    grad[..., idx, idx + 1] = -big_b[..., :-1]  # ∂ log P_k / ∂d_{k+1}
    return logp, grad


def partial_credit_terms(
    theta: np.ndarray, eta: np.ndarray, n_cat: np.ndarray, with_grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Partial-credit items, ``η = (a, d_1..d_{K−1})``: ``log P = log_softmax(k·aθ + d_k)`` and its η-gradient."""
    k_max = eta.shape[1]
    present = np.arange(k_max) < n_cat[:, None]
    k = np.arange(k_max, dtype=float)
    d = np.concatenate([np.zeros((eta.shape[0], 1)), eta[:, 1:]], axis=1)
    s = theta[:, None, None] * (eta[:, 0:1] * k) + d  # (Q, J, K)
    s = np.where(present, s, -np.inf)
    logp = log_softmax(s, axis=-1)
    if not with_grad:
        return logp, None
    p = np.exp(logp)
    mean = p @ k
    grad = np.zeros((*logp.shape, k_max))
    grad[..., 0] = theta[:, None, None] * (k - mean[..., None])
    grad[..., 1:] = np.eye(k_max)[:, 1:] - p[..., None, 1:]
    grad = np.where(present[None, :, :, None], grad, 0.0)
    return logp, grad


KERNELS: dict[int, Kernel] = {
    DICHOTOMOUS: dichotomous_terms,
    GRADED: graded_terms,
    PARTIAL_CREDIT: partial_credit_terms,
}


def valid_rows(family: int, eta: np.ndarray, n_cat: np.ndarray) -> np.ndarray:
    """``(J,)`` whether each item's parameters are admissible (finite; graded intercepts strictly decreasing)."""
    if family == DICHOTOMOUS:
        ok = np.isfinite(eta[:, :2]).all(axis=1) & ~np.isnan(eta[:, 2:]).any(axis=1)
        return ok & (eta[:, 2] < eta[:, 3])  # c < u
    k_max = eta.shape[1]
    thr_present = np.arange(1, k_max) < n_cat[:, None]
    d = eta[:, 1:]
    ok = np.isfinite(eta[:, 0]) & np.where(thr_present, np.isfinite(d), True).all(axis=1)
    if family == GRADED and k_max > 2:
        both = thr_present[:, :-1] & thr_present[:, 1:]
        with np.errstate(invalid="ignore"):
            ok &= np.where(both, d[:, :-1] > d[:, 1:], True).all(axis=1)
    return ok


# ---------------------------------------------------------------------------------------------------- priors
def log_prior(
    family: int, eta: np.ndarray, free: np.ndarray, priors: Priors, with_grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Log prior per item ``(J,)``, its gradient ``(J, p)`` and its negative Hessian ``(J, p, p)``.

    Priors act on free parameters only: Beta on ``c = σ(γ_c)`` and ``u = σ(γ_u)`` (density in ``c``/``u``, so the
    mode is the Beta mode), LogNormal on a free per-item slope, Normal on free intercepts ``d`` and Normal on the IRT
    locations ``b`` of items with free intercepts (see :func:`_difficulty_prior` for its slope column).
    """
    j, p = eta.shape
    value = np.zeros(j)
    grad = np.zeros((j, p)) if with_grad else None
    neg_hess = np.zeros((j, p, p)) if with_grad else None
    if family == DICHOTOMOUS:
        for col, beta in ((2, priors.guessing), (3, priors.slipping)):
            on = free[:, col]
            if beta is None or not on.any():
                continue
            al, be = beta
            g = np.where(on, eta[:, col], 0.0)
            value += np.where(on, (al - 1) * log_expit(g) + (be - 1) * log_expit(-g), 0.0)
            if grad is not None:
                cc = expit(g)
                grad[:, col] += np.where(on, (al - 1) * (1 - cc) - (be - 1) * cc, 0.0)
                neg_hess[:, col, col] += np.where(on, (al + be - 2) * cc * (1 - cc), 0.0)
    slope_priors = [(priors.slope, free[:, 0])]
    if priors.slope is None and priors.asymptote_slope is not None and family == DICHOTOMOUS:
        slope_priors.append((priors.asymptote_slope, free[:, 0] & (free[:, 2] | free[:, 3])))
    for prior, on in slope_priors:
        if prior is None or not on.any():
            continue
        mu, sd = prior
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(on & (eta[:, 0] > 0), eta[:, 0], np.nan)
            la = np.log(a)
            value += np.where(on, np.nan_to_num(-((la - mu) ** 2) / (2 * sd * sd) - la, nan=-np.inf), 0.0)
            if grad is not None:
                grad[:, 0] += np.where(on, np.nan_to_num(-(la - mu) / (sd * sd * a) - 1 / a), 0.0)
                curv = (1 - (la - mu)) / (sd * sd * a * a) - 1 / (a * a)  # −∂²/∂a²
                neg_hess[:, 0, 0] += np.where(on, np.nan_to_num(curv), 0.0)
    if priors.intercept is not None:
        mu, sd = priors.intercept
        on = free.copy()
        on[:, 0] = False  # column 0 is the slope
        if family == DICHOTOMOUS:
            on[:, 2:] = False  # asymptotes
        if on.any():
            dev = np.where(on, eta - mu, 0.0)
            value += np.sum(-(dev**2) / (2 * sd * sd), axis=1)
            if grad is not None:
                grad -= dev / (sd * sd)
                cols = np.arange(p)
                neg_hess[:, cols, cols] += on / (sd * sd)
    if priors.difficulty is not None:
        _difficulty_prior(family, eta, free, priors.difficulty, value, grad, neg_hess)
    return value, grad, neg_hess


def _difficulty_prior(
    family: int,
    eta: np.ndarray,
    free: np.ndarray,
    prior: tuple[float, float],
    value: np.ndarray,
    grad: np.ndarray | None,
    neg_hess: np.ndarray | None,
) -> None:
    """Add ``Σ_k log N(b_k; μ, σ)`` (up to its constant), its gradient and a PSD negative Hessian, in place.

    The locations are ``b = −d/a`` (dichotomous), ``b_k = −d_k/a`` (graded) and ``b_k = −(d_k − d_{k−1})/a`` with
    ``d_0 = 0`` (partial credit); location ``k`` is active when its own intercept ``d_k`` is free. Its Jacobian is
    ``∂b_k/∂a = −b_k/a``, ``∂b_k/∂d_k = −1/a`` and, for partial credit, ``∂b_k/∂d_{k−1} = 1/a``; the ``d`` columns are
    masked by ``free``.

    The slope column is filled for every active row, also where ``free[:, 0]`` is False: the EM problem sums column 0
    of the 1PL rows into their common slope (an estimated parameter that is not a free entry of any row, so ``free``
    cannot tell it from the fixed Rasch/PCM slope), and it ignores column 0 of rows whose slope is really fixed
    (Rasch, PCM). For those rows the prior therefore acts through ``d`` only.
    """
    mu, sd = prior
    n_loc = 1 if family == DICHOTOMOUS else eta.shape[1] - 1
    on = free[:, 1 : 1 + n_loc]  # (J, L): location k is active when d_k is free
    if not on.any():
        return
    a = eta[:, :1]
    d = eta[:, 1 : 1 + n_loc]
    prev = np.zeros_like(d)
    if family == PARTIAL_CREDIT:
        prev[:, 1:] = d[:, :-1]  # d_{k−1}, with d_0 = 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a = 0: no location, log prior −∞
        b = -(d - prev) / a
        dev = np.where(on, b - mu, 0.0)
        term = np.where(on, -(dev**2) / (2 * sd * sd), 0.0)
    value += np.where(np.isnan(term), -np.inf, term).sum(axis=1)
    if grad is None or neg_hess is None:
        return
    j, p = eta.shape
    jac = np.zeros((j, n_loc, p))  # ∂b_k/∂η
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        jac[:, :, 0] = -b / a
        loc = np.arange(n_loc)
        jac[:, loc, loc + 1] = -1.0 / a
        if family == PARTIAL_CREDIT and n_loc > 1:
            jac[:, loc[1:], loc[1:]] = 1.0 / a
    jac[:, :, 1:] *= free[:, None, 1:]  # no derivative in a fixed intercept
    jac = np.where(on[:, :, None], np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    dev = np.nan_to_num(dev, nan=0.0, posinf=0.0, neginf=0.0)
    grad -= np.einsum("jl,jlp->jp", dev, jac) / (sd * sd)
    # The exact negative Hessian is (∂b ∂bᵀ + (b − μ) ∂²b)/σ²; its second term is indefinite (∂²b couples a with d
    # and vanishes on the d diagonal). We keep the Gauss–Newton/Fisher part ∂b ∂bᵀ/σ², positive semi-definite; the
    # M-step's step halving keeps the ascent, and the fixed point is the same because the gradient is exact.
    neg_hess += np.einsum("jlp,jlr->jpr", jac, jac) / (sd * sd)


# ---------------------------------------------------------------------------------------------------- conversions
def to_irt(family: int, eta: np.ndarray, n_cat: np.ndarray) -> dict[str, np.ndarray]:
    """IRT-form parameters of one family: ``a`` ``(J,)``, ``b`` ``(J, K−1)`` (NaN padded), ``c`` and ``d`` ``(J,)``.

    The names are :class:`~digiskill.irt.items.ItemArrays`'s: ``c`` the lower and ``d`` the upper asymptote (the
    slope–intercept form's intercepts live in ``eta[:, 1:]``, never under the name ``d`` here).
    """
    a = eta[:, 0]
    j = eta.shape[0]
    if family == DICHOTOMOUS:
        return {"a": a, "b": (-eta[:, 1] / a)[:, None], "c": expit(eta[:, 2]), "d": expit(eta[:, 3])}
    k_max = eta.shape[1]
    thr_present = np.arange(1, k_max) < n_cat[:, None]
    intercepts = eta[:, 1:]
    if family == GRADED:
        b = -intercepts / a[:, None]
    else:
        b = -np.diff(np.concatenate([np.zeros((j, 1)), intercepts], axis=1), axis=1) / a[:, None]
    return {"a": a, "b": np.where(thr_present, b, np.nan), "c": np.zeros(j), "d": np.ones(j)}


def from_irt(family: int, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Internal ``η`` rows from IRT-form parameters (the inverse of :func:`to_irt`; NaN b entries become 0).

    ``c`` and ``d`` are the lower and upper asymptotes (dichotomous items only).
    """
    if family == DICHOTOMOUS:
        with np.errstate(divide="ignore"):
            logit_c, logit_d = np.log(c) - np.log1p(-c), np.log(d) - np.log1p(-d)
        return np.column_stack([a, -a * b[:, 0], logit_c, logit_d])
    bb = np.nan_to_num(b)
    intercepts = -a[:, None] * bb if family == GRADED else -a[:, None] * np.cumsum(bb, axis=1)
    return np.column_stack([a, intercepts])
