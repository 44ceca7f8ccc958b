"""Item, person and model fit for calibrated item banks, computed as R mirt computes them.

* :func:`s_x2`: Orlando & Thissen's (2000, 2003) summed-score item fit S-X2, with Kang & Chen's (2007) extension to
  polytomous items, collapsed and counted exactly as mirt's ``itemfit(fit_stats = "S_X2")``.
* :func:`infit_outfit`: Wright & Masters' (1982) infit and outfit mean squares, per item and per person, with their
  Wilson–Hilferty standardisations (mirt's ``itemfit(fit_stats = "infit")`` and ``personfit``).
* :func:`person_fit_lz`: Drasgow, Levine & Williams' (1985) standardized log-likelihood ``lz`` (mirt's ``Zh``) per
  person, and :func:`item_zh`, the same statistic summed over persons per item (mirt's ``itemfit(fit_stats = "Zh")``).
* :func:`m2`: Maydeu-Olivares & Joe's (2006) limited-information statistic M2 with df, p-value, RMSEA and SRMSR for
  complete dichotomous data (mirt's ``M2``).
* :class:`FitReport` bundles the per-item results; :func:`fit_report` computes everything for a
  :class:`~digiskill.calibrate.CalibrationResult`.

Missing responses (NaN or a negative code):

* S-X2 is defined on the summed score of the complete test, so persons with any missing response are left out of
  S-X2 (mirt's ``itemfit(..., na.rm = TRUE)``); the number used is reported.
* infit/outfit, lz and item Zh use the answered responses only: a missing response adds nothing to any sum, and
  each mean is over the responses actually given (mirt refuses missing data for these).
* M2 needs complete data: it raises :class:`~digiskill.errors.InputError` naming the items with missing responses.

Everything works on whole arrays: persons are never looped over. Loops remain where the algorithm is sequential by
nature: the Lord–Wingersky recursion and the cell collapsing of S-X2 (per item), and the quadrature points of the M2
weight matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import InputError, Problem
from ..irt.estimation import eap, leave_one_out_sum_score_likelihoods, sum_score_likelihoods
from ..irt.items import DICHOTOMOUS, ItemArrays
from ..irt.likelihood import encode_responses
from ..irt.quadrature import Quadrature
from ..irt.response import category_terms, probability
from ..irt.special import chi2_sf, expit, logit  # numpy versions: scipy.special is slow to import
from .result import CalibrationResult

DEFAULT_MINCELL = 1.0  # mirt's itemfit(mincell = 1): smallest expected count of an S-X2 cell
W_FLOOR_SQ = 1e-5  # mirt's personfit: a residual variance W with W² below this is replaced by sqrt(this)
Q_CAP = 1.4142  # mirt's cap on the SD of a mean square before the Wilson–Hilferty transform


# ---------------------------------------------------------------------------------------------- free parameters
def n_free_parameters(models: Sequence[str], n_cat: Sequence[int] | np.ndarray) -> np.ndarray:
    """Free parameters per item as R mirt counts them for the df of S-X2 (``sum(pars[[i]]@est)``).

    ``rasch`` 1 (intercept), ``1pl`` 2 (mirt's constrained 2PL still flags the slope of every item as estimated),
    ``2pl`` 2, ``3pl`` 3, ``4pl`` 4, ``grm``/``gpcm`` ``K`` (slope and ``K − 1`` intercepts), ``pcm`` ``K − 1``. An
    estimated latent variance (``rasch``, ``pcm``) is counted separately (``latent_free`` of :func:`s_x2`).
    """
    n_cat = np.asarray(n_cat, dtype=np.int64)
    fixed = {"rasch": 1, "1pl": 2, "2pl": 2, "3pl": 3, "4pl": 4}
    out = np.empty(len(models), dtype=np.int64)
    for j, m in enumerate(models):  # one lookup per item
        if m in fixed:
            out[j] = fixed[m]
        elif m in ("grm", "gpcm"):
            out[j] = n_cat[j]
        elif m == "pcm":
            out[j] = n_cat[j] - 1
        else:
            raise ValueError(f"unknown model {m!r} for item {j}")
    return out


def _default_free(items: ItemArrays) -> np.ndarray:
    """Free parameters implied by the parameters alone: 2PL/3PL/4PL by the asymptotes, ``K`` for polytomous items."""
    dich = items.family == DICHOTOMOUS
    return np.where(dich, 2 + (items.c > 0) + (items.d < 1), items.n_cat).astype(np.int64)


def _rmsea(x2: np.ndarray, df: np.ndarray, n: float) -> np.ndarray:
    """mirt's ``rmsea``: ``sqrt((X²/df − 1)/(N − 1))`` when positive, 0 otherwise, NaN where ``df ≤ 0``."""
    x2, df = np.asarray(x2, dtype=float), np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = x2 / df - 1.0
        out = np.where((excess > 0) & (df > 0), np.sqrt(np.maximum(excess, 0.0) / (n - 1.0)), 0.0)
    return np.where(df <= 0, np.nan, out)


# --------------------------------------------------------------------------------------------------------- S-X2
@dataclass(frozen=True, eq=False)
class SX2Result:
    """S-X2 per item.

    Attributes:
        statistic: ``(J,)`` S-X2 (NaN where the df are 0 or the table collapsed to a single row).
        df: ``(J,)`` degrees of freedom (cells left − score groups left − free item parameters − free latent
            parameters; floored at 0).
        p_value: ``(J,)`` upper tail of χ²(df).
        rmsea: ``(J,)`` ``sqrt(max(S-X2/df − 1, 0)/(N − 1))``.
        n_persons: persons used (those without missing responses).
        observed, expected: per item, the collapsed ``(groups, categories)`` tables (NaN marks a cell merged away).
    """

    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    rmsea: np.ndarray
    n_persons: int
    observed: tuple[np.ndarray, ...] = field(repr=False)
    expected: tuple[np.ndarray, ...] = field(repr=False)


def s_x2(
    responses: np.ndarray,
    items: ItemArrays,
    quadrature: Quadrature | None = None,
    *,
    n_free: Sequence[int] | np.ndarray | None = None,
    latent_free: int = 0,
    mincell: float = DEFAULT_MINCELL,
) -> SX2Result:
    """Orlando & Thissen's S-X2 item fit statistic, as R mirt's ``itemfit(fit_stats = "S_X2")``.

    For item ``i``, persons are grouped by their summed score ``s`` (scores 1 .. S−1; the minimum and maximum score
    carry no information). The observed count ``O_sk`` of persons with score ``s`` answering ``k`` is compared with
    the expected count ``E_sk = N_s · P(X_i = k | S = s)``, where, with ``S_{−i}`` the summed score of the other
    items (Lord & Wingersky, 1984, recursion without item ``i``),

        ``P(X_i = k | S = s) = ∫ P_ik(θ) P(S_{−i} = s − k | θ) g(θ) dθ / ∫ P(S = s | θ) g(θ) dθ``,

    integrated on ``quadrature`` (default: mirt's 61 points on [−6, 6] with N(0, 1) weights; pass the estimated
    latent SD for Rasch/PCM models). ``S-X2 = Σ_sk (O_sk − E_sk)² / E_sk`` over the cells left after collapsing
    (Orlando & Thissen, 2000, Applied Psychological Measurement 24, 50–64; 2003, APM 27, 289–298; Kang & Chen, 2007,
    ACT research report, for polytomous items).

    Collapsing follows mirt's ``collapseCells`` (R/utils.R) step by step: score rows where a category is impossible
    are merged into their neighbours; rows nobody observed are dropped and rows with a single person are merged
    upward; for polytomous items, in rows with a small cell the smallest categories are merged into their smaller
    neighbour until every cell reaches ``mincell``, rare top categories are merged down, and categories expected in
    fewer than 5% of rows are merged into the one below; finally, while any non-empty cell is below ``mincell``, the
    first such row is merged into its neighbour (the one with fewer observed persons for an inner row).
    ``df = (non-empty cells) − (rows) − n_free_i − latent_free``, floored at 0.

    Args:
        responses: ``(N, J)`` category codes, NaN or a negative code for missing. Persons with any missing response
            are left out (mirt's ``na.rm = TRUE``).
        items: the calibrated items.
        quadrature: the latent distribution (default ``Quadrature.normal()``).
        n_free: free parameters per item (default: 2, 3 or 4 for dichotomous items by their asymptotes, ``K`` for
            polytomous items; see :func:`n_free_parameters` for mirt's counts by model).
        latent_free: estimated latent-distribution parameters (1 for a free latent variance), subtracted from every
            item's df as mirt does.
        mincell: the smallest expected count of a cell.
    """
    quadrature = quadrature or Quadrature.normal()
    codes = encode_responses(responses, items)
    codes = codes[(codes >= 0).all(axis=1)]
    n, j_items = codes.shape
    free = _default_free(items) if n_free is None else np.asarray(n_free, dtype=np.int64)
    if free.shape != (j_items,):
        raise ValueError(f"n_free needs one count per item ({j_items}), got shape {free.shape}")
    if j_items < 2:
        raise ValueError("S-X2 needs at least two items")
    total = codes.sum(axis=1, dtype=np.int64)
    s_max = int(items.max_score.sum())
    n_s = np.bincount(total, minlength=s_max + 1).astype(float)
    w = quadrature.weights
    p_all = probability(quadrature.points, items)  # (Q, J, K)
    l_total = w @ sum_score_likelihoods(items, quadrature)  # (S + 1,)
    stat = np.full(j_items, np.nan)
    df = np.zeros(j_items, dtype=np.int64)
    obs_tables: list[np.ndarray] = []
    exp_tables: list[np.ndarray] = []
    leave_one_out = leave_one_out_sum_score_likelihoods(items, quadrature)
    for i in range(j_items):  # one table per item (mirt's cell collapsing is per item)
        k_i = int(items.n_cat[i])
        observed = np.bincount(total * k_i + codes[:, i], minlength=(s_max + 1) * k_i)
        observed = observed.reshape(s_max + 1, k_i).astype(float)
        rest = leave_one_out[i]  # (Q, S − K_i + 2): the summed score of the other items
        joint = (p_all[:, i, :k_i] * w[:, None]).T @ rest  # (K_i, S_rest + 1): P(X_i = k, S_−i = r)
        expected = np.full((s_max + 1, k_i), np.nan)
        for k in range(k_i):  # a handful of categories
            expected[k : k + rest.shape[1], k] = joint[k] / l_total[k : k + rest.shape[1]]
        expected *= n_s[:, None]
        o, e = _collapse_cells(observed[1:-1], expected[1:-1], mincell)
        obs_tables.append(o)
        exp_tables.append(e)
        if o.ndim != 2 or o.shape[0] < 2 or o.shape[1] < 2:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            stat[i] = np.nansum((o - e) ** 2 / e)
        df[i] = int(np.isfinite(e).sum()) - e.shape[0] - int(free[i]) - int(latent_free)
    df = np.maximum(df, 0)
    stat[df == 0] = np.nan
    p = chi2_sf(stat, np.where(df > 0, df, np.nan))
    return SX2Result(stat, df, p, _rmsea(stat, df, n), n, tuple(obs_tables), tuple(exp_tables))


def _collapse_cells(observed: np.ndarray, expected: np.ndarray, mincell: float) -> tuple[np.ndarray, np.ndarray]:
    """mirt's ``collapseCells`` for one item (rows: summed scores 1..S−1, columns: categories); see :func:`s_x2`.

    Returns the collapsed observed and expected tables; expected cells merged away (or empty) are NaN. Ported step
    by step, including mirt's use of the small-cell pattern computed before single-person rows are merged.
    """
    o = observed.astype(float).copy()
    e = expected.astype(float).copy()
    nan_rows = np.flatnonzero(np.isnan(e).any(axis=1))
    e = np.nan_to_num(e, nan=0.0)
    if nan_rows.size:  # rows where a category is impossible: fold the top block down and the bottom block up
        half = nan_rows.size // 2
        if half >= 1:
            up = np.arange(nan_rows[0], nan_rows[half - 1] + 1)
            low = np.arange(nan_rows[half], nan_rows[-1] + 1)
            into_up, into_low = up.max() + 1, low.min() - 1
            e[into_up], o[into_up] = e[np.r_[up, into_up]].sum(axis=0), o[np.r_[up, into_up]].sum(axis=0)
            e[into_low], o[into_low] = e[np.r_[low, into_low]].sum(axis=0), o[np.r_[low, into_low]].sum(axis=0)
            keep = np.ones(e.shape[0], dtype=bool)
            keep[np.r_[up, low]] = False
            e, o = e[keep], o[keep]
    if e.shape[0] == 0:
        return o, e
    seen = o.sum(axis=1) != 0  # rows nobody observed
    o, e = o[seen], e[seen]
    small = e < mincell  # as mirt: computed before single-person rows are merged
    single = []
    for r in range(o.shape[0] - 1):  # rows with one person go into the next row
        if o[r].sum() == 1:
            single.append(r)
            o[r + 1] += o[r]
            e[r + 1] += e[r]
    o, e = np.delete(o, single, axis=0), np.delete(e, single, axis=0)
    if o.shape[0] >= 2 and o[-1].sum() == 1:
        o[-2] += o[-1]
        e[-2] += e[-1]
        o, e = o[:-1], e[:-1]
    n_col = e.shape[1]
    if n_col > 2:  # merge categories within rows that have a small cell
        for r in range(e.shape[0]):
            if r >= small.shape[0] or not small[r].any():
                continue
            te, to = list(e[r]), list(o[r])
            while len(te) > 2:
                m = min(te)
                whc = max(c for c, v in enumerate(te) if v == m)
                if whc == 0:
                    pick = 1
                elif whc == len(te) - 1:
                    pick = len(te) - 2
                else:
                    pick = whc - 1 if min(te[whc - 1], te[whc + 1]) == te[whc - 1] else whc + 1
                te[pick] += te[whc]
                to[pick] += to[whc]
                del te[whc], to[whc]
                if all(v >= mincell for v in te):
                    break
            e[r] = np.r_[te, np.full(n_col - len(te), np.nan)]
            o[r] = np.r_[to, np.zeros(n_col - len(to))]
    e = np.nan_to_num(e, nan=0.0)
    if e.shape[1] > 2:  # merge the top category down while it is rare overall
        while e.shape[1] > 2 and e.sum(axis=0)[-1] < mincell * np.ceil(e.shape[0] * 0.1):
            o[:, -2] += o[:, -1]
            e[:, -2] += e[:, -1]
            o, e = o[:, :-1], e[:, :-1]
    drop_col = np.zeros(e.shape[1], dtype=bool)
    for c in range(e.shape[1] - 1, 0, -1):  # categories expected in under 5% of rows go into the one below
        if (e[:, c] > 0).sum() < 0.05 * e.shape[0]:
            drop_col[c] = True
            e[:, c - 1] += e[:, c]
            o[:, c - 1] += o[:, c]
    e, o = e[:, ~drop_col], o[:, ~drop_col]
    while e.shape[0] > 1:  # merge rows while a non-empty cell is small
        bad = ((e < mincell) & (e != 0)).any(axis=1)
        if not bad.any():
            break
        r = int(np.argmax(bad))
        if r == 0:
            pick = 1
        elif r == e.shape[0] - 1:
            pick = r - 1
        else:
            above, below = o[r - 1].sum(), o[r + 1].sum()
            pick = r - 1 if above == min(above, below) else r + 1
        e[pick] += e[r]
        o[pick] += o[r]
        e, o = np.delete(e, r, axis=0), np.delete(o, r, axis=0)
    e = np.where(e == 0, np.nan, e)
    return o, e


# --------------------------------------------------------------------------------------------------- residuals
@dataclass(frozen=True, eq=False)
class InfitOutfit:
    """Infit and outfit mean squares with their Wilson–Hilferty z, per item and per person.

    ``item_*`` arrays are ``(J,)``, ``person_*`` arrays ``(N,)``; NaN where no response was given.
    """

    item_infit: np.ndarray
    item_outfit: np.ndarray
    item_z_infit: np.ndarray
    item_z_outfit: np.ndarray
    person_infit: np.ndarray
    person_outfit: np.ndarray
    person_z_infit: np.ndarray
    person_z_outfit: np.ndarray


def infit_outfit(responses: np.ndarray, items: ItemArrays, theta: np.ndarray) -> InfitOutfit:
    """Infit and outfit mean squares (Wright & Masters, 1982, *Rating Scale Analysis*, ch. 5), as R mirt.

    At each person's ability ``θ_n`` (e.g. EAP), with ``E_nj = Σ_k k P_jk(θ_n)``, variance
    ``W_nj = Σ_k (k − E_nj)² P_jk`` (floored as mirt: ``W = sqrt(1e-5)`` where ``W² < 1e-5``), kurtosis term
    ``C_nj = Σ_k (k − E_nj)⁴ P_jk`` and residual ``y_nj = x_nj − E_nj``:

    * outfit ``= mean(y²/W)`` over the answered responses of an item (person), infit ``= Σ y² / Σ W``;
    * standardised ``z = (MS^{1/3} − 1)(3/q) + q/3`` with ``q_out² = Σ (C/W²)/n² − 1/n`` and
      ``q_in² = Σ (C − W²)/(Σ W)²``, each ``q`` capped at 1.4142 (mirt's ``itemfit``/``personfit``).

    Missing responses are excluded from every sum and from the counts ``n``.
    """
    codes, theta = _codes_and_theta(responses, items, theta)
    n_persons, j_items = codes.shape
    item_sums = np.zeros((6, j_items))  # count, Σ y²/W, Σ C/W², Σ y², Σ W, Σ (C − W²)
    person_sums = np.zeros((6, n_persons))
    for rows in _person_blocks(n_persons, j_items):
        seen = codes[rows] >= 0
        mean, w, c = _moments(theta[rows], items)
        w = np.where(w**2 < W_FLOOR_SQ, np.sqrt(W_FLOOR_SQ), w)
        y2 = np.where(seen, (codes[rows] - mean) ** 2, 0.0)
        w = np.where(seen, w, 1.0)
        terms = (seen, y2 / w, np.where(seen, c / w**2, 0.0), y2, np.where(seen, w, 0.0), np.where(seen, c - w**2, 0.0))
        for t, term in enumerate(terms):
            item_sums[t] += term.sum(axis=0)
            person_sums[t, rows] = term.sum(axis=1)
    out = {}
    for side, sums in (("item", item_sums), ("person", person_sums)):  # the same formulas over persons, over items
        cnt, z2, cw2, y2, sw, cmw = sums
        with np.errstate(divide="ignore", invalid="ignore"):
            outfit = z2 / cnt
            q_out = np.minimum(np.sqrt(cw2 / cnt**2 - 1 / cnt), Q_CAP)
            infit = y2 / sw
            q_in = np.minimum(np.sqrt(cmw / sw**2), Q_CAP)
            out[side] = (
                infit,
                outfit,
                (np.cbrt(infit) - 1) * (3 / q_in) + q_in / 3,
                (np.cbrt(outfit) - 1) * (3 / q_out) + q_out / 3,
            )
    return InfitOutfit(*out["item"], *out["person"])


BLOCK_CELLS = 2_000_000  # persons × items per block of the residual statistics (bounded memory, cache-friendly)


def _person_blocks(n_persons: int, j_items: int) -> list[slice]:
    size = max(1, BLOCK_CELLS // max(j_items, 1))
    return [slice(lo, min(lo + size, n_persons)) for lo in range(0, n_persons, size)]


def _codes_and_theta(responses: np.ndarray, items: ItemArrays, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = encode_responses(responses, items)
    theta = np.asarray(theta, dtype=float).reshape(-1)
    if theta.shape[0] != codes.shape[0]:
        raise ValueError(f"theta has {theta.shape[0]} values for {codes.shape[0]} persons")
    return codes, theta


def _dichotomous_probs(theta: np.ndarray, items: ItemArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``P1 = P(X = 1 | θ_n)``, ``P0 = P(X = 0 | θ_n)`` and the logit ``L = log P1 − log P0``, each ``(N, J)``.

    ``P1 = c + (d − c) σ(z)`` and ``P0 = (1 − d) + (d − c) σ(−z)`` with ``z = a(θ − b)`` (each accurate in its own
    tail); ``L = z`` exactly for 1PL/2PL items.
    """
    z = items.a * (theta[:, None] - items.b[:, 0])
    d_c = items.d - items.c
    p1, p0 = items.c + d_c * expit(z), (1.0 - items.d) + d_c * expit(-z)
    if not (items.c.any() or (items.d != 1.0).any()):
        return p1, p0, z
    with np.errstate(divide="ignore"):
        return p1, p0, np.log(p1) - np.log(p0)


def _moments(theta: np.ndarray, items: ItemArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person and item at ``θ_n``: expected score ``E``, variance ``W`` and ``C = Σ_k (k − E)⁴ P_k``."""
    if (items.family == DICHOTOMOUS).all():  # closed forms on (N, J) arrays: E = P1, W = P1 P0, C = W (P1³ + P0³)
        p1, p0, _ = _dichotomous_probs(theta, items)
        w = p1 * p0
        return p1, w, w * (p1**3 + p0**3)
    p = probability(theta, items)  # (N, J, K)
    k = np.arange(items.max_cat, dtype=float)
    mean = p @ k
    dev = k - mean[..., None]
    return mean, np.einsum("njk,njk->nj", p, dev**2), np.einsum("njk,njk->nj", p, dev**4)


def _log_lik_terms(codes: np.ndarray, items: ItemArrays, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person and item at ``θ_n``: observed log P minus its expectation, and its variance (0 where missing).

    For dichotomous items, with ``L = log P1 − log P0``: ``log P_x − E log P = (x − P1) L`` and
    ``Var log P = P1 P0 L²``.
    """
    seen = codes >= 0
    if (items.family == DICHOTOMOUS).all():
        p1, p0, logit = _dichotomous_probs(theta, items)
        dev = np.where(seen, (codes - p1) * logit, 0.0)
        return dev, np.where(seen, p1 * p0 * logit**2, 0.0)
    lp = category_terms(theta, items).logp  # (N, J, K), −inf for absent categories
    p = np.exp(lp)
    plp = np.where(p > 0, p * np.where(np.isfinite(lp), lp, 0.0), 0.0)
    mu = plp.sum(axis=-1)
    second = np.where(p > 0, plp * np.where(np.isfinite(lp), lp, 0.0), 0.0).sum(axis=-1)
    var = np.maximum(second - mu**2, 0.0)
    obs = np.take_along_axis(lp, np.where(seen, codes, 0)[..., None].astype(np.int64), axis=-1)[..., 0]
    return np.where(seen, obs - mu, 0.0), np.where(seen, var, 0.0)


def person_fit_lz(responses: np.ndarray, items: ItemArrays, theta: np.ndarray) -> np.ndarray:
    """Drasgow, Levine & Williams' (1985) standardized log-likelihood ``lz`` per person (mirt's ``personfit`` Zh).

    ``lz_n = (l_n − E l_n) / sqrt(Var l_n)`` with ``l_n = Σ_j log P_j,x_nj(θ_n)`` over answered items,
    ``E l_n = Σ_j Σ_k P_jk log P_jk`` and ``Var l_n = Σ_j [Σ_k P_jk (log P_jk)² − (Σ_k P_jk log P_jk)²]``
    (which equals mirt's ``Σ_j Σ_{k≠m} P_jk P_jm log P_jk log(P_jk/P_jm)``), all at ``θ_n``. mirt evaluates it at
    the EAP estimate by default (``personfit(method = "EAP")``); pass the estimates you want. Large negative values
    flag misfitting (unlikely) patterns. Drasgow, F., Levine, M. V., & Williams, E. A. (1985), British Journal of
    Mathematical and Statistical Psychology 38, 67–86.

    Missing responses are left out of the three sums; a person with no answer gets NaN. Unlike mirt, the log
    probability of an observed response below machine epsilon is used as is (mirt replaces it with 0).
    """
    return _standardized_loglik(responses, items, theta, axis=1)


def item_zh(responses: np.ndarray, items: ItemArrays, theta: np.ndarray) -> np.ndarray:
    """The standardized log-likelihood per item, summed over persons (mirt's ``itemfit(fit_stats = "Zh")``).

    ``Zh_j = Σ_n (log P_j,x_nj(θ_n) − Σ_k P_jk log P_jk) / sqrt(Σ_n Var_n log P_j)`` over the persons who answered
    item ``j`` (terms as in :func:`person_fit_lz`; Drasgow, Levine & Williams, 1985). mirt uses EAP estimates.
    """
    return _standardized_loglik(responses, items, theta, axis=0)


def _standardized_loglik(responses: np.ndarray, items: ItemArrays, theta: np.ndarray, axis: int) -> np.ndarray:
    """``(Σ obs − Σ mean) / sqrt(Σ var)`` of the log-likelihood terms, summed over items (axis 1) or persons (0)."""
    codes, theta = _codes_and_theta(responses, items, theta)
    n_persons, j_items = codes.shape
    sums = np.zeros((2, j_items if axis == 0 else n_persons))
    for rows in _person_blocks(n_persons, j_items):
        for t, term in enumerate(_log_lik_terms(codes[rows], items, theta[rows])):
            if axis == 0:
                sums[t] += term.sum(axis=0)
            else:
                sums[t, rows] = term.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[0] / np.sqrt(sums[1])


# ----------------------------------------------------------------------------------------------------------- M2
@dataclass(frozen=True)
class M2Result:
    """Maydeu-Olivares & Joe's M2 for the whole test."""

    statistic: float
    df: int
    p_value: float
    rmsea: float
    srmsr: float
    n_persons: int
    n_parameters: int


def m2(
    responses: np.ndarray,
    items: ItemArrays,
    models: str | Sequence[str] | None = None,
    *,
    latent_sd: float = 1.0,
    n_points: int = 61,
    bounds: tuple[float, float] = (-6.0, 6.0),
) -> M2Result:
    """M2 of Maydeu-Olivares & Joe (2005, JASA 100, 1009–1020; 2006, Psychometrika 71, 713–732), as R mirt's ``M2``.

    With ``p`` the observed univariate and bivariate proportions ``(P(x_i = 1), P(x_i = 1, x_j = 1), i < j)`` and
    ``π(η)`` their model values ``∫ P_i g``, ``∫ P_i P_j g`` (quadrature: ``n_points`` equally spaced on ``bounds``,
    N(0, latent_sd²) weights, as mirt),

        ``M2 = N (p − π)ᵀ C (p − π)``,   ``C = Δc (Δcᵀ Ξ Δc)⁻¹ Δcᵀ``,

    where ``Ξ`` is the covariance matrix of the margins under the model (``Ξ_ST = π_{S∪T} − π_S π_T``, from the
    moments of up to four items), ``Δ = ∂π/∂η`` (analytic derivatives with respect to the slope–intercept parameters,
    one column per free parameter) and ``Δc`` an orthonormal basis of the orthogonal complement of ``Δ``'s columns
    (equal to ``Ξ⁻¹ − Ξ⁻¹Δ(ΔᵀΞ⁻¹Δ)⁻¹ΔᵀΞ⁻¹``). ``df = J + J(J−1)/2 − (free parameters)``;
    ``RMSEA = sqrt(max(M2/df − 1, 0)/(N − 1))``; SRMSR is the root mean square of observed minus model-implied
    inter-item correlations.

    Free parameters by ``models`` (one name or one per item; default 2PL/3PL/4PL by the asymptotes): ``2pl`` slope
    and intercept, ``3pl``/``4pl`` also the asymptotes, ``1pl`` intercept plus one slope common to all 1PL items,
    ``rasch`` intercept plus the latent SD (one for the test), so ``rasch`` and the equivalent free common-slope
    ``1pl`` give the same M2. (mirt's ``itemtype = "Rasch"`` leaves the latent variance out of ``Δ`` but counts it
    in the df; at the ML estimates the difference is negligible: 5.29135 with or without it on LSAT6.)

    Raises:
        InputError: missing responses (M2 needs complete data; the message names the items), polytomous items, or
            too few degrees of freedom.
    """
    codes = encode_responses(responses, items)
    j_items = items.n_items
    problems = [
        Problem(
            f"{int(cnt)} missing response(s); M2 needs complete data (drop those persons first)", item_id=items.ids[j]
        )
        for j, cnt in enumerate((codes < 0).sum(axis=0))
        if cnt
    ]
    problems += [
        Problem(f"M2 is for dichotomous items; this item has {int(items.n_cat[j])} categories", item_id=items.ids[j])
        for j in np.flatnonzero(items.family != DICHOTOMOUS)
    ]
    if problems:
        raise InputError(problems)
    if isinstance(models, str):
        models = [models] * j_items
    if models is None:
        models = ["4pl" if d < 1 else "3pl" if c > 0 else "2pl" for c, d in zip(items.c, items.d, strict=True)]
    models = list(models)
    if len(models) != j_items:
        raise ValueError(f"models needs one name per item ({j_items}), got {len(models)}")
    unknown = sorted(set(models) - {"rasch", "1pl", "2pl", "3pl", "4pl"})
    if unknown:
        raise ValueError(f"M2: unknown dichotomous model(s) {unknown}")

    n = codes.shape[0]
    x = codes.astype(float)
    iu, ju = np.triu_indices(j_items, k=1)
    cross = x.T @ x / n
    p_obs = np.r_[x.mean(axis=0), cross[iu, ju]]
    m1, m = j_items, j_items + iu.size
    # margin S = {first[s], second[s]} (second = first for a univariate margin)
    first = np.r_[np.arange(j_items), iu]
    second = np.r_[np.arange(j_items), ju]

    a = items.a.copy()
    d_int = -items.a * items.b[:, 0]
    c, u = items.c.copy(), items.d.copy()
    spec = _ParameterMap(models, a, d_int, c, u, latent_sd)
    points = np.linspace(bounds[0], bounds[1], n_points)

    eta0 = spec.pack()
    p1, w, delta = _margins_jacobian(spec, points, first, second)
    pi = w @ (p1[:, first] * np.where(first == second, 1.0, p1[:, second]))
    df = m - eta0.size
    if df <= 0:
        raise InputError(f"M2 needs more margins ({m}) than free parameters ({eta0.size})")
    xi = _margin_covariance(first, second, w, pi, p1)
    resid = np.sqrt(n) * (p_obs - pi)
    stat = _m2_quadratic_form(xi, delta, resid)

    # SRMSR: observed vs model-implied correlations
    e1 = pi[:m1]
    e2 = np.diag(e1)
    e2[iu, ju] = e2[ju, iu] = pi[m1:]
    cov_obs = cross - np.outer(x.mean(axis=0), x.mean(axis=0))
    cov_mod = e2 - np.outer(e1, e1)
    r_obs = cov_obs / np.sqrt(np.outer(np.diag(cov_obs), np.diag(cov_obs)))
    r_mod = cov_mod / np.sqrt(np.outer(np.diag(cov_mod), np.diag(cov_mod)))
    srmsr = float(np.sqrt(np.mean((r_obs[iu, ju] - r_mod[iu, ju]) ** 2)))
    return M2Result(
        statistic=stat,
        df=int(df),
        p_value=float(chi2_sf(stat, df)),
        rmsea=float(_rmsea(stat, df, n)),
        srmsr=srmsr,
        n_persons=int(n),
        n_parameters=int(eta0.size),
    )


def _margins_jacobian(
    spec: _ParameterMap, points: np.ndarray, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``P(X_j = 1 | θ_q)`` ``(Q, J)``, the latent weights ``w`` ``(Q,)`` and ``Δ = ∂π/∂η`` ``(m, free parameters)``.

    With ``P_j = c_j + (u_j − c_j) σ(a_j θ + d_j)``: ``∂P/∂d = (u − c) σ(1 − σ)``, ``∂P/∂a = θ ∂P/∂d``,
    ``∂P/∂logit c = c(1 − c)(1 − σ)``, ``∂P/∂logit u = u(1 − u) σ``. An item parameter moves only the margins holding
    its item: ``∂π_{j} = Σ_q w_q ∂P_j`` and ``∂π_{jx} = Σ_q w_q ∂P_j P_x``, all of them from one ``(Q, k)ᵀ(Q, J)``
    product. The common 1PL slope adds up its items' slope columns; the log latent SD moves the weights,
    ``∂w_q/∂log σ = w_q (θ_q² − Σ_r w_r θ_r²)/σ²``.
    """
    a, d, c, u, sd = spec.unpack(spec.pack())
    j_items, m = a.size, first.size
    log_w = -0.5 * (points / sd) ** 2
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    sig = expit(points[:, None] * a + d)  # (Q, J)
    p1 = c + (u - c) * sig
    d_int = (u - c) * sig * (1.0 - sig)
    parts = [(np.arange(j_items), d_int)]  # (item of each column, ∂P of that item) in the order of spec.pack
    parts.append((np.flatnonzero(spec.free_a), (points[:, None] * d_int)[:, spec.free_a]))
    parts.append((np.flatnonzero(spec.free_c), (c * (1 - c) * (1.0 - sig))[:, spec.free_c]))
    parts.append((np.flatnonzero(spec.free_u), (u * (1 - u) * sig)[:, spec.free_u]))
    common = np.flatnonzero(spec.common)
    if spec.has_common:
        parts.append((common, (points[:, None] * d_int)[:, common]))
    item_of = np.concatenate([p[0] for p in parts])
    d_p = np.concatenate([p[1] for p in parts], axis=1)  # (Q, k)
    margin_of = np.empty((j_items, j_items), dtype=np.int64)
    margin_of[first, second] = np.arange(m)
    margin_of[second, first] = np.arange(m)
    with_other = (d_p.T * w) @ p1  # (k, J): Σ_q w_q ∂P_item P_x
    with_other[np.arange(item_of.size), item_of] = w @ d_p  # x = the item itself: the univariate margin
    columns = np.zeros((m, item_of.size))
    columns[margin_of[item_of[:, None], np.arange(j_items)[None, :]], np.arange(item_of.size)[:, None]] = with_other
    n_item_params = item_of.size - common.size
    delta = columns[:, :n_item_params]
    if spec.has_common:
        delta = np.column_stack([delta, columns[:, n_item_params:].sum(axis=1)])
    if spec.has_sd:
        f = p1[:, first] * np.where(first == second, 1.0, p1[:, second])
        d_w = w * (points**2 - w @ points**2) / sd**2
        delta = np.column_stack([delta, d_w @ f])
    return p1, w, delta


def _margin_covariance(
    first: np.ndarray, second: np.ndarray, w: np.ndarray, pi: np.ndarray, p1: np.ndarray
) -> np.ndarray:
    """``Ξ_ST = Σ_q w_q Π_{u∈S∪T} P_u(θ_q) − π_S π_T`` for margins given as item pairs ``(first, second)``.

    Built from its structure instead of ``Q`` outer products of size ``m²``: for margins without a shared item the
    product over ``S ∪ T`` is ``F_S F_T`` (``F_S = Π_{u∈S} P_u``), so one matrix product ``Fᵀ diag(w) F`` gives
    every such entry; the ``O(J³)`` entries whose margins share an item (``S ∪ T`` has at most three items) are then
    overwritten with the third-order moments ``Σ_q w_q P_u P_y P_z`` (a padding item with ``P = 1`` stands for an
    absent second or third item). Memory ``m²``, time ``O(m² Q)`` in one BLAS call.
    """
    n_q, j_items = p1.shape
    m = first.size
    f = p1[:, first] * np.where(first == second, 1.0, p1[:, second])  # (Q, m)
    xi = (f.T * w) @ f  # right for every pair of margins without a shared item
    # index of the margin holding items {u, x} (x == u: the univariate margin of u)
    margin_of = np.empty((j_items, j_items), dtype=np.int64)
    margin_of[first, second] = np.arange(m)
    margin_of[second, first] = np.arange(m)
    ext = np.concatenate([p1, np.ones((n_q, 1))], axis=1)  # item j_items: "no item", P = 1
    pairs = (ext[:, :, None] * ext[:, None, :]).reshape(n_q, -1)  # (Q, (J + 1)²)
    third = ((pairs.T * w) @ ext).reshape(j_items + 1, j_items + 1, j_items + 1)  # Σ_q w_q P_u P_y P_z
    u = np.arange(j_items)[:, None, None]  # the shared item
    x_s = np.arange(j_items)[None, :, None]  # S = {u, x_s}, T = {u, x_t}
    x_t = np.arange(j_items)[None, None, :]
    y = np.where(x_s == u, j_items, x_s)
    z = np.where((x_t == u) | (x_t == x_s), j_items, x_t)
    xi[margin_of[u, x_s], margin_of[u, x_t]] = third[u, y, z]
    xi -= np.outer(pi, pi)
    return xi


def _m2_quadratic_form(xi: np.ndarray, delta: np.ndarray, resid: np.ndarray) -> float:
    """``rᵀ C r`` with ``C = Δc (Δcᵀ Ξ Δc)⁻¹ Δcᵀ = Ξ⁻¹ − Ξ⁻¹Δ(ΔᵀΞ⁻¹Δ)⁻¹ΔᵀΞ⁻¹`` (Δc: orthogonal complement of Δ).

    With the Cholesky factor ``Ξ = L Lᵀ``, ``y = L⁻¹ r`` and ``Y = L⁻¹ Δ``, ``rᵀ C r`` is the squared length of
    ``y`` after projecting out the columns of ``Y``: one ``m³/3`` factorisation and ``m²(p + 1)`` triangular solves
    instead of the ``m × m`` complement basis and two ``m³`` products. mirt's complement form is the fallback when
    ``Ξ`` is numerically singular.
    """
    from scipy import linalg  # only M2 needs it (--fit full): not imported by the everyday command

    try:
        chol = linalg.cholesky(xi, lower=True, overwrite_a=False, check_finite=False)
    except linalg.LinAlgError:
        q_full, _ = linalg.qr(delta, mode="full")
        comp = q_full[:, delta.shape[1] :]
        proj = comp.T @ resid
        return float(abs(proj @ linalg.solve(comp.T @ xi @ comp, proj, assume_a="pos")))
    solved = linalg.solve_triangular(chol, np.column_stack([resid, delta]), lower=True, check_finite=False)
    y, big_y = solved[:, 0], solved[:, 1:]
    basis, _ = linalg.qr(big_y, mode="economic")
    rest = y - basis @ (basis.T @ y)
    return float(rest @ rest)


class _ParameterMap:
    """Free parameters of dichotomous items as one vector ``η``, in slope–intercept form (mirt's ``a1``, ``d``;
    logits of the asymptotes; one common 1PL slope; the log latent SD for Rasch items)."""

    def __init__(
        self, models: list[str], a: np.ndarray, d: np.ndarray, c: np.ndarray, u: np.ndarray, latent_sd: float
    ) -> None:
        self.models = np.asarray(models)
        self.a, self.d, self.c, self.u, self.sd = a, d, c, u, float(latent_sd)
        self.free_a = np.isin(self.models, ("2pl", "3pl", "4pl"))
        self.free_c = np.isin(self.models, ("3pl", "4pl"))
        self.free_u = self.models == "4pl"
        self.common = self.models == "1pl"
        self.has_common = bool(self.common.any())
        self.has_sd = bool((self.models == "rasch").any())

    def pack(self) -> np.ndarray:
        parts = [self.d, self.a[self.free_a], logit(self.c[self.free_c]), logit(self.u[self.free_u])]
        if self.has_common:
            parts.append(self.a[self.common][:1])
        if self.has_sd:
            parts.append(np.array([np.log(self.sd)]))
        return np.concatenate(parts)

    def unpack(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        j = self.a.size
        pos = j
        d = eta[:j]
        a, c, u = self.a.copy(), self.c.copy(), self.u.copy()
        k = int(self.free_a.sum())
        a[self.free_a] = eta[pos : pos + k]
        pos += k
        k = int(self.free_c.sum())
        c[self.free_c] = expit(eta[pos : pos + k])
        pos += k
        k = int(self.free_u.sum())
        u[self.free_u] = expit(eta[pos : pos + k])
        pos += k
        if self.has_common:
            a[self.common] = eta[pos]
            pos += 1
        sd = float(np.exp(eta[pos])) if self.has_sd else self.sd
        return a, d, c, u, sd


# -------------------------------------------------------------------------------------------------------- report
@dataclass(frozen=True, eq=False)
class FitReport:
    """Per-item fit of a calibration, with optional whole-test M2.

    Attributes:
        item_ids: the items, in order.
        s_x2: S-X2 per item (None when not computed).
        infit_outfit: infit/outfit mean squares (None when not computed).
        zh: ``(J,)`` item Zh (None when not computed).
        m2: M2 for the test (None when not computed or not defined, e.g. polytomous or incomplete data).
        m2_note: why M2 is missing, when it is.
    """

    item_ids: tuple[str, ...]
    s_x2: SX2Result | None = None
    infit_outfit: InfitOutfit | None = None
    zh: np.ndarray | None = None
    m2: M2Result | None = None
    m2_note: str | None = None

    def to_markdown(self, *, alpha: float = 0.01, digits: int = 3) -> str:
        """A Markdown table, one row per item; items with an S-X2 p-value below ``alpha`` are flagged."""
        head = ["item"]
        if self.s_x2 is not None:
            head += ["S-X2", "df", "p", "RMSEA"]
        if self.infit_outfit is not None:
            head += ["infit", "outfit"]
        if self.zh is not None:
            head += ["Zh"]
        head.append("flag")

        def fmt(v: float) -> str:
            return "NA" if not np.isfinite(v) else f"{v:.{digits}f}"

        rows = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for j, item_id in enumerate(self.item_ids):  # rendering, one line per item
            cells = [item_id]
            flag = ""
            if self.s_x2 is not None:
                s = self.s_x2
                cells += [fmt(s.statistic[j]), str(int(s.df[j])), fmt(s.p_value[j]), fmt(s.rmsea[j])]
                if np.isfinite(s.p_value[j]) and s.p_value[j] < alpha:
                    flag = f"S-X2 p < {alpha:g}"
            if self.infit_outfit is not None:
                cells += [fmt(self.infit_outfit.item_infit[j]), fmt(self.infit_outfit.item_outfit[j])]
            if self.zh is not None:
                cells.append(fmt(self.zh[j]))
            cells.append(flag)
            rows.append("| " + " | ".join(cells) + " |")
        if self.m2 is not None:
            m = self.m2
            rows.append("")
            rows.append(
                f"M2 = {m.statistic:.{digits}f}, df = {m.df}, p = {m.p_value:.{digits}f}, "
                f"RMSEA = {m.rmsea:.{digits}f}, SRMSR = {m.srmsr:.{digits}f} (N = {m.n_persons})"
            )
        elif self.m2_note:
            rows += ["", f"M2 not computed: {self.m2_note}"]
        if self.s_x2 is not None:
            rows += ["", f"S-X2 on {self.s_x2.n_persons} persons with complete responses."]
        return "\n".join(rows)


def fit_report(
    result: CalibrationResult,
    responses: np.ndarray,
    theta: np.ndarray | None = None,
    *,
    statistics: Literal["sx2", "full"] = "full",
) -> FitReport:
    """S-X2, infit/outfit, item Zh and (complete dichotomous data) M2 for a calibration, with mirt's conventions.

    ``statistics="sx2"`` computes the item fit S-X2 only (cheap: what ``digiskill calibrate`` does by default);
    ``"full"`` adds infit/outfit, item Zh and M2 (``--fit full`` and the calibration report). ``theta`` defaults to
    EAP estimates on the calibration's grid and latent distribution (mirt's default for Zh and infit/outfit). Free
    parameters for the df come from the item models (:func:`n_free_parameters`).

    Raises:
        ValueError: ``result`` is a multiple-group calibration (fit with one latent distribution would mix the
            groups' distributions; compute the statistics per group with :func:`s_x2` and the group's
            ``Quadrature.normal(mean=…, sd=…)``).
    """
    if len(result.group_labels) > 1:
        raise ValueError(
            f"fit_report needs a single-group calibration; this one has groups {', '.join(result.group_labels)} "
            "(compute item fit per group with s_x2 and each group's latent mean and SD)"
        )
    items = result.params
    quad = Quadrature.normal(
        result.quadrature_points, result.quadrature_range, mean=result.latent_mean, sd=result.latent_sd
    )
    if statistics not in ("sx2", "full"):
        raise ValueError(f"statistics must be 'sx2' or 'full', got {statistics!r}")
    codes = encode_responses(responses, items)
    latent_free = sum(name in result.parameter_names for name in ("latent.mean", "latent.var"))
    n_free = np.asarray(n_free_parameters(result.models, items.n_cat))
    if result.anchored is not None:  # anchors' parameters were given, not estimated
        n_free = np.where(result.anchored, 0, n_free)
    sx = s_x2(codes, items, quad, n_free=n_free, latent_free=latent_free)
    if statistics == "sx2":
        return FitReport(items.ids, sx)
    if theta is None:
        theta = eap(codes, items, quad).theta
    io = infit_outfit(codes, items, theta)
    zh = item_zh(codes, items, theta)
    m2_res, note = None, None
    if result.latent_mean != 0.0:
        note = "the latent mean was estimated (anchored calibration); M2 here assumes a zero-mean latent distribution"
    else:
        try:
            m2_res = m2(
                codes,
                items,
                list(result.models),
                latent_sd=result.latent_sd,
                n_points=result.quadrature_points,
                bounds=result.quadrature_range,
            )
        except InputError as err:
            note = str(err).splitlines()[0]
    return FitReport(items.ids, sx, io, zh, m2_res, note)
