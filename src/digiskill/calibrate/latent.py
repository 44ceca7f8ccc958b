"""The correlation matrix of the areas' abilities, with the item parameters fixed (a second calibration stage).

The model is between-item multidimensional (:mod:`digiskill.irt.multidim`): each item measures only its own area's
ability, item ``j`` of area ``d`` answers with its unidimensional response function at ``θ_d``, and the abilities are
``θ ~ N(μ, Σ)`` over the ``D`` areas. The items keep the parameters of their per-area calibrations, which fix each
area's metric; the correlation matrix ``R`` (``Σ`` standardised) is what is wanted. Persons answer items of several
areas; an item a person was not given is missing (−1) and adds nothing.

Two scales (``scale=``):

* ``"free"`` (the default): the means and SDs are estimated with the correlations. The correlation does not depend on
  an area's metric, so an error in the scale of the fixed items (an estimated slope a few per cent off in every item
  of an area, or a sample from another population than the calibration's) does not reach it. With ``"fixed"`` it
  does: in the provisional bank the calibrated slopes of an area are on average up to 3 % off the generating ones,
  and with the 11-item correlation pilot the fixed-scale correlations were 0.006 higher with the calibrated items
  than with the generating ones (16 seeds), the free-scale ones 0.000 (at most 0.001 apart). The EM then works in the
  metric of each area's own marginal ``N(m_d, s_d²)`` (estimated first, on the grid), so that its start and proposal
  fit whatever the items' metric is.
* ``"fixed"``: ``N(0, R)``, each calibration fixed its area at N(0, 1), only ``R`` is estimated; right when the
  persons come from the calibration population and the items' parameters are exact.

Estimation is by EM (marginal maximum likelihood):

* once: each person's log-likelihood of each area's answers on a fine 1-D grid (the items are fixed, so it never
  changes);
* E-step: each person's posterior mean ``μ_n`` and covariance ``C_n`` under the current ``N(μ, Σ)`` by quasi-Monte
  Carlo importance sampling (:class:`QMCSample`: the same points every cycle, so the iteration is a deterministic
  map);
* M-step, free scale: ``μ = mean_n μ_n`` and ``Σ = S − μμᵀ`` with ``S = mean_n(C_n + μ_n μ_nᵀ)``;
* M-step, fixed scale: ``R`` maximises the expected complete-data log-likelihood
  ``−N/2 (log det R + tr(R⁻¹ S))`` over correlation matrices (unit diagonal), by BFGS with the analytic gradient from
  the correlation matrix of ``S``. (The correlation matrix of ``S`` alone is the maximiser only when ``diag S = 1``;
  with few items per area it is not, and its fixed point then lies off the maximum-likelihood estimate: by 0.03 in
  ``tests/test_score_multidim.py``'s data.)

The E-step uses one fixed quasi-Monte Carlo sample per person, drawn once around the posterior under the starting
value (a disattenuated correlation of per-area EAPs), see :class:`QMCSample`; SQUAREM accelerates the EM. It stops
when no mean or entry of ``Σ`` changes by more than ``tol`` in a cycle, or after ``max_iter`` cycles. The QMC points
are randomised per person (independent scrambles for :data:`POINT_SETS` blocks of persons, each person's set turned by
its own random rotation), so that their error averages out over the persons: with one point set for everyone the
error was common to all persons and did not shrink with ``N`` (one data set of 5,000 persons × 8 items an area gave
correlations 0.6056 to 0.6253 for one pair over 4 scrambling seeds; per person randomised, 0.6091 to 0.6125).

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
from typing import Literal

import numpy as np

from ..errors import InputError, Problem
from ..irt.items import ItemArrays
from ..irt.likelihood import MISSING, loglik_matrix
from ..irt.response import log_probability

GRID_POINTS = 241
GRID_RANGE = 6.0
PROPOSAL_SCALE = 1.25
POINT_SETS = 16  # independently scrambled Sobol point sets, one per block of persons (see QMCSample)
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
        mean: ``(D,)`` the estimated mean of each area's ability on its calibrated scale (0 with ``scale="fixed"``).
        sd: ``(D,)`` the estimated SD of each area's ability on its calibrated scale (1 with ``scale="fixed"``).
    """

    correlation: np.ndarray
    areas: tuple[str, ...]
    n_persons: np.ndarray
    iterations: int
    converged: bool
    loglik: float
    mean: np.ndarray
    sd: np.ndarray

    def summary(self) -> str:
        """One line: cycles, convergence, log-likelihood, the range of the correlations and of the areas' SDs."""
        off = self.correlation[np.triu_indices(len(self.areas), 1)]
        return (
            f"latent correlation of {len(self.areas)} areas: {off.min():.3f} to {off.max():.3f} "
            f"(SDs on the calibrated scales {self.sd.min():.3f} to {self.sd.max():.3f}); "
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
    scale: Literal["free", "fixed"] = "free",
) -> LatentCorrelationResult:
    """Estimate the correlation matrix of the areas with the items fixed (see the module notes for the model).

    Args:
        codes: per area ``(N, J_d)`` category codes of the same ``N`` persons, −1 where not presented.
        items: per area its items, with the fixed parameters of its own calibration.
        areas: the area ids (for the result and the messages), at least two.
        tol: convergence when no parameter (mean, covariance or correlation) changes by more than this in a cycle.
        max_iter: the most EM cycles.
        n_points: quasi-Monte Carlo points per person (a power of 2).
        seed: the Sobol scrambling seed.
        grid_points: points of the 1-D grid on [−6, 6] for the per-area likelihoods.
        scale: ``"free"`` (default): the abilities are ``N(μ, Σ)`` with every mean and variance estimated too (the
            fixed items set each area's metric), and the correlation is ``Σ`` standardised; ``"fixed"``: ``N(0, R)``,
            only the correlations estimated (right only when the persons come from the calibration population
            and the items' parameters are exact; see the module notes).

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
    if scale not in ("free", "fixed"):
        raise ValueError(f"scale must be 'free' or 'fixed', got {scale!r}")
    points = np.linspace(-GRID_RANGE, GRID_RANGE, grid_points)
    codes = [np.asarray(c)[keep] for c in codes]
    loglik = [grid_loglik(c, it, points) for c, it in zip(codes, items, strict=True)]
    loc, spread = np.zeros(dim), np.ones(dim)
    if scale == "free":  # work in the metric of each area's own marginal N(m_d, s_d²): θ_d = m_d + s_d z_d
        loc, spread = marginal_normals(points, loglik)
        loglik = [grid_loglik(c, it, m + s * points) for c, it, m, s in zip(codes, items, loc, spread, strict=True)]
    r = disattenuated_start(points, loglik)
    sample = QMCSample.draw(points, loglik, r, n_points=n_points, seed=seed)
    start = np.vstack([np.zeros((1, dim)), r])  # the packed parameters: row 0 the means, then the covariance
    x, cycles, converged = _squarem(sample, start, tol, max_iter, free=scale == "free")
    sd = np.sqrt(np.diag(x[1:]))
    return LatentCorrelationResult(
        correlation=x[1:] / np.outer(sd, sd),
        areas=tuple(areas),
        n_persons=counts,
        iterations=cycles,
        converged=converged,
        loglik=sample.loglik(x[0], x[1:]),  # the probability of the answers: the same in either metric
        mean=loc + spread * x[0],
        sd=spread * sd,
    )


def marginal_normals(points: np.ndarray, loglik: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each area's own ``N(m_d, s_d²)`` by marginal maximum likelihood on the grid (persons without answers in the
    area add a constant): the metric in which the free-scale EM works, so that its proposal and start do not depend
    on how far the items' metric is from the persons' distribution.

    Each person's likelihood is scaled to a maximum of 1 once, so that an evaluation of the marginal log-likelihood
    ``Σ_n log Σ_q L_nq π_q − N log Σ_q π_q`` (``π_q`` the normal density at grid point ``q``, up to its constant) is
    one matrix-vector product."""
    from scipy.optimize import minimize

    def negative_loglik(x: np.ndarray, scaled: np.ndarray) -> float:
        log_prior = -0.5 * ((points - x[0]) / np.exp(x[1])) ** 2
        prior = np.exp(log_prior - log_prior.max())
        return -float(np.log(np.maximum(scaled @ prior, 1e-300)).sum() - scaled.shape[0] * np.log(prior.sum()))

    fits = []
    for ll in loglik:
        ll = np.asarray(ll)
        scaled = np.exp(ll - ll.max(axis=1, keepdims=True))
        fits.append(minimize(negative_loglik, np.zeros(2), args=(scaled,), method="Nelder-Mead").x)
    return np.array([f[0] for f in fits]), np.exp([f[1] for f in fits])


def _em_step(sample: QMCSample, x: np.ndarray, *, free: bool) -> np.ndarray:
    """One EM cycle on the packed parameters ``x`` (row 0 the means, rows 1… the covariance): the persons' mean
    posterior first and second moments under ``N(μ, Σ)`` (E), then the maximiser (M): ``μ = mean E[θ]`` and
    ``Σ = mean E[θθᵀ] − μμᵀ`` (free scale), or the correlation matrix of :func:`correlation_m_step` with ``μ = 0``
    (fixed scale)."""
    first, second = sample.moments(x[0], x[1:])
    if free:
        return np.vstack([first[None], second - np.outer(first, first)])
    return np.vstack([np.zeros((1, first.size)), correlation_m_step(second)])


def _squarem(
    sample: QMCSample, x: np.ndarray, tol: float, max_iter: int, *, free: bool
) -> tuple[np.ndarray, int, bool]:
    """EM cycles on one sample, accelerated by SQUAREM (Varadhan & Roland 2008, SqS3; 3 EM cycles a step, the
    extrapolation at most :data:`MAX_ALPHA` steps long and kept only when its covariance is a valid one with a
    log-likelihood no lower than the plain step's)."""

    def loglik(y: np.ndarray) -> float:
        return sample.loglik(y[0], y[1:])

    cycles = 0
    while cycles < max_iter:
        x1 = _em_step(sample, x, free=free)
        cycles += 1
        if np.abs(x1 - x).max() < tol or cycles >= max_iter:
            return x1, cycles, bool(np.abs(x1 - x).max() < tol)
        x2 = _em_step(sample, x1, free=free)
        cycles += 1
        step, curve = x1 - x, x2 - 2 * x1 + x
        alpha = float(np.clip(-np.linalg.norm(step) / max(np.linalg.norm(curve), 1e-300), -MAX_ALPHA, -1.0))
        jump = x - 2 * alpha * step + alpha**2 * curve
        if not _is_covariance(jump[1:]) or loglik(jump) < loglik(x2):
            jump = x2  # alpha = −1: the plain second EM cycle
        if cycles >= max_iter:
            return x2, cycles, False
        new = _em_step(sample, jump, free=free)
        cycles += 1
        change = float(np.abs(new - x).max())
        x = new
        if change < tol:
            return x, cycles, True
    return x, cycles, False


@dataclass(frozen=True, eq=False)
class QMCSample:
    """One fixed quasi-Monte Carlo sample per person for the E-step of every cycle.

    Person ``n``'s points are ``θ_nm = c_n + B_n z_m``: ``z_m`` scrambled Sobol points mapped to N(0, I) (one
    independently scrambled set per block of persons, :data:`POINT_SETS` sets), ``B_n`` the Cholesky factor of the
    proposal covariance times a random rotation of the person's own (the rotation keeps the proposal and makes the
    persons' QMC errors independent), ``c_n`` and ``B_n B_nᵀ / s²`` (``s`` = :data:`PROPOSAL_SCALE`) the Gaussian
    approximation of the person's posterior under the starting ``R`` (as in
    :func:`digiskill.irt.multidim.joint_eap_from_grid`). The log-likelihood minus the log proposal density at the
    points, ``a_nm``, is computed once; under any ``N(μ, Σ)`` the importance weights are
    ``w_nm ∝ exp(a_nm − ½ (θ_nm − μ)ᵀ Σ⁻¹ (θ_nm − μ))`` and the quadratic form is two matrix products per block
    (with ``c`` for ``c − μ``: ``θᵀPθ = cᵀPc + 2 (BᵀPc)·z + vec(BᵀPB)·vec(z zᵀ)``), so an EM cycle costs a few BLAS
    calls, and the iteration is a smooth deterministic map that converges to the maximiser of one QMC approximation of
    the marginal likelihood.
    (Calling :func:`~digiskill.irt.multidim.joint_eap_from_grid` every cycle redraws the proposal, costs the
    interpolation of every person's likelihood at every point each time, and its QMC error then changes with ``R``,
    which the slow contraction of the EM amplifies.)
    """

    centre: np.ndarray  # (N, D)
    scale: np.ndarray  # (N, D, D) B_n
    z: np.ndarray  # (G, M, D) one scrambled point set per group of persons
    zz: np.ndarray  # (G, M, D²) vec(z zᵀ)
    bounds: tuple[int, ...]  # persons bounds[g] to bounds[g + 1] − 1 use point set g
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
        chol = np.linalg.cholesky(cov) * PROPOSAL_SCALE
        log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        m_exp = int(np.log2(n_points))
        if 2**m_exp != n_points:
            raise ValueError(f"n_points must be a power of 2 (Sobol balance), got {n_points}")
        n = centre.shape[0]
        groups = max(1, min(POINT_SETS, n))
        bounds = tuple(int(b) for b in np.linspace(0, n, groups + 1).round())
        rng = np.random.default_rng(seed)
        u = np.stack([qmc.Sobol(d=dim, scramble=True, seed=rng).random_base2(m_exp) for _ in range(groups)])
        z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))  # (G, M, D)
        scale = chol @ random_rotations(n, dim, rng)
        zz = (z[:, :, :, None] * z[:, :, None, :]).reshape(groups, n_points, dim * dim)
        log_ratio = 0.5 * _grouped_matmul(np.ones((n, 1)), (z * z).sum(axis=2)[:, None, :], bounds) + log_det[:, None]
        for d, x in enumerate(loglik):
            t = centre[:, d, None] + _grouped_matmul(scale[:, d, :], z.transpose(0, 2, 1), bounds)
            log_ratio += _interp_rows(points, np.asarray(x), np.clip(t, points[0], points[-1]))
        return cls(centre, scale, z, zz, bounds, log_ratio)

    def _log_weights(self, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """``(N, M)`` log of ``L(θ) N(θ; μ, Σ) / q(θ)`` at the points."""
        prec = np.linalg.inv(cov)
        c, b = self.centre - mean, self.scale
        quad_c = np.einsum("nd,de,ne->n", c, prec, c)
        lin = np.einsum("nde,df,nf->ne", b, prec, c)  # BᵀPc
        quad = np.einsum("ndi,de,nej->nij", b, prec, b).reshape(c.shape[0], -1)  # vec(BᵀPB)
        q = quad_c[:, None] + _grouped_matmul(
            np.concatenate([2 * lin, quad], axis=1),
            np.concatenate([self.z, self.zz], axis=2).transpose(0, 2, 1),
            self.bounds,
        )
        return self.log_ratio - 0.5 * q - 0.5 * np.linalg.slogdet(cov)[1]

    def moments(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The E-step under ``N(μ, Σ)``: the mean over persons of the posterior mean ``E[θ_n]`` ``(D,)`` and of the
        posterior second moment ``E[θ_n θ_nᵀ]`` ``(D, D)``."""
        log_w = self._log_weights(mean, cov)
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        dim = mean.size
        sums = _grouped_matmul(w, np.concatenate([self.z, self.zz], axis=2), self.bounds)
        wz = sums[:, :dim]  # (N, D) Σ_m w z
        wzz = sums[:, dim:].reshape(-1, dim, dim)  # Σ_m w z zᵀ
        bwz = np.einsum("nde,ne->nd", self.scale, wz)
        c = self.centre
        second = (
            c[:, :, None] * c[:, None, :]
            + c[:, :, None] * bwz[:, None, :]
            + bwz[:, :, None] * c[:, None, :]
            + np.einsum("ndi,nij,nej->nde", self.scale, wzz, self.scale)
        )
        return (c + bwz).mean(axis=0), second.mean(axis=0)

    def loglik(self, mean: np.ndarray, cov: np.ndarray) -> float:
        """The QMC estimate of the marginal log-likelihood under ``N(μ, Σ)``: ``Σ_n log mean_m exp(log w_nm)``."""
        from scipy.special import logsumexp

        return float((logsumexp(self._log_weights(mean, cov), axis=1) - np.log(self.z.shape[1])).sum())


def _grouped_matmul(left: np.ndarray, right: np.ndarray, bounds: Sequence[int]) -> np.ndarray:
    """Rows ``bounds[g]`` to ``bounds[g + 1] − 1`` of ``left`` ``(N, K)`` times ``right[g]`` ``(K, L)``, stacked
    ``(N, L)`` (a loop over the few point sets, each a matrix product over its block of persons)."""
    out = np.empty((left.shape[0], right.shape[2]))
    for g in range(right.shape[0]):
        out[bounds[g] : bounds[g + 1]] = left[bounds[g] : bounds[g + 1]] @ right[g]
    return out


def random_rotations(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, dim, dim)`` independent uniformly distributed (Haar) orthogonal matrices: the QR factor of a Gaussian
    matrix with the signs of ``R``'s diagonal moved into ``Q`` (Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((n, dim, dim)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def _is_covariance(cov: np.ndarray) -> bool:
    """A positive definite covariance whose correlation matrix passes :func:`_is_correlation`."""
    var = np.diag(cov)
    return bool(np.all(var > 0) and _is_correlation(cov / np.sqrt(np.outer(var, var))))


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
    """``(N, M)``: row ``n`` of ``values`` ``(N, Q)`` interpolated linearly at ``t[n]`` ``(N, M)`` (within the grid;
    ``points`` evenly spaced, as every grid here is, so a point's cell is found by arithmetic)."""
    step = (points[-1] - points[0]) / (points.size - 1)
    pos = (t - points[0]) / step
    i = np.clip(pos.astype(np.intp), 0, points.size - 2)
    frac = pos - i
    flat = i + (np.arange(values.shape[0]) * values.shape[1])[:, None]
    lo = values.ravel()[flat]
    return lo + frac * (values.ravel()[flat + 1] - lo)
