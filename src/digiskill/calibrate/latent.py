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
* M-step: with ``S = mean_n(C_n + μ_n μ_nᵀ)``, ``R`` maximises the expected complete-data log-likelihood
  ``−N/2 (log det R + tr(R⁻¹ S))`` over correlation matrices (unit diagonal), by BFGS with the analytic gradient from
  the correlation matrix of ``S``. (The correlation matrix of ``S`` alone is the maximiser only when ``diag S = 1``;
  with few items per area it is not, and its fixed point then lies off the maximum-likelihood estimate: by 0.03 in
  ``tests/test_score_multidim.py``'s data.)

The E-step uses one fixed quasi-Monte Carlo sample per person, drawn once around the posterior under the starting
value (a disattenuated correlation of per-area EAPs), see :class:`QMCSample`; SQUAREM accelerates the EM. It stops
when no entry of ``R`` changes by more than ``tol`` in a cycle, or after ``max_iter`` cycles.

Known limit: with few items per area (8) and unequal correlations, the likelihood is nearly flat along a direction
towards a singular ``R``; the EM creeps along it long after the changes fall below ``tol`` (re-drawing the sample
around the estimate and continuing drove one case with 8 items an area from 0.046 to 0.43 off the truth), so the
estimate is the one of the first sample and such data identify the correlations only roughly.

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
from ..irt.response import log_probability

GRID_POINTS = 241
GRID_RANGE = 6.0
PROPOSAL_SCALE = 1.25
MAX_ALPHA = 4.0  # the longest SQUAREM extrapolation (in EM steps): longer jumps leave the region the sample covers


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
    r = disattenuated_start(points, loglik)
    sample = QMCSample.draw(points, loglik, r, n_points=n_points, seed=seed)
    r, cycles, converged = _squarem(sample, r, tol, max_iter)
    return LatentCorrelationResult(
        correlation=r,
        areas=tuple(areas),
        n_persons=counts,
        iterations=cycles,
        converged=converged,
        loglik=sample.loglik(r),
    )


def _squarem(sample: QMCSample, r: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, int, bool]:
    """EM cycles on one sample, accelerated by SQUAREM (Varadhan & Roland 2008, SqS3; 3 EM cycles a step, the
    extrapolation at most :data:`MAX_ALPHA` steps long and kept only when it is a correlation matrix with a
    log-likelihood no lower than the plain step's)."""
    cycles = 0
    while cycles < max_iter:
        r1 = sample.em_step(r)
        cycles += 1
        if np.abs(r1 - r).max() < tol or cycles >= max_iter:
            return r1, cycles, bool(np.abs(r1 - r).max() < tol)
        r2 = sample.em_step(r1)
        cycles += 1
        step, curve = r1 - r, r2 - 2 * r1 + r
        alpha = float(np.clip(-np.linalg.norm(step) / max(np.linalg.norm(curve), 1e-300), -MAX_ALPHA, -1.0))
        jump = r - 2 * alpha * step + alpha**2 * curve
        if not _is_correlation(jump) or sample.loglik(jump) < sample.loglik(r2):
            jump = r2  # alpha = −1: the plain second EM cycle
        if cycles >= max_iter:
            return r2, cycles, False
        new = sample.em_step(jump)
        cycles += 1
        change = float(np.abs(new - r).max())
        r = new
        if change < tol:
            return r, cycles, True
    return r, cycles, False


@dataclass(frozen=True, eq=False)
class QMCSample:
    """One fixed quasi-Monte Carlo sample per person for the E-step of every cycle.

    Person ``n``'s points are ``θ_nm = c_n + B_n z_m``: ``z_m`` scrambled Sobol points mapped to N(0, I) (the same for
    every person), ``c_n`` and ``B_n B_nᵀ / s²`` (``s`` = :data:`PROPOSAL_SCALE`) the Gaussian
    approximation of the person's posterior under the starting ``R`` (as in
    :func:`digiskill.irt.multidim.joint_eap_from_grid`). The log-likelihood minus the log proposal density at the
    points, ``a_nm``, is computed once; under any ``R`` the importance weights are
    ``w_nm ∝ exp(a_nm − ½ θ_nmᵀ R⁻¹ θ_nm)`` and the quadratic form is two matrix products (``θᵀPθ = cᵀPc +
    2 (BᵀPc)·z + vec(BᵀPB)·vec(z zᵀ)``), so an EM cycle costs a few BLAS calls, and the iteration is a smooth
    deterministic map that converges to the maximiser of one QMC approximation of the marginal likelihood.
    (Calling :func:`~digiskill.irt.multidim.joint_eap_from_grid` every cycle redraws the proposal, costs the
    interpolation of every person's likelihood at every point each time, and its QMC error then changes with ``R``,
    which the slow contraction of the EM amplifies.)
    """

    centre: np.ndarray  # (N, D)
    scale: np.ndarray  # (N, D, D) B_n
    z: np.ndarray  # (M, D)
    zz: np.ndarray  # (M, D²) vec(z zᵀ)
    log_ratio: np.ndarray  # (N, M) log-likelihood − log proposal density (normalised)

    @classmethod
    def draw(
        cls, points: np.ndarray, loglik: Sequence[np.ndarray], r: np.ndarray, *, n_points: int, seed: int
    ) -> QMCSample:
        from scipy.special import ndtri
        from scipy.stats import qmc

        dim = r.shape[0]
        m, v = [], []
        for x in loglik:
            lp = np.asarray(x) - 0.5 * points**2
            w = np.exp(lp - lp.max(axis=1, keepdims=True))
            w /= w.sum(axis=1, keepdims=True)
            m.append(w @ points)
            v.append(np.maximum(w @ points**2 - m[-1] ** 2, 1e-6))
        mean, var = np.stack(m, axis=1), np.stack(v, axis=1)
        lam = np.maximum(1.0 / var - 1.0, 0.0)
        cov = np.linalg.inv(np.linalg.inv(r)[None] + lam[:, :, None] * np.eye(dim))
        centre = np.einsum("nde,ne->nd", cov, mean / var)
        scale = np.linalg.cholesky(cov) * PROPOSAL_SCALE
        m_exp = int(np.log2(n_points))
        if 2**m_exp != n_points:
            raise ValueError(f"n_points must be a power of 2 (Sobol balance), got {n_points}")
        u = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed)).random_base2(m_exp)
        z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
        log_det = np.log(np.diagonal(scale, axis1=1, axis2=2)).sum(axis=1)
        log_ratio = (0.5 * (z * z).sum(axis=1))[None, :] + log_det[:, None]
        for d, x in enumerate(loglik):
            t = centre[:, d, None] + np.einsum("ne,me->nm", scale[:, d, :], z)
            log_ratio += _interp_rows(points, np.asarray(x), np.clip(t, points[0], points[-1]))
        zz = (z[:, :, None] * z[:, None, :]).reshape(z.shape[0], dim * dim)
        return cls(centre, scale, z, zz, log_ratio)

    def _log_weights(self, r: np.ndarray) -> np.ndarray:
        """``(N, M)`` log of ``L(θ) N(θ; 0, R) / q(θ)`` at the points."""
        prec = np.linalg.inv(r)
        c, b = self.centre, self.scale
        quad_c = np.einsum("nd,de,ne->n", c, prec, c)
        lin = np.einsum("nde,df,nf->ne", b, prec, c)  # BᵀPc
        quad = np.einsum("ndi,de,nej->nij", b, prec, b).reshape(c.shape[0], -1)  # vec(BᵀPB)
        q = quad_c[:, None] + 2 * lin @ self.z.T + quad @ self.zz.T
        return self.log_ratio - 0.5 * q - 0.5 * np.linalg.slogdet(r)[1]

    def em_step(self, r: np.ndarray) -> np.ndarray:
        """One EM cycle: posterior moments under ``R`` (E), then the correlation matrix maximising (M)."""
        log_w = self._log_weights(r)
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        dim = r.shape[0]
        wz = w @ self.z  # (N, D) Σ_m w z
        wzz = (w @ self.zz).reshape(-1, dim, dim)  # Σ_m w z zᵀ
        bwz = np.einsum("nde,ne->nd", self.scale, wz)
        c = self.centre
        second = (
            c[:, :, None] * c[:, None, :]
            + c[:, :, None] * bwz[:, None, :]
            + bwz[:, :, None] * c[:, None, :]
            + np.einsum("ndi,nij,nej->nde", self.scale, wzz, self.scale)
        )
        return correlation_m_step(second.mean(axis=0))

    def loglik(self, r: np.ndarray) -> float:
        """The QMC estimate of the marginal log-likelihood under ``R``: ``Σ_n log mean_m exp(log w_nm)``."""
        from scipy.special import logsumexp

        return float((logsumexp(self._log_weights(r), axis=1) - np.log(self.z.shape[0])).sum())


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


def correlation_m_step(s: np.ndarray) -> np.ndarray:
    """The M-step: the correlation matrix ``R`` maximising ``−log det R − tr(R⁻¹ S)`` (``S`` the mean posterior second
    moment), by BFGS over the off-diagonal entries with the analytic gradient ``−2 (R⁻¹ − R⁻¹ S R⁻¹)``, started at
    the correlation matrix of ``S`` (the maximiser itself when ``diag S = 1``)."""
    from scipy.optimize import minimize

    dim = s.shape[0]
    sd = np.sqrt(np.diag(s))
    start = s / np.outer(sd, sd)
    iu = np.triu_indices(dim, 1)

    def build(x: np.ndarray) -> np.ndarray:
        r = np.eye(dim)
        r[iu] = x
        r.T[iu] = x
        return r

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        r = build(x)
        try:
            low = np.linalg.cholesky(r)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(x)
        inv = np.linalg.inv(r)
        value = 2 * np.log(np.diag(low)).sum() + float(np.sum(inv * s))
        grad = inv - inv @ s @ inv
        return value, 2 * grad[iu]

    res = minimize(objective, start[iu], jac=True, method="BFGS", options={"gtol": 1e-10})
    return build(res.x)


def _interp_rows(points: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(N, M)``: row ``n`` of ``values`` ``(N, Q)`` interpolated linearly at ``t[n]`` ``(N, M)`` (within the grid)."""
    i = np.clip(np.searchsorted(points, t, side="right") - 1, 0, points.size - 2)
    frac = (t - points[i]) / (points[i + 1] - points[i])
    lo = np.take_along_axis(values, i, axis=1)
    return lo + frac * (np.take_along_axis(values, i + 1, axis=1) - lo)
