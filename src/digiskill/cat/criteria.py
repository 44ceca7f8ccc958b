"""Item selection criteria over a whole area at once, on plain numpy arrays.

Each function returns one value per item of the area, ``(J_a,)``. Conventions:

* ``p_hat``, ``logp_hat``: ``(J, K)`` category probabilities and their logs at the current θ̂ (logs finite: 0 where a
  category is absent, where ``p_hat`` is 0 too).
* ``logp``, ``prob``: ``(Q, J, K)`` the same on the quadrature grid (precomputed once per bank).
* ``log_w``: ``(Q,)`` log weights over the grid, any normalisation.

The catR definitions are used, since the engine is compared with R catR.
"""

from __future__ import annotations

import numpy as np

from ..irt.special import expit  # numpy version: scipy.special is slow to import

# Normalised grid weights below this are set to 0 before the matrix products: they change no sum in double precision,
# and subnormal numbers would slow the BLAS calls down by an order of magnitude.
NEGLIGIBLE_WEIGHT = 1e-30


def normalised_weights(log_w: np.ndarray) -> np.ndarray:
    """``exp(log_w)`` scaled to sum to 1, with negligible weights set to 0."""
    u = np.exp(log_w - log_w.max())
    u /= u.sum()
    u[u < NEGLIGIBLE_WEIGHT] = 0.0
    return u


def dichotomous_information(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, theta: float) -> np.ndarray:
    """Fisher information of dichotomous items, ``a² (P − c)² (d − P)² / ((d − c)² P (1 − P))`` (a fast path of
    :func:`digiskill.irt.item_information`; for ``c = 0, d = 1`` it is ``a² σ(z) σ(−z)``)."""
    s1 = expit(a * (theta - b))
    s0 = 1.0 - s1
    p = c + (d - c) * s1
    with np.errstate(divide="ignore", invalid="ignore"):
        info = a * a * (d - c) ** 2 * (s1 * s0) ** 2 / (p * (1.0 - p))
    return np.where(np.isfinite(info), info, 0.0)


def fisher_information(p_hat: np.ndarray, dlogp_hat: np.ndarray) -> np.ndarray:
    """``I_j(θ̂) = Σ_k P_jk (∂ log P_jk / ∂θ)²``."""
    return np.einsum("jk,jk->j", p_hat, dlogp_hat * dlogp_hat)


def kullback_leibler(p_hat: np.ndarray, logp_hat: np.ndarray, logp: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """``KL_j = Σ_q u_q Σ_k P_jk(θ̂) log(P_jk(θ̂) / P_jk(θ_q))`` with ``u = w / Σ w`` (normalised weights).

    catR's KL index is this with ``w_q = trapezoid weight × L(θ_q)`` (likelihood of the answers so far); its KLP
    index with ``w_q = trapezoid weight × L(θ_q) × prior(θ_q)``. Normalising ``w`` divides every item by the same
    constant, so the choice is catR's; the logged value is the expected divergence, which is easier to read.
    """
    u = normalised_weights(log_w)
    j, k = logp.shape[1:]
    rows = _support(u)
    expected_logp = _weighted_rows(u[rows], logp[rows].reshape(-1, j * k)).reshape(j, k)  # Σ_q u_q log P_jk(θ_q)
    return np.einsum("jk,jk->j", p_hat, logp_hat - expected_logp)


def expected_posterior_variance(
    p_hat: np.ndarray, prob: np.ndarray, points: np.ndarray, log_post: np.ndarray
) -> np.ndarray:
    """``EPV_j = Σ_k P_jk(θ̂) Var(θ | answers, X_j = k)`` on the grid (catR's ``EPV``).

    ``log_post`` is the current log posterior on the grid (any normalisation). The posterior after answer ``k`` to
    item ``j`` is ``post · P_jk``; its first three moments for all ``j, k`` come from one ``(3, Q) @ (Q, J·K)``
    product.
    """
    post = normalised_weights(log_post)
    j, k = prob.shape[1:]
    rows = _support(post)
    p, x = post[rows], points[rows]
    flat = prob[rows].reshape(-1, j * k)
    moments = np.einsum("sq,qc->sc", np.stack([p, p * x, p * x * x]), flat)  # one pass over the matrix
    m0, m1, m2 = (m.reshape(j, k) for m in moments)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = m1 / m0
        var = np.where(m0 > 0, np.maximum(m2 / m0 - mean * mean, 0.0), 0.0)
    return np.einsum("jk,jk->j", p_hat, var)


def astrat_distance(
    b_center: np.ndarray, stratum: np.ndarray, available: np.ndarray, stage: int, theta: float
) -> tuple[np.ndarray, int]:
    """``|b_j − θ̂|`` for the available items of the stage's stratum (inf elsewhere), and the stratum used.

    When the stage's stratum has no available item, the nearest stratum that has one is used (higher first).
    """
    n_strata = int(stratum.max()) + 1 if stratum.size else 1
    has = np.bincount(stratum[available], minlength=n_strata) > 0
    order = sorted(range(n_strata), key=lambda s: (abs(s - stage), -s))  # S ≤ 50 strata, not items
    used = next((s for s in order if has[s]), stage)
    dist = np.where(available & (stratum == used), np.abs(b_center - theta), np.inf)
    return dist, used


def _support(u: np.ndarray) -> slice:
    """The smallest slice of grid rows holding every non-zero weight (a view, no copy)."""
    nz = np.flatnonzero(u)
    return slice(int(nz[0]), int(nz[-1]) + 1)


def _weighted_rows(w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``w @ m`` for one weight vector, without BLAS: a single-vector product on a multi-threaded BLAS pays a thread
    wake-up that costs more than the product (measured 5–10 ms against 0.5–1 ms on a loaded two-core machine)."""
    return np.einsum("q,qc->c", w, m)
