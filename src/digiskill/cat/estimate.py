"""θ̂ and SE of one area from its answers, with the likelihood and posterior on the grid (used by KL/KLP/MEPV).

EAP reads the precomputed log P on the grid: the update costs ``O(n · Q)`` for ``n`` answers. MAP, ML and WLE call
:mod:`digiskill.irt.estimation` on the answered items, searching θ within the grid's bounds. ML and WLE have no
finite estimate while every answer is in the lowest (or every answer in the highest) category, e.g. before the first
right and the first wrong answer on 0/1 items; the area then falls back to EAP and says so in ``estimator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..irt.estimation import estimate
from .arrays import AreaBank, Grid


@dataclass(frozen=True, eq=False)
class AreaFit:
    """One area's estimate: ``theta``, ``se``, the estimator actually used, the log-likelihood ``(Q,)`` of the
    answers on the grid and the normalised log posterior ``(Q,)``."""

    theta: float
    se: float
    estimator: str
    n: int
    loglik: np.ndarray
    log_post: np.ndarray


def grid_loglik(area: AreaBank, local: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Log-likelihood of the answers at each grid point, ``(Q,)``."""
    if local.size == 0:
        return np.zeros(area.logp.shape[0])
    return area.logp[:, local, codes].sum(axis=1)


def fit_area(area: AreaBank, grid: Grid, local: np.ndarray, codes: np.ndarray, estimator: str) -> AreaFit:
    """Estimate θ of one area from the answers ``codes`` to its items ``local`` (positions within the area)."""
    loglik = grid_loglik(area, local, codes)
    log_post = loglik + grid.log_weights
    top = log_post.max()
    log_post = log_post - (top + np.log(np.exp(log_post - top).sum()))
    post = np.exp(log_post)
    q = grid.points
    mean = float(post @ q)
    sd = float(np.sqrt(max(post @ (q * q) - mean * mean, 0.0)))
    n = int(local.size)
    if estimator == "eap" or n == 0:
        return AreaFit(mean, sd, "eap", n, loglik, log_post)
    if estimator in ("ml", "wle"):
        max_code = area.items.n_cat[local] - 1
        if (codes == 0).all() or (codes == max_code).all():
            return AreaFit(mean, sd, "eap", n, loglik, log_post)  # no finite ML/WLE yet: EAP fallback
    est = estimate(
        codes[None, :].astype(np.int16),
        area.items.subset(local),
        estimator,  # type: ignore[arg-type]
        prior_mean=grid.prior_mean,
        prior_sd=grid.prior_sd,
        bounds=grid.bounds,
    )
    return AreaFit(float(est.theta[0]), float(est.se[0]), estimator, n, loglik, log_post)
