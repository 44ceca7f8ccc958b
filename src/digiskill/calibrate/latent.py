"""The correlation matrix of the areas' abilities, with the item parameters fixed (a second calibration stage).

The model is between-item multidimensional (:mod:`digiskill.irt.multidim`): each item measures only its own area's
ability, item ``j`` of area ``d`` answers with its unidimensional response function at ``θ_d``, and the abilities are
``θ ~ N(0, R)`` over the ``D`` areas. The items keep the parameters of their per-area calibrations, and each of those
fixed the area's scale at N(0, 1); so the means are 0 and the variances 1 here as well, and only the correlations
``R`` are estimated. Persons answer items of several areas; an item a person was not given is missing (−1) and adds
nothing.

Estimation is by EM (marginal maximum likelihood):

* once: each person's log-likelihood of each area's answers on a fine 1-D grid (the items are fixed, so it never
  changes);
* E-step: each person's posterior mean ``μ_n`` and covariance ``C_n`` under the current ``R`` by quasi-Monte Carlo
  (:func:`digiskill.irt.multidim.joint_eap_from_grid`, the same scrambled Sobol points every cycle, so the iteration
  is a deterministic map);
* M-step: with ``S = mean_n(C_n + μ_n μ_nᵀ)``, the expected complete-data log-likelihood is
  ``−N/2 (log det R + tr(R⁻¹ S))``; ``R`` is its maximiser over correlation matrices (unit diagonal), found by BFGS
  from the correlation matrix of ``S`` in a parametrisation that keeps ``R`` a positive definite correlation matrix.
  (The correlation matrix of ``S`` alone is close to it but not the constrained maximiser when ``diag S ≠ 1``, and its
  fixed point is then not the maximum-likelihood estimate.)

The EM stops when no entry of ``R`` changes by more than ``tol`` in a cycle, or after ``max_iter`` cycles.

A correlation is identified only by persons who answered items of both areas: a pair of areas that no person answered
together is refused (:class:`~digiskill.errors.InputError` naming the pair), never estimated from the prior alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, Problem
from ..irt.items import ItemArrays
from ..irt.likelihood import MISSING, loglik_matrix
from ..irt.multidim import LatentNormal, joint_eap_from_grid
from ..irt.response import log_probability

GRID_POINTS = 241
GRID_RANGE = 6.0


@dataclass(frozen=True, eq=False)
class LatentCorrelationResult:
    """The estimated correlation matrix of the areas.

    Attributes:
        correlation: ``(D, D)`` the estimate (a correlation matrix).
        areas: the area of each row and column.
        n_persons: ``(D, D)`` persons who answered items of both areas (diagonal: of that area).
        iterations: EM cycles run.
        converged: whether the largest change of an entry fell below the tolerance.
        loglik: the marginal log-likelihood at the estimate (quasi-Monte Carlo estimate).
    """

    correlation: np.ndarray
    areas: tuple[str, ...]
    n_persons: np.ndarray
    iterations: int
    converged: bool
    loglik: float

    def summary(self) -> str:
        """One line: cycles, convergence, log-likelihood and the range of the correlations."""
        off = self.correlation[np.triu_indices(len(self.areas), 1)]
        return (
            f"latent correlation of {len(self.areas)} areas: {off.min():.3f} to {off.max():.3f}; "
            f"{self.iterations} EM cycles, {'converged' if self.converged else 'NOT converged'}, "
            f"log-likelihood {self.loglik:.2f}"
        )


def pair_counts(codes: Sequence[np.ndarray]) -> np.ndarray:
    """``(D, D)`` the number of persons who answered at least one item of both areas (diagonal: of the area)."""
    seen = np.stack([(np.asarray(c) != MISSING).any(axis=1) for c in codes], axis=1).astype(np.int64)
    return seen.T @ seen


def grid_loglik(codes: np.ndarray, items: ItemArrays, points: np.ndarray) -> np.ndarray:
    """``(N, Q)`` each person's log-likelihood of one area's answers at the grid ``points`` (0 where none)."""
    return loglik_matrix(np.asarray(codes), log_probability(points, items))


def estimate_latent_correlation(
    codes: Sequence[np.ndarray],
    items: Sequence[ItemArrays],
    areas: Sequence[str],
    *,
    tol: float = 1e-4,
    max_iter: int = 200,
    n_points: int = 1024,
    seed: int = 0,
    grid_points: int = GRID_POINTS,
) -> LatentCorrelationResult:
    """Estimate the correlation matrix of the areas with the items fixed (see the module notes for the model).

    Args:
        codes: per area ``(N, J_d)`` category codes of the same ``N`` persons, −1 where not presented.
        items: per area its items, with the fixed parameters of its own calibration.
        areas: the area ids (for the result and the messages), at least two.
        tol: convergence when no correlation changes by more than this in a cycle.
        max_iter: the most EM cycles.
        n_points: quasi-Monte Carlo points per person (a power of 2).
        seed: the Sobol scrambling seed.
        grid_points: points of the 1-D grid on [−6, 6] for the per-area likelihoods.

    Raises:
        InputError: fewer than two areas, or a pair of areas that no person answered together (not identified).
    """
    dim = len(areas)
    if dim < 2 or len(codes) != dim or len(items) != dim:
        raise InputError(f"a latent correlation needs at least two areas with codes and items each; got {dim}")
    counts = pair_counts(codes)
    never = [(areas[i], areas[k]) for i, k in zip(*np.triu_indices(dim, 1), strict=True) if counts[i, k] == 0]
    if never:
        raise InputError(
            [
                Problem(
                    f"no person answered items of both {a} and {b}: their correlation is not identified by these data "
                    "(persons per area: " + ", ".join(f"{ar} {counts[n, n]}" for n, ar in enumerate(areas)) + ")"
                )
                for a, b in never
            ]
        )
    keep = np.flatnonzero(np.stack([(np.asarray(c) != MISSING).any(axis=1) for c in codes]).any(axis=0))
    points = np.linspace(-GRID_RANGE, GRID_RANGE, grid_points)
    loglik = [grid_loglik(np.asarray(c)[keep], it, points) for c, it in zip(codes, items, strict=True)]

    def em_map(r: np.ndarray) -> np.ndarray:
        post = joint_eap_from_grid(points, loglik, LatentNormal(r), n_points=n_points, seed=seed)
        return correlation_m_step((post.cov + post.theta[:, :, None] * post.theta[:, None, :]).mean(axis=0))

    r = disattenuated_start(points, loglik)
    converged = False
    cycles = 0
    while cycles < max_iter:  # SQUAREM (Varadhan & Roland 2008, SqS3) on the EM map; 3 EM cycles per step
        r1 = em_map(r)
        cycles += 1
        if np.abs(r1 - r).max() < tol or cycles >= max_iter:
            r, converged = r1, bool(np.abs(r1 - r).max() < tol)
            break
        r2 = em_map(r1)
        cycles += 1
        step, curve = r1 - r, r2 - 2 * r1 + r
        alpha = min(-1.0, -float(np.linalg.norm(step) / max(np.linalg.norm(curve), 1e-300)))
        jump = r - 2 * alpha * step + alpha**2 * curve
        if not _is_correlation(jump):
            jump = r2  # alpha = −1: the plain second EM cycle
        new = em_map(jump) if cycles < max_iter else r2
        cycles += cycles < max_iter
        change = float(np.abs(new - r).max())
        r = new
        if change < tol:
            converged = True
            break
    return LatentCorrelationResult(
        correlation=r,
        areas=tuple(areas),
        n_persons=counts,
        iterations=cycles,
        converged=converged,
        loglik=marginal_loglik(points, loglik, r, n_points=n_points, seed=seed),
    )


def _is_correlation(r: np.ndarray) -> bool:
    off = r[~np.eye(r.shape[0], dtype=bool)]
    return bool(np.all(np.abs(off) < 0.999) and np.linalg.eigvalsh(r)[0] > 1e-6)


def disattenuated_start(points: np.ndarray, loglik: Sequence[np.ndarray]) -> np.ndarray:
    """A start for the EM: each area's EAP under its own N(0, 1) prior, and ``r_dk = E[m_d m_k] / (E[m_d²] E[m_k²])``
    over persons who answered both (in a linear normal model ``E[m_d²]`` is the reliability of ``m_d``, so this is the
    correlation of the EAPs corrected for attenuation); shrunk towards the identity until positive definite."""
    means, seen = [], []
    for x in loglik:
        lp = np.asarray(x) - 0.5 * points**2
        w = np.exp(lp - lp.max(axis=1, keepdims=True))
        means.append((w @ points) / w.sum(axis=1))
        seen.append(np.ptp(x, axis=1) > 0)
    m, s = np.stack(means, axis=1), np.stack(seen, axis=1).astype(float)
    both = np.maximum(s.T @ s, 1.0)
    second = (m * s).T @ (m * s) / both
    r = second / np.outer(np.diag(second), np.diag(second))
    r = np.clip(r, -0.95, 0.95)
    np.fill_diagonal(r, 1.0)
    eye = np.eye(r.shape[0])
    for shrink in np.linspace(1.0, 0.0, 11):
        candidate = eye + shrink * (r - eye)
        if _is_correlation(candidate):
            return candidate
    return eye


def _correlation_of(params: np.ndarray, dim: int) -> np.ndarray:
    """A correlation matrix from ``D(D−1)/2`` free numbers: rows of a unit-diagonal lower triangle, normalised."""
    low = np.eye(dim)
    low[np.tril_indices(dim, -1)] = params
    low /= np.linalg.norm(low, axis=1, keepdims=True)
    return low @ low.T


def correlation_m_step(s: np.ndarray) -> np.ndarray:
    """The correlation matrix ``R`` maximising ``−log det R − tr(R⁻¹ S)`` (``S`` a ``(D, D)`` second-moment matrix)."""
    from scipy.optimize import minimize

    dim = s.shape[0]
    sd = np.sqrt(np.diag(s))
    start = s / np.outer(sd, sd)
    low = np.linalg.cholesky(start)
    low /= np.diag(low)[:, None]  # rows rescaled to a unit diagonal: the same correlation matrix
    x0 = low[np.tril_indices(dim, -1)]

    def objective(x: np.ndarray) -> float:
        r = _correlation_of(x, dim)
        sign, logdet = np.linalg.slogdet(r)
        if sign <= 0:
            return np.inf
        return float(logdet + np.trace(np.linalg.solve(r, s)))

    res = minimize(objective, x0, method="BFGS", options={"gtol": 1e-9})
    return _correlation_of(res.x, dim)


def marginal_loglik(
    points: np.ndarray, loglik: Sequence[np.ndarray], r: np.ndarray, *, n_points: int = 1024, seed: int = 0
) -> float:
    """Quasi-Monte Carlo estimate of ``Σ_n log ∫ Π_d L_nd(θ_d) N(θ; 0, R) dθ`` from per-area grid log-likelihoods
    (scrambled Sobol points mapped through ``N(0, R)``; linear interpolation on the grid)."""
    from scipy.special import logsumexp, ndtri
    from scipy.stats import qmc

    dim = r.shape[0]
    u = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed)).random_base2(int(np.log2(n_points)))
    theta = ndtri(np.clip(u, 1e-12, 1 - 1e-12)) @ np.linalg.cholesky(r).T  # (M, D)
    total = np.zeros((np.shape(loglik[0])[0], theta.shape[0]))
    for d, x in enumerate(loglik):
        t = np.clip(theta[:, d], points[0], points[-1])
        total += _interp_rows(points, np.asarray(x), t)
    return float((logsumexp(total, axis=1) - np.log(theta.shape[0])).sum())


def _interp_rows(points: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(N, M)``: each row of ``values`` ``(N, Q)`` interpolated linearly at ``t`` ``(M,)`` within the grid."""
    i = np.clip(np.searchsorted(points, t, side="right") - 1, 0, points.size - 2)
    frac = (t - points[i]) / (points[i + 1] - points[i])
    return values[:, i] * (1 - frac) + values[:, i + 1] * frac
