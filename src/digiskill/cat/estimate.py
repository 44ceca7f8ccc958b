"""θ̂ and SE of one area for ``N`` tests at once, with the likelihood and posterior on the grid (used by KL/KLP/MEPV).

EAP reads the log-likelihood on the precomputed grid, ``(N, Q)``: a session sums its answers' rows (``O(n · Q)``),
the simulation adds one row per answer. MAP, ML and WLE call :mod:`digiskill.irt.estimation` on the answered items,
searching θ within the grid's bounds. ML and WLE have no finite estimate while every answer is in the lowest (or
every answer in the highest) category, e.g. before the first right and the first wrong answer on 0/1 items; the test
then falls back to EAP and says so in ``estimator``. :func:`fit_rows` is the one implementation; :func:`fit_area`
is its one-session form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..irt.estimation import estimate
from ..irt.special import logsumexp
from .arrays import AreaBank, Grid


@dataclass(frozen=True, eq=False)
class Fit:
    """One area's estimates for ``N`` tests: ``theta``, ``se``, ``n`` answers ``(N,)``, ``fallback`` (True where EAP
    stands in for ML/WLE), the log-likelihood ``loglik`` ``(N, Q)`` of the answers on the grid and the normalised
    log posterior ``log_post`` ``(N, Q)``."""

    theta: np.ndarray
    se: np.ndarray
    n: np.ndarray
    fallback: np.ndarray
    loglik: np.ndarray
    log_post: np.ndarray

    def take(self, rows: np.ndarray | slice) -> Fit:
        """The fits of some tests."""
        return Fit(
            self.theta[rows], self.se[rows], self.n[rows], self.fallback[rows], self.loglik[rows], self.log_post[rows]
        )

    def row(self, i: int, estimator: str) -> AreaFit:
        """Test ``i``'s fit, naming the estimator actually used (``eap`` where it stands in for ``estimator``)."""
        used = "eap" if self.fallback[i] else estimator
        return AreaFit(float(self.theta[i]), float(self.se[i]), used, int(self.n[i]), self.loglik[i], self.log_post[i])


@dataclass(frozen=True, eq=False)
class AreaFit:
    """One test's estimate of one area: ``theta``, ``se``, the estimator actually used, the log-likelihood ``(Q,)``
    of the answers on the grid and the normalised log posterior ``(Q,)``."""

    theta: float
    se: float
    estimator: str
    n: int
    loglik: np.ndarray
    log_post: np.ndarray


def grid_loglik(area: AreaBank, local: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Log-likelihood of one test's answers at each grid point, ``(Q,)``."""
    if local.size == 0:
        return np.zeros(area.logp.shape[0])
    return area.logp[:, local, codes].sum(axis=1)


def posterior(loglik: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised log posterior ``(N, Q)``, its mean (EAP) and SD ``(N,)``."""
    log_post = loglik + grid.log_weights
    log_post -= logsumexp(log_post, axis=1, keepdims=True)
    post = np.exp(log_post)
    q = grid.points
    # einsum, not BLAS: a matrix-vector product on a multi-threaded BLAS pays a thread wake-up (~50 µs) that costs
    # far more than one session's 61 products
    mean = np.einsum("nq,q->n", post, q)
    sd = np.sqrt(np.maximum(np.einsum("nq,q->n", post, q * q) - mean * mean, 0.0))
    return log_post, mean, sd


def fit_rows(
    area: AreaBank, grid: Grid, loglik: np.ndarray, x: np.ndarray, estimator: str, n: np.ndarray | None = None
) -> Fit:
    """Estimate θ of one area for ``N`` tests.

    Args:
        area: the area's items.
        grid: the quadrature grid (prior, bounds).
        loglik: ``(N, Q)`` log-likelihood of each test's answers on the grid.
        x: ``(N, J_a)`` each test's answers to the area's items, −1 where not answered.
        estimator: ``eap``, ``map``, ``ml`` or ``wle``.
        n: ``(N,)`` the number of answers of each test, when the caller knows it (else counted in ``x``).
    """
    log_post, mean, sd = posterior(loglik, grid)
    if n is None:
        n = np.count_nonzero(x >= 0, axis=1)
    fallback = np.zeros(n.size, dtype=bool)
    if estimator == "eap":
        return Fit(mean, sd, n, fallback, loglik, log_post)
    seen = x >= 0
    fit = n > 0
    if estimator in ("ml", "wle"):
        max_code = area.items.n_cat - 1
        all_min = ((x == 0) | ~seen).all(axis=1)
        all_max = ((x == max_code) | ~seen).all(axis=1)
        fallback = fit & (all_min | all_max)  # no finite ML/WLE yet: EAP stands in
        fit &= ~fallback
    if fit.any():
        cols = np.flatnonzero(seen[fit].any(axis=0))  # the items any of these tests answered
        est = estimate(
            x[np.ix_(fit, cols)].astype(np.int16),
            area.items.subset(cols),
            estimator,  # type: ignore[arg-type]
            prior_mean=grid.prior_mean,
            prior_sd=grid.prior_sd,
            bounds=grid.bounds,
        )
        mean, sd = mean.copy(), sd.copy()
        mean[fit], sd[fit] = est.theta, est.se
    return Fit(mean, sd, n, fallback | (n == 0), loglik, log_post)


def answers_row(area: AreaBank, local: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``(1, J_a)`` one test's answers to the area's items, −1 where not answered."""
    x = np.full((1, area.n_items), -1, dtype=np.int64)
    x[0, local] = codes
    return x


def fit_area(area: AreaBank, grid: Grid, local: np.ndarray, codes: np.ndarray, estimator: str) -> AreaFit:
    """Estimate θ of one area from one test's answers ``codes`` to its items ``local`` (positions within the area)."""
    x = answers_row(area, local, codes)
    loglik = grid_loglik(area, local, codes)[None, :]
    return fit_rows(area, grid, loglik, x, estimator, np.array([local.size])).row(0, estimator)
