"""Between-item multidimensional IRT: D correlated abilities, each item measuring exactly one of them.

The model. A person has abilities ``θ = (θ_1, …, θ_D) ~ N(0, Σ)``. Item ``j`` of dimension ``d`` answers with the
unidimensional response function of its family (2PL/3PL/4PL, graded, generalised partial credit; see
:mod:`~digiskill.irt.response`) evaluated at ``θ_d`` alone, so the log-likelihood of a response pattern is a sum of
per-dimension parts, ``log L(θ) = Σ_d ℓ_d(θ_d)``, and the test information matrix at ``θ`` is diagonal,
``diag(Σ_j∈d I_j(θ_d))``. The prior couples the dimensions: with a correlated ``Σ`` an answer on one dimension moves
the estimate of the others (Segall 1996).

* :func:`joint_map`: the posterior mode by Newton's method on ``ℓ(θ) − ½ θᵀ Σ⁻¹ θ`` with the analytic gradient and
  Hessian, vectorised over persons; its covariance is the inverse of the negative Hessian at the mode.
* :func:`joint_eap`: the posterior mean and covariance by quasi-Monte Carlo importance sampling: scrambled Sobol
  points mapped through a Gaussian proposal centred at the mode with the mode's covariance widened by
  :data:`PROPOSAL_SCALE` (a product grid would need ``Q^D`` points; 2,048 points suffice in six dimensions).
* :func:`joint_eap_from_grid`: the same when each dimension's log-likelihood is given on a 1-D grid (calibration
  with fixed items computes it once and reuses it every EM cycle).
* :func:`item_information`: each item's Fisher information at its own dimension's ``θ_d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from .items import ItemArrays
from .likelihood import MISSING, finite_logp
from .response import CategoryTerms, category_terms, category_terms_at, log_probability_at

PROPOSAL_SCALE = 1.25
"""Importance-sampling proposal: N(mode, (1.25)² · C). A little wider than the posterior so that its tails are
covered; in six dimensions the effective sample size stays above two thirds of the points for a normal posterior."""

MAX_STEP = 1.0  # the largest Newton step per dimension and iteration (far starts converge without overshooting)
_CHUNK_CELLS = 1 << 22  # persons × points × items × categories per block of the EAP
_BLOCK_ANSWERS = 1 << 14  # answers per kernel call of the joint MAP: one call for a session, cache-sized for a batch


@dataclass(frozen=True, eq=False)
class LatentNormal:
    """The ability distribution ``N(0, cov)`` over ``D`` dimensions (in practice a correlation matrix)."""

    cov: np.ndarray

    def __post_init__(self) -> None:
        cov = np.array(self.cov, dtype=float)
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
            raise ValueError(f"a latent covariance must be a square matrix, got shape {cov.shape}")
        if not np.isfinite(cov).all() or not np.allclose(cov, cov.T, rtol=0, atol=1e-12):
            raise ValueError("a latent covariance must be finite and symmetric")
        if np.linalg.eigvalsh(cov).min() <= 1e-10:
            raise ValueError("a latent covariance must be positive definite")
        cov.flags.writeable = False
        object.__setattr__(self, "cov", cov)

    @classmethod
    def independent(cls, d: int) -> LatentNormal:
        """``N(0, I_d)``: independent standard normal abilities."""
        return cls(np.eye(d))

    @property
    def dim(self) -> int:
        return self.cov.shape[0]

    @cached_property
    def precision(self) -> np.ndarray:
        """``Σ⁻¹``."""
        return np.linalg.inv(self.cov)

    @cached_property
    def chol(self) -> np.ndarray:
        """Lower Cholesky factor ``L`` with ``L Lᵀ = Σ``."""
        return np.linalg.cholesky(self.cov)


@dataclass(frozen=True, eq=False)
class JointEstimate:
    """Ability estimates of ``N`` persons on ``D`` dimensions.

    Attributes:
        theta: ``(N, D)`` estimates.
        cov: ``(N, D, D)``: EAP: the posterior covariance; MAP: the inverse of the negative Hessian of the log
            posterior at the mode.
        method: ``"map"`` or ``"eap"``.
        converged: ``(N,)`` whether Newton's method converged (EAP: where its proposal mode did).
        tails: EAP with ``cuts``: per dimension ``(N, C_d)`` the posterior probabilities ``P(θ_d ≥ c | answers)``
            of that dimension's cuts.
    """

    theta: np.ndarray
    cov: np.ndarray
    method: str
    converged: np.ndarray
    tails: tuple[np.ndarray, ...] | None = None

    @property
    def se(self) -> np.ndarray:
        """``(N, D)`` standard errors (posterior SDs): the square roots of the diagonals of ``cov``."""
        return np.sqrt(np.maximum(np.diagonal(self.cov, axis1=1, axis2=2), 0.0))


def _check(codes: Sequence[np.ndarray], items: Sequence[ItemArrays], prior: LatentNormal) -> int:
    if len(codes) != prior.dim or len(items) != prior.dim:
        raise ValueError(f"{len(codes)} code blocks and {len(items)} item blocks for a {prior.dim}-dimensional prior")
    n = {np.shape(c)[0] for c in codes}
    if len(n) != 1:
        raise ValueError(f"every dimension's codes need the same persons, got {sorted(n)}")
    for d, (c, it) in enumerate(zip(codes, items, strict=True)):
        if np.shape(c)[1] != it.n_items:
            raise ValueError(f"dimension {d}: codes have {np.shape(c)[1]} columns for {it.n_items} items")
        if ((c != MISSING) & ((c < 0) | (c >= it.n_cat[None, :]))).any():
            raise ValueError(f"dimension {d}: a code outside 0..n_cat−1 (−1 = not answered)")
    return n.pop()


@dataclass(frozen=True, eq=False)
class _Answers:
    """The answers to one dimension's items of one family, person after person (compressed rows): answer ``p`` is
    person ``person[p]``'s to item ``item[p]`` of ``items``, in category ``code[p]``; person ``n``'s answers are
    ``start[n]:start[n + 1]``. One family at a time, so that its kernel runs alone on the pairs."""

    dim: int
    items: ItemArrays
    start: np.ndarray
    person: np.ndarray
    item: np.ndarray
    code: np.ndarray

    @classmethod
    def split(cls, codes: Sequence[np.ndarray], items: Sequence[ItemArrays]) -> list[_Answers]:
        """Every dimension's answers, one part per item family answered (at most three a dimension)."""
        parts = []
        for d, (c, it) in enumerate(zip(codes, items, strict=True)):  # a handful of dimensions
            for family, cols in it.family_index.items():
                sub = np.asarray(c)[:, cols]
                person, item = np.nonzero(sub != MISSING)  # row-major: person after person
                if person.size:
                    count = np.bincount(person, minlength=sub.shape[0])
                    start = np.concatenate([[0], np.cumsum(count)])
                    parts.append(cls(d, it.family_subset(family), start, person, item, sub[person, item]))
        return parts

    @property
    def widest(self) -> int:
        """The most answers any one person gave."""
        return int(np.diff(self.start).max())

    def rows(self, rows: np.ndarray | slice) -> _Answers:
        """The answers of the persons ``rows`` (renumbered from 0)."""
        rows = np.arange(self.start.size - 1)[rows]
        count = self.start[rows + 1] - self.start[rows]
        start = np.concatenate([[0], np.cumsum(count)])
        pair = np.repeat(self.start[rows] - start[:-1], count) + np.arange(start[-1])
        person = np.repeat(np.arange(rows.size), count)
        return _Answers(self.dim, self.items, start, person, self.item[pair], self.code[pair])

    def terms(self, theta: np.ndarray, with_logp: bool) -> CategoryTerms:
        """The response terms of each answer at its person's ``θ`` (``S + (N,)``): ``S + (P, K)``."""
        return category_terms_at(theta[..., self.person], self.items, self.item, with_logp=with_logp)

    def loglik(self, theta: np.ndarray) -> np.ndarray:
        """Each person's log-likelihood of these answers at ``θ`` (``S + (N,)`` → ``S + (N,)``)."""
        logp = log_probability_at(theta[..., self.person], self.items, self.item)
        return self.per_person(finite_logp(self.at_codes(logp)))

    def at_codes(self, values: np.ndarray) -> np.ndarray:
        """``values[..., p, code[p]]`` (``S + (P, K)`` → ``S + (P,)``), by indexing the last two axes with each
        answer's position and code (no copy of ``values``, whatever its strides)."""
        return values[..., self._positions, self.code]

    @cached_property
    def _positions(self) -> np.ndarray:
        return np.arange(self.code.size)

    @cached_property
    def _answering(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The persons with answers here, the first answer of each, and whether that is every person."""
        some = self.start[1:] > self.start[:-1]
        return some, self.start[:-1][some], bool(some.size and some.all())

    def per_person(self, values: np.ndarray) -> np.ndarray:
        """Each person's sum of ``values`` over their answers (``S + (P,)`` → ``S + (N,)``; 0 without answers)."""
        some, first, everyone = self._answering
        if everyone:
            return np.add.reduceat(values, first, axis=-1)
        out = np.zeros((*values.shape[:-1], self.start.size - 1))
        if first.size:
            out[..., some] = np.add.reduceat(values, first, axis=-1)
        return out


@dataclass(frozen=True, eq=False)
class _FamilyAnswers:
    """One item family's answers on every dimension, the joint MAP's unit of work (a kernel call per family instead
    of per dimension and family): answer ``p`` is person ``person[p]``'s to item ``item[p]`` of ``items`` (the
    dimensions' items of this family, joined), on dimension ``dim[p]``, in category ``code[p]``."""

    items: ItemArrays
    n_persons: int
    n_dims: int
    person: np.ndarray
    dim: np.ndarray
    item: np.ndarray
    code: np.ndarray

    @classmethod
    def merge(cls, parts: Sequence[_Answers], n_dims: int) -> list[_FamilyAnswers]:
        """The per-dimension parts of :meth:`_Answers.split` joined family by family into blocks of at most
        :data:`_BLOCK_ANSWERS` answers (a part larger than that stays alone), keeping apart the parts with a lower or
        upper asymptote (their kernel takes the general 3PL/4PL path for every item it is given)."""
        groups: dict[tuple[int, bool], list[list[_Answers]]] = {}
        for part in parts:  # one part per dimension and family (a handful)
            asymptotes = bool(part.items.c.any() or (part.items.d != 1.0).any())
            blocks = groups.setdefault((int(part.items.family[0]), asymptotes), [[]])
            if blocks[-1] and sum(g.code.size for g in blocks[-1]) + part.code.size > _BLOCK_ANSWERS:
                blocks.append([])
            blocks[-1].append(part)
        out = []
        for group in (block for blocks in groups.values() for block in blocks):  # a handful
            offset = np.cumsum([0] + [g.items.n_items for g in group[:-1]])
            out.append(
                cls(
                    ItemArrays.concat([g.items for g in group]),
                    group[0].start.size - 1,
                    n_dims,
                    np.concatenate([g.person for g in group]),
                    np.concatenate([np.full(g.person.size, g.dim) for g in group]),
                    np.concatenate([g.item + o for g, o in zip(group, offset, strict=True)]),
                    np.concatenate([g.code for g in group]),
                )
            )
        return out

    def rows(self, rows: np.ndarray) -> _FamilyAnswers:
        """The answers of the persons ``rows`` (renumbered from 0)."""
        new = np.full(self.n_persons, -1)
        new[rows] = np.arange(rows.size)
        keep = new[self.person] >= 0
        return _FamilyAnswers(
            self.items,
            rows.size,
            self.n_dims,
            new[self.person[keep]],
            self.dim[keep],
            self.item[keep],
            self.code[keep],
        )

    @cached_property
    def _cell(self) -> np.ndarray:
        return self.person * self.n_dims + self.dim

    def derivatives(self, theta: np.ndarray, with_logp: bool):
        """At ``θ`` (``(N, D)``): each person's log-likelihood of these answers (``(N,)``, or None), and its gradient
        and Hessian diagonal (``(N, D)``)."""
        t = category_terms_at(theta[self.person, self.dim], self.items, self.item, with_logp=with_logp)
        at = np.arange(self.code.size), self.code
        size = self.n_persons * self.n_dims
        grad = np.bincount(self._cell, t.dlogp[at], minlength=size).reshape(self.n_persons, self.n_dims)
        hess = np.bincount(self._cell, t.d2logp[at], minlength=size).reshape(self.n_persons, self.n_dims)
        loglik = None
        if with_logp:
            loglik = np.bincount(self.person, finite_logp(t.logp[at]), minlength=self.n_persons)
        return loglik, grad, hess


def _derivatives(theta: np.ndarray, answers: Sequence[_FamilyAnswers], with_logp: bool):
    """Per person: log-likelihood (or None), its gradient and the diagonal of its Hessian, each ``(N,)``/``(N, D)``."""
    n, dim = theta.shape
    grad = np.zeros((n, dim))
    hess = np.zeros((n, dim))
    loglik = np.zeros(n) if with_logp else None
    for ans in answers:  # a block per item family, or per dimension and family for a large batch (a handful)
        ll, g, h = ans.derivatives(theta, with_logp)
        grad += g
        hess += h
        if loglik is not None:
            loglik += ll
    return loglik, grad, hess


def joint_map(
    codes: Sequence[np.ndarray],
    items: Sequence[ItemArrays],
    prior: LatentNormal,
    *,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> JointEstimate:
    """Posterior modes of ``N`` persons' ability vectors under the ``N(0, Σ)`` prior.

    Newton's method on ``f(θ) = Σ_d ℓ_d(θ_d) − ½ θᵀ Σ⁻¹ θ``: gradient ``∇ℓ − Σ⁻¹ θ``, Hessian
    ``diag(ℓ''_d) − Σ⁻¹``. Where a dimension's ``ℓ''_d`` is positive (possible for 3PL/4PL items far from their
    location) it is replaced by 0 in the step, which keeps the step an ascent direction; steps are capped at
    :data:`MAX_STEP` per dimension and halved while ``f`` decreases. The covariance returned is the inverse of the
    negative Hessian at the mode (the observed-information SE).

    Args:
        codes: per dimension ``(N, J_d)`` category codes, −1 where not answered.
        items: per dimension its items.
        prior: the ability distribution.
        start: ``(N, D)`` starting values (default 0).
        tol: convergence when no coordinate of any step exceeds ``tol``.
        max_iter: iteration cap.
    """
    n = _check(codes, items, prior)
    per_dimension = _Answers.split(codes, items)
    answers = _FamilyAnswers.merge(per_dimension, prior.dim)
    theta = np.zeros((n, prior.dim)) if start is None else np.array(start, dtype=float).reshape(n, prior.dim)
    prec = prior.precision
    active = np.ones(n, dtype=bool)
    # the log posterior with the log-likelihood's gradient and Hessian diagonal, kept at every person's current θ:
    # the line search's accepted point is the next iteration's (and, at the end, the SE's) point of evaluation
    loglik, grad, hess = _derivatives(theta, answers, with_logp=True)
    assert loglik is not None
    current = loglik - _quadratic(theta, prec)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        sub = answers if rows.size == n else [a.rows(rows) for a in answers]
        th = theta[rows]
        g = grad[rows] - th @ prec
        h = np.minimum(hess[rows], 0.0)[:, :, None] * np.eye(prior.dim) - prec
        step = np.linalg.solve(-h, g[..., None])[..., 0]
        step *= np.minimum(1.0, MAX_STEP / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-300))
        f_old = current[rows]
        scale = np.ones(rows.size)
        for _ in range(30):  # step halving while the log posterior decreases
            trial = th + scale[:, None] * step
            loglik, g_trial, h_trial = _derivatives(trial, sub, with_logp=True)
            assert loglik is not None
            f_new = loglik - _quadratic(trial, prec)
            worse = f_new < f_old - 1e-12 * np.abs(f_old)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        theta[rows], current[rows], grad[rows], hess[rows] = trial, f_new, g_trial, h_trial
        done = np.abs(scale[:, None] * step).max(axis=1) <= tol
        active[rows[done]] = False
    neg_h = prec - hess[:, :, None] * np.eye(prior.dim)
    pd = np.linalg.eigvalsh(neg_h)[:, 0] > 0
    if not pd.all():  # expected information where the observed is not PD
        bad = np.flatnonzero(~pd)
        info = _information_sum(theta[bad], [a.rows(bad) for a in per_dimension])
        neg_h[bad] = prec + info[:, :, None] * np.eye(prior.dim)
    return JointEstimate(theta, np.linalg.inv(neg_h), "map", ~active)


def _quadratic(theta: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``½ θᵀ Σ⁻¹ θ`` per person (``(N, D)`` → ``(N,)``): minus the log prior density up to a constant."""
    return 0.5 * np.einsum("nd,de,ne->n", theta, precision, theta)


def _information_sum(theta: np.ndarray, answers: Sequence[_Answers]) -> np.ndarray:
    """``(N, D)`` the Fisher information of each person's answered items per dimension, at ``θ_d``."""
    out = np.zeros(theta.shape)
    for ans in answers:  # one block per dimension and item family (at most a handful)
        out[:, ans.dim] += ans.per_person(ans.terms(theta[:, ans.dim], with_logp=False).information())
    return out


def item_information(theta: np.ndarray, items: Sequence[ItemArrays]) -> list[np.ndarray]:
    """Per dimension ``(N, J_d)``: each item's Fisher information at its own dimension's ``θ_d`` (theta ``(N, D)``).

    Few persons (at most :data:`_BLOCK_ANSWERS` person–item pairs, e.g. one session's next item): the dimensions'
    items joined and evaluated in one kernel call per family; more: dimension by dimension, which keeps each
    kernel's arrays a sixth of the size."""
    theta = np.asarray(theta, dtype=float)
    sizes = [it.n_items for it in items]
    if theta.shape[0] * sum(sizes) > _BLOCK_ANSWERS or not any(sizes):
        return [
            category_terms(theta[:, d], it, with_logp=False).information()
            if it.n_items
            else np.zeros((theta.shape[0], 0))
            for d, it in enumerate(items)
        ]
    joined = ItemArrays.concat([it for it in items if it.n_items])
    dims = np.repeat(np.arange(len(items)), sizes)
    info = category_terms_at(theta[:, dims], joined, np.arange(joined.n_items), with_logp=False).information()
    return np.split(info, np.cumsum(sizes)[:-1], axis=1)


@lru_cache(maxsize=16)
def _normal_points(dim: int, n_points: int, seed: int) -> np.ndarray:
    """``(M, D)`` scrambled Sobol points mapped to standard normal deviates (read-only, cached)."""
    from scipy.special import ndtri
    from scipy.stats import qmc

    m = int(np.log2(n_points))
    if 2**m != n_points:
        raise ValueError(f"n_points must be a power of 2 (Sobol balance), got {n_points}")
    u = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)
    z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    z.flags.writeable = False
    return z


def _importance_moments(
    log_target_of,
    mode: np.ndarray,
    cov: np.ndarray,
    n_points: int,
    seed: int,
    width: int,
    cuts: Sequence[np.ndarray] | None = None,
):
    """Posterior mean and covariance of each person by importance sampling from ``N(mode, s² cov)``.

    ``log_target_of(rows, theta)`` returns the unnormalised log posterior ``(n, M)`` at ``theta`` ``(n, M, D)``;
    ``width`` is the number of values it holds per person and point (persons are taken in blocks that bound memory).
    With ``cuts`` (per dimension ``(C_d,)``) also the tail probabilities ``P(θ_d ≥ c)``, the weight of the points at
    or above each cut (else None).
    """
    n, dim = mode.shape
    z = _normal_points(dim, n_points, seed)
    chol = np.linalg.cholesky(cov) * PROPOSAL_SCALE
    log_q = -0.5 * (z * z).sum(axis=1)  # up to a constant per person (the log det of the proposal)
    mean = np.empty((n, dim))
    out_cov = np.empty((n, dim, dim))
    tails = None if cuts is None else [np.empty((n, np.size(c))) for c in cuts]
    block = max(1, _CHUNK_CELLS // (n_points * max(width, dim)))
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        theta = mode[rows, None, :] + np.einsum("nde,me->nmd", chol[rows], z)
        log_w = log_target_of(rows, theta) - log_q[None, :]
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mu = np.einsum("nm,nmd->nd", w, theta)
        dev = theta - mu[:, None, :]
        mean[rows] = mu
        out_cov[rows] = np.einsum("nm,nmd,nme->nde", w, dev, dev)
        for d, c in enumerate(cuts or ()):
            above = theta[:, :, d, None] >= np.asarray(c, dtype=float)[None, None, :]  # (n, M, C_d)
            tails[d][rows] = np.einsum("nm,nmc->nc", w, above)  # type: ignore[index]
    return mean, out_cov, tails


def joint_eap(
    codes: Sequence[np.ndarray],
    items: Sequence[ItemArrays],
    prior: LatentNormal,
    *,
    n_points: int = 2048,
    seed: int = 0,
    cuts: Sequence[np.ndarray] | None = None,
) -> JointEstimate:
    """Posterior means and covariances of ``N`` persons' ability vectors under the ``N(0, Σ)`` prior (with ``cuts``,
    per dimension ``(C_d,)``, also the posterior probabilities ``P(θ_d ≥ c)`` in ``tails``).

    Quasi-Monte Carlo importance sampling: ``n_points`` (a power of 2) scrambled Sobol points (seeded: the same
    answers give the same estimate) are mapped through the proposal ``N(θ̂_MAP, s² C_MAP)``, ``s`` =
    :data:`PROPOSAL_SCALE`, and weighted by posterior / proposal; the log-likelihood at each point is computed
    exactly from the item response functions.
    """
    _check(codes, items, prior)
    codes = [np.asarray(c) for c in codes]
    answers = _Answers.split(codes, items)
    mode = joint_map(codes, items, prior)
    prec = prior.precision

    def log_target(rows, theta):
        out = -0.5 * np.einsum("nmd,de,nme->nm", theta, prec, theta)
        for ans in answers:  # each person's answers only, at the points (M, n)
            out += ans.rows(rows).loglik(theta[:, :, ans.dim].T).T
        return out

    width = max((a.widest * a.items.max_cat for a in answers), default=1)
    if cuts is not None and len(cuts) != prior.dim:
        raise ValueError(f"{len(cuts)} sets of cuts for a {prior.dim}-dimensional prior")
    mean, cov, tails = _importance_moments(log_target, mode.theta, mode.cov, n_points, seed, width, cuts)
    blank = ~np.any([(c != MISSING).any(axis=1) for c in codes], axis=0)  # no answers: the prior itself, exactly
    mean[blank], cov[blank] = 0.0, prior.cov
    if tails is not None and blank.any():
        from scipy.special import ndtr

        sd = np.sqrt(np.diag(prior.cov))
        for d, c in enumerate(cuts or ()):
            tails[d][blank] = ndtr(-np.asarray(c, dtype=float) / sd[d])[None, :]
    return JointEstimate(mean, cov, "eap", mode.converged, None if tails is None else tuple(tails))


def joint_eap_from_grid(
    points: np.ndarray,
    loglik: Sequence[np.ndarray],
    prior: LatentNormal,
    *,
    n_points: int = 1024,
    seed: int = 0,
) -> JointEstimate:
    """:func:`joint_eap` from per-dimension log-likelihoods on a 1-D grid.

    Args:
        points: ``(Q,)`` increasing grid (a fine one, e.g. 241 points on [−6, 6]: ``ℓ_d`` is interpolated linearly
            between points and held constant beyond the ends).
        loglik: per dimension ``(N, Q)`` each person's log-likelihood of that dimension's answers at the points.
        prior: the ability distribution.
        n_points: QMC points (a power of 2).
        seed: the scrambling seed.

    The proposal's centre and covariance come from a Gaussian approximation: each dimension's likelihood is
    summarised by the precision ``λ_d = 1/v_d − 1`` and centre implied by its posterior mean ``m_d`` and variance
    ``v_d`` under N(0, 1) on the grid, combined with the prior: covariance ``(Σ⁻¹ + diag λ)⁻¹``, centre
    ``(Σ⁻¹ + diag λ)⁻¹ (m / v)``.
    """
    points = np.asarray(points, dtype=float)
    if len(loglik) != prior.dim:
        raise ValueError(f"{len(loglik)} log-likelihood blocks for a {prior.dim}-dimensional prior")
    ll = [np.asarray(x, dtype=float) for x in loglik]
    n = ll[0].shape[0]
    m = np.empty((n, prior.dim))
    v = np.empty((n, prior.dim))
    log_prior_1d = -0.5 * points**2
    for d, x in enumerate(ll):
        lp = x + log_prior_1d
        w = np.exp(lp - lp.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        m[:, d] = w @ points
        v[:, d] = np.maximum(w @ points**2 - m[:, d] ** 2, 1e-6)
    lam = np.maximum(1.0 / v - 1.0, 0.0)
    prec = prior.precision[None, :, :] + lam[:, :, None] * np.eye(prior.dim)
    cov = np.linalg.inv(prec)
    centre = np.einsum("nde,ne->nd", cov, m / v)
    q = points.size
    step = np.diff(points)

    def log_target(rows, theta):
        out = -0.5 * np.einsum("nmd,de,nme->nm", theta, prior.precision, theta)
        for d, x in enumerate(ll):
            t = np.clip(theta[:, :, d], points[0], points[-1])
            i = np.clip(np.searchsorted(points, t, side="right") - 1, 0, q - 2)
            frac = (t - points[i]) / step[i]
            xr = x[rows]
            lo = np.take_along_axis(xr, i, axis=1)
            hi = np.take_along_axis(xr, i + 1, axis=1)
            out += lo + frac * (hi - lo)
        return out

    mean, post_cov, _ = _importance_moments(log_target, centre, cov, n_points, seed, 4 * prior.dim)
    return JointEstimate(mean, post_cov, "eap", np.ones(n, dtype=bool))
