"""Item selection criteria for ``N`` tests at once, over every item of one area: each returns ``(N, J_a)``.

Conventions:

* ``theta``: ``(N,)`` the θ each test's criterion is evaluated at.
* ``area.logp``, ``area.prob``: ``(Q, J, K)`` log P and P on the quadrature grid (precomputed once per bank).
* ``log_w``, ``log_post``: ``(N, Q)`` log weights over the grid, any normalisation per row.

The catR definitions are used, since the engine is compared with R catR. A live session calls these with N = 1 and
the simulation with N simulees; both take the same path, so a simulee's criterion is the session's.
"""

from __future__ import annotations

import numpy as np

from ..irt.likelihood import finite_logp
from ..irt.response import category_terms
from ..irt.special import expit  # numpy version: scipy.special is slow to import
from .arrays import AreaBank

# Normalised grid weights below this are set to 0 before the matrix products: they change no sum in double precision,
# and subnormal numbers would slow the BLAS calls down by an order of magnitude.
NEGLIGIBLE_WEIGHT = 1e-30
_FEW_ROWS = 3  # weight rows of one session's criterion (MEPV has three: its moments)


def normalised_weights(log_w: np.ndarray) -> np.ndarray:
    """``exp(log_w)`` scaled to sum to 1 along the last axis, with negligible weights set to 0."""
    u = np.exp(log_w - log_w.max(axis=-1, keepdims=True))
    u /= u.sum(axis=-1, keepdims=True)
    u[u < NEGLIGIBLE_WEIGHT] = 0.0
    return u


def dichotomous_information(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Fisher information of dichotomous items, ``a² (P − c)² (d − P)² / ((d − c)² P (1 − P))`` (a fast path of
    :func:`digiskill.irt.item_information`; for ``c = 0, d = 1`` it is ``a² σ(z) σ(−z)``); broadcasts ``theta``."""
    s1 = expit(a * (theta - b))
    s0 = 1.0 - s1
    p = c + (d - c) * s1
    with np.errstate(divide="ignore", invalid="ignore"):
        info = a * a * (d - c) ** 2 * (s1 * s0) ** 2 / (p * (1.0 - p))
    return np.where(np.isfinite(info), info, 0.0)


def information(area: AreaBank, theta: np.ndarray) -> np.ndarray:
    """``I_j(θ_n) = Σ_k P_njk (∂ log P_njk / ∂θ)²``, ``(N, J)``."""
    if area.dichotomous:
        it = area.items
        return dichotomous_information(it.a, it.b[:, 0], it.c, it.d, theta[:, None])
    return category_terms(theta, area.items, with_logp=False).information()


def kullback_leibler(area: AreaBank, theta: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """``KL_nj = Σ_q u_nq Σ_k P_jk(θ_n) log(P_jk(θ_n) / P_jk(θ_q))`` with ``u = w / Σ w`` (normalised weights).

    catR's KL index is this with ``w_q = trapezoid weight × L(θ_q)`` (likelihood of the answers so far); its KLP
    index with ``w_q = trapezoid weight × L(θ_q) × prior(θ_q)``. Normalising ``w`` divides every item by the same
    constant, so the choice is catR's; the value logged is the expected divergence, which is easier to read.
    """
    u = normalised_weights(log_w)
    _, j, k = area.logp.shape
    rows = _support(u)
    expected = _weighted_rows(u[:, rows], area.logp[rows].reshape(-1, j * k)).reshape(-1, j, k)
    t = category_terms(theta, area.items)
    return np.einsum("njk,njk->nj", t.prob, finite_logp(t.logp) - expected)


def expected_posterior_variance(
    area: AreaBank, theta: np.ndarray, points: np.ndarray, log_post: np.ndarray
) -> np.ndarray:
    """``EPV_nj = Σ_k P_jk(θ_n) Var(θ | answers of n, X_j = k)`` on the grid (catR's ``EPV``).

    The posterior after answer ``k`` to item ``j`` is ``post · P_jk``; its first three moments for all ``n, j, k``
    come from one ``(3N, Q) @ (Q, J·K)`` product.
    """
    post = normalised_weights(log_post)
    n = post.shape[0]
    _, j, k = area.prob.shape
    rows = _support(post)
    p, x = post[:, rows], points[rows]
    weights = np.concatenate([p, p * x, p * x * x])  # (3N, Q_s)
    moments = _weighted_rows(weights, area.prob[rows].reshape(-1, j * k)).reshape(3, n, j, k)
    m0, m1, m2 = moments
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = m1 / m0
        var = np.where(m0 > 0, np.maximum(m2 / m0 - mean * mean, 0.0), 0.0)
    p_hat = category_terms(theta, area.items, with_logp=False).prob
    return np.einsum("njk,njk->nj", p_hat, var)


def astrat_stratum(area: AreaBank, available: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """``(N,)`` the stratum each test draws from: its stage's, or when that has no available item the nearest one
    that has (higher first on ties; the stage's own when no stratum has any)."""
    order, starts, present = area.strata_order
    n_strata = int(present[-1]) + 1 if present.size else 1
    has = np.zeros((available.shape[0], n_strata), dtype=bool)
    if present.size:
        has[:, present] = np.logical_or.reduceat(available[:, order], starts, axis=1)
    s = np.arange(n_strata)
    gap = np.abs(s[None, :] - stage[:, None])
    key = np.where(has, 2 * gap + (s[None, :] < stage[:, None]), np.iinfo(np.int64).max)  # ties: higher stratum
    return np.where(has.any(axis=1), np.argmin(key, axis=1), stage)


def astrat_distance(area: AreaBank, available: np.ndarray, used: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``|b_j − θ_n|`` for the available items of each test's stratum ``used``, inf elsewhere, ``(N, J)``."""
    mine = available & (area.stratum[None, :] == used[:, None])
    return np.where(mine, np.abs(area.b_center[None, :] - theta[:, None]), np.inf)


def _support(u: np.ndarray) -> slice:
    """The smallest slice of grid columns holding every non-zero weight of every row (a view, no copy)."""
    nz = np.flatnonzero(u.any(axis=0))
    return slice(int(nz[0]), int(nz[-1]) + 1)


def _weighted_rows(w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``w @ m``. A few rows (one live session) go without BLAS: a product of so few vectors on a multi-threaded BLAS
    pays a thread wake-up that costs more than the product (measured 5–10 ms against 0.5–1 ms on a loaded two-core
    machine)."""
    if w.shape[0] <= _FEW_ROWS:
        return np.einsum("sq,qc->sc", w, m)
    return w @ m
