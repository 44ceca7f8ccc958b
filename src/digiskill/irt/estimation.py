"""Ability estimation for many persons at once: EAP, MAP, ML, WLE and sum-score EAP tables.

All estimators take integer-coded responses ``(N, J)`` (see :func:`~digiskill.irt.likelihood.encode_responses`;
floats with NaN are accepted too) and work on whole blocks of persons with matrix products; persons are processed in
chunks so memory is bounded by the chunk size, not by ``N``.

* **EAP**: posterior mean and posterior SD on a quadrature grid (default: R mirt's 61 points on [−6, 6], N(0, 1)).
* **MAP**: posterior mode under a N(mean, sd²) prior.
* **ML**: maximum of the likelihood.
* **WLE**: Warm's (1989) weighted likelihood, the root of ``∂ log L/∂θ + J(θ) / (2 I(θ)) = 0``.

MAP, ML and WLE share one robust, vectorised solver: the objective and its score function are evaluated on a fine
grid over ``bounds`` with a few matrix products, the bracket around the highest local maximum is picked per person,
and the root of the score function in that bracket is polished by Newton steps safeguarded by bisection (the
bracket always holds the root). Multi-modal likelihoods (3PL/4PL) are therefore handled, and there
is no Newton step that can diverge.

Outcomes for special patterns (``status``):

* ``empty`` (no answered item): EAP and MAP return the prior mean and prior SD; ML and WLE return NaN for θ and SE.
* ``all_min`` / ``all_max`` (every answer in the lowest / highest category): the ML estimate does not exist, and
  ML returns the lower / upper search bound with the SE at that bound; EAP, MAP and WLE are finite and are
  returned as computed (WLE may also reach a bound; then it is the bound).
* ``at_bound``: a non-extreme pattern whose maximum lies at a search bound (possible with 3PL/4PL).

Standard errors: EAP, the posterior SD; ML and MAP, ``1/sqrt(observed information)`` at the estimate (the curvature
of the log-likelihood, plus ``1/sd²`` for MAP, as R mirt's Hessian-based SEs), falling back to the expected (Fisher)
information where the observed one is not positive; WLE, ``1/sqrt(I(θ̂))`` with the test information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .items import ItemArrays
from .likelihood import encode_responses, finite_logp, gather_at_responses, indicator_products, loglik_matrix
from .quadrature import Quadrature
from .response import CategoryTerms, category_terms, log_probability, probability
from .special import logsumexp  # numpy version: scipy.special is slow to import

Method = Literal["eap", "map", "ml", "wle"]
METHODS: tuple[Method, ...] = ("eap", "map", "ml", "wle")

OK, EMPTY, ALL_MIN, ALL_MAX, AT_BOUND = 0, 1, 2, 3, 4
STATUS_NAMES = ("ok", "empty", "all_min", "all_max", "at_bound")

DEFAULT_BOUNDS = (-6.0, 6.0)
DEFAULT_CHUNK = 16_384
_GRID_STEP = 0.1  # spacing of the bracketing grid of MAP/ML/WLE
_ROOT_TOL = 1e-10  # on θ
_MAX_ITER = 100


@dataclass(frozen=True, eq=False)
class AbilityEstimates:
    """Estimates for ``N`` persons.

    Attributes:
        theta: ``(N,)`` estimates (NaN only for ``empty`` patterns under ML/WLE).
        se: ``(N,)`` standard errors (see module notes).
        n_answered: ``(N,)`` number of answered items.
        status: ``(N,)`` codes into :data:`STATUS_NAMES`.
        method: the estimator.
    """

    theta: np.ndarray
    se: np.ndarray
    n_answered: np.ndarray
    status: np.ndarray
    method: str

    @property
    def status_names(self) -> np.ndarray:
        return np.asarray(STATUS_NAMES, dtype=object)[self.status]

    def __len__(self) -> int:
        return self.theta.size


def pattern_status(codes: np.ndarray, items: ItemArrays) -> np.ndarray:
    """``empty``, ``all_min``, ``all_max`` or ``ok`` per person (int codes)."""
    seen = codes >= 0
    n = seen.sum(axis=1)
    at_min = (seen & (codes == 0)).sum(axis=1)
    at_max = (seen & (codes == items.max_score)).sum(axis=1)
    status = np.full(codes.shape[0], OK, dtype=np.int8)
    status[(at_min == n) & (n > 0)] = ALL_MIN
    status[(at_max == n) & (n > 0)] = ALL_MAX
    status[n == 0] = EMPTY
    return status


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


# ------------------------------------------------------------------------------------------------------------- EAP
def log_posterior(codes: np.ndarray, items: ItemArrays, quadrature: Quadrature) -> np.ndarray:
    """Normalised log posterior ``(N, Q)`` on the quadrature points."""
    log_post = loglik_matrix(codes, log_probability(quadrature.points, items)) + quadrature.log_weights
    return log_post - logsumexp(log_post, axis=1, keepdims=True)


def eap(
    responses: np.ndarray,
    items: ItemArrays,
    quadrature: Quadrature | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbilityEstimates:
    """Expected a posteriori estimates (posterior mean) and posterior SDs."""
    quadrature = quadrature or Quadrature.normal()
    codes = encode_responses(responses, items)
    lp = finite_logp(log_probability(quadrature.points, items))  # (Q, J, K), computed once
    theta = np.empty(codes.shape[0])
    se = np.empty(codes.shape[0])
    q = quadrature.points
    for sl in _chunks(codes.shape[0], chunk_size):
        log_post = indicator_products(codes[sl], lp) + quadrature.log_weights
        post = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
        m = post @ q
        theta[sl] = m
        se[sl] = np.sqrt(np.maximum(post @ (q * q) - m * m, 0.0))
    return AbilityEstimates(theta, se, (codes >= 0).sum(axis=1), pattern_status(codes, items), "eap")


# ---------------------------------------------------------------------------------------------- MAP / ML / WLE
def map_estimate(
    responses: np.ndarray,
    items: ItemArrays,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbilityEstimates:
    """Maximum a posteriori (posterior mode) estimates under a N(prior_mean, prior_sd²) prior."""
    return _point_estimates(responses, items, "map", prior_mean, prior_sd, bounds, chunk_size)


def ml_estimate(
    responses: np.ndarray,
    items: ItemArrays,
    *,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbilityEstimates:
    """Maximum likelihood estimates; all-min/all-max patterns get the search bound (status says so)."""
    return _point_estimates(responses, items, "ml", 0.0, 1.0, bounds, chunk_size)


def wle_estimate(
    responses: np.ndarray,
    items: ItemArrays,
    *,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbilityEstimates:
    """Warm's weighted likelihood estimates."""
    return _point_estimates(responses, items, "wle", 0.0, 1.0, bounds, chunk_size)


def estimate(
    responses: np.ndarray,
    items: ItemArrays,
    method: Method = "eap",
    *,
    quadrature: Quadrature | None = None,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbilityEstimates:
    """Dispatch to the estimator named by ``method`` (``eap``, ``map``, ``ml`` or ``wle``)."""
    if method == "eap":
        quadrature = quadrature or Quadrature.normal(mean=prior_mean, sd=prior_sd)
        return eap(responses, items, quadrature, chunk_size=chunk_size)
    if method not in METHODS:
        raise ValueError(f"unknown estimation method {method!r}; expected one of {', '.join(METHODS)}")
    return _point_estimates(responses, items, method, prior_mean, prior_sd, bounds, chunk_size)


def _point_estimates(
    responses: np.ndarray,
    items: ItemArrays,
    method: str,
    prior_mean: float,
    prior_sd: float,
    bounds: tuple[float, float],
    chunk_size: int,
) -> AbilityEstimates:
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError(f"bounds must be increasing, got {bounds}")
    if not prior_sd > 0:
        raise ValueError(f"prior_sd must be positive, got {prior_sd}")
    codes = encode_responses(responses, items)
    n = codes.shape[0]
    status = pattern_status(codes, items)
    theta = np.full(n, np.nan)
    se = np.full(n, np.nan)
    grid = np.linspace(lo, hi, max(round((hi - lo) / _GRID_STEP) + 1, 3))
    on_grid = _GridTerms(category_terms(grid, items), grid)
    solver = _ScoreFunction(items, method, prior_mean, prior_sd)
    for sl in _chunks(n, chunk_size):
        theta[sl], se[sl], hit_bound = _solve_chunk(codes[sl], on_grid, solver, lo, hi)
        chunk_status = status[sl]
        chunk_status[hit_bound & (chunk_status == OK)] = AT_BOUND
    empty = status == EMPTY
    if method == "map":
        theta[empty], se[empty] = prior_mean, prior_sd
    else:
        theta[empty], se[empty] = np.nan, np.nan
    return AbilityEstimates(theta, se, (codes >= 0).sum(axis=1), status, method)


@dataclass(frozen=True)
class _GridTerms:
    terms: CategoryTerms  # on the grid, (G, J, K)
    grid: np.ndarray

    @property
    def finite_logp(self) -> np.ndarray:
        return finite_logp(self.terms.logp)


class _ScoreFunction:
    """The objective's score function ``S(θ)`` at each person's own θ, and the SE at the solution."""

    def __init__(self, items: ItemArrays, method: str, prior_mean: float, prior_sd: float) -> None:
        self.items, self.method = items, method
        self.mean, self.var = prior_mean, prior_sd**2
        self.exact_slope = method != "wle"

    def on_grid(self, codes: np.ndarray, g: _GridTerms) -> tuple[np.ndarray, np.ndarray]:
        """Objective ``F`` and score ``S`` on the grid, each ``(N, G)``."""
        t = g.terms
        f = indicator_products(codes, g.finite_logp)
        s = indicator_products(codes, t.dlogp)
        if self.method == "map":
            f -= 0.5 * (g.grid - self.mean) ** 2 / self.var
            s -= (g.grid - self.mean) / self.var
        elif self.method == "wle":
            seen = (codes >= 0).astype(np.float64)
            info = seen @ t.information().T
            warm = seen @ t.warm_j().T
            with np.errstate(divide="ignore", invalid="ignore"):
                s += np.where(info > 0, warm / (2.0 * info), 0.0)
                f += np.where(info > 0, 0.5 * np.log(info), 0.0)
        return f, s

    def score_and_slope(self, theta: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``S(θ_n)`` for each person at its own ``θ_n``, and a slope for Newton steps.

        The slope is exact for ML and MAP (the curvature of the objective). For WLE it leaves out the derivative of
        the small correction ``J/(2I)``, which makes the step quasi-Newton; the bracket keeps it safe.
        """
        t = category_terms(theta, self.items, with_logp=False)
        s = gather_at_responses(t.dlogp, codes)
        slope = gather_at_responses(t.d2logp, codes)
        if self.method == "map":
            s = s - (theta - self.mean) / self.var
            slope = slope - 1.0 / self.var
        elif self.method == "wle":
            seen = codes >= 0
            info = np.where(seen, t.information(), 0.0).sum(axis=1)
            warm = np.where(seen, t.warm_j(), 0.0).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = s + np.where(info > 0, warm / (2.0 * info), 0.0)
        return s, slope

    def standard_error(self, theta: np.ndarray, codes: np.ndarray) -> np.ndarray:
        t = category_terms(theta, self.items, with_logp=False)
        seen = codes >= 0
        expected = np.where(seen, t.information(), 0.0).sum(axis=1)
        if self.method == "wle":
            info = expected
        else:
            observed = -gather_at_responses(t.d2logp, codes)
            info = np.where(observed > 0, observed, expected)
            if self.method == "map":
                info = info + 1.0 / self.var
        with np.errstate(divide="ignore"):
            return np.where(info > 0, 1.0 / np.sqrt(info), np.inf)


def _solve_chunk(
    codes: np.ndarray, g: _GridTerms, fn: _ScoreFunction, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f, s = fn.on_grid(codes, g)
    n, n_grid = s.shape
    # candidates: a downward zero crossing of S between grid points, or a bound where S points outward
    down = (s[:, :-1] > 0) & (s[:, 1:] <= 0)
    cand = np.full((n, n_grid + 1), -np.inf)
    cand[:, 1:-1] = np.where(down, np.maximum(f[:, :-1], f[:, 1:]), -np.inf)
    cand[:, 0] = np.where(s[:, 0] <= 0, f[:, 0], -np.inf)
    cand[:, -1] = np.where(s[:, -1] > 0, f[:, -1], -np.inf)
    best = np.argmax(cand, axis=1)
    at_lo, at_hi = best == 0, best == n_grid
    theta = np.where(at_lo, lo, hi).astype(float)
    inner = np.flatnonzero(~at_lo & ~at_hi)
    if inner.size:
        cols = best[inner]
        theta[inner] = _polish(fn, codes[inner], g.grid[cols - 1], g.grid[cols], s[inner, cols - 1], s[inner, cols])
    se = fn.standard_error(theta, codes)
    return theta, se, at_lo | at_hi


def _polish(
    fn: _ScoreFunction,
    codes: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    s_left: np.ndarray,
    s_right: np.ndarray,
) -> np.ndarray:
    """Root of the score function in ``[left, right]`` per person: Newton steps safeguarded by bisection.

    ``S(left) > 0 ≥ S(right)`` on entry; the first iterate is the secant point of the bracket. Each iteration
    evaluates all still-active persons at once, shrinks their bracket by the sign of ``S`` and takes the Newton step
    when it stays inside the bracket, else the midpoint. Where the slope is not exact (WLE) the secant through the
    last two iterates is used instead. A person is done when the Newton step is below ``_ROOT_TOL``.
    """
    lo, hi = left.astype(float), right.astype(float)
    x = lo + (hi - lo) * s_left / (s_left - s_right)  # S(left) > 0 ≥ S(right): strictly inside or at right
    near_left = (x - lo) < (hi - x)
    prev_x = np.where(near_left, lo, hi)
    prev_s = np.where(near_left, s_left, s_right)
    active = np.arange(codes.shape[0])
    for _ in range(_MAX_ITER):
        xa = x[active]
        s, slope = fn.score_and_slope(xa, codes[active])
        if not fn.exact_slope:  # secant slope from the previous iterate where there is one
            with np.errstate(divide="ignore", invalid="ignore"):
                secant = (s - prev_s[active]) / (xa - prev_x[active])
            slope = np.where(np.isfinite(secant) & (secant < 0), secant, slope)
            prev_x[active], prev_s[active] = xa, s
        right_of_root = s <= 0
        lo[active] = np.where(right_of_root, lo[active], xa)
        hi[active] = np.where(right_of_root, xa, hi[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -s / slope
        newton = xa + step
        inside = (slope < 0) & (newton > lo[active]) & (newton < hi[active])
        tiny_step = (slope < 0) & (np.abs(step) < _ROOT_TOL)
        converged = (s == 0) | tiny_step | (hi[active] - lo[active] < _ROOT_TOL)
        mid = 0.5 * (lo[active] + hi[active])
        new = np.where(inside, newton, mid)
        final = np.where(np.isfinite(newton), np.clip(newton, lo[active], hi[active]), mid)
        new = np.where(converged, np.where(s == 0, xa, final), new)
        x[active] = new
        done = converged
        active = active[~done]
        if active.size == 0:
            break
    return x


# --------------------------------------------------------------------------------------------- sum-score EAP
@dataclass(frozen=True, eq=False)
class SumScoreTable:
    """EAP for every possible sum score of a complete test (Lord–Wingersky recursion).

    Attributes:
        score: ``(S,)`` sum scores ``0..Σ(n_cat − 1)``.
        theta: ``(S,)`` posterior means given the sum score.
        se: ``(S,)`` posterior SDs.
        prob: ``(S,)`` model-implied marginal probability of each sum score.
    """

    score: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    prob: np.ndarray

    def expected_counts(self, n_persons: int) -> np.ndarray:
        return self.prob * n_persons

    def reliability(self, counts: np.ndarray | None = None) -> float:
        """Reliability of the sum-score EAPs, ``var(θ̂) / (var(θ̂) + mean(SE²))``.

        With observed ``counts`` per sum score this is R mirt's empirical ``rxx`` (sample variance over persons);
        without, the model-implied value under the score distribution ``prob``.
        """
        if counts is None:
            m = self.prob @ self.theta
            var = self.prob @ (self.theta - m) ** 2
            return float(var / (var + self.prob @ self.se**2))
        counts = np.asarray(counts, dtype=float)
        n = counts.sum()
        m = counts @ self.theta / n
        var = counts @ (self.theta - m) ** 2 / (n - 1)
        return float(var / (var + counts @ self.se**2 / n))


def _add_item(like: np.ndarray, p_item: np.ndarray, n_cat: int) -> np.ndarray:
    """One Lord–Wingersky step: the ``(Q, S)`` summed-score likelihoods with one more item (``p_item``: ``(Q, K)``)."""
    span = like.shape[1]
    nxt = np.zeros((like.shape[0], span + n_cat - 1))
    for k in range(n_cat):
        nxt[:, k : k + span] += like * p_item[:, k, None]
    return nxt


def sum_score_likelihoods(items: ItemArrays, quadrature: Quadrature) -> np.ndarray:
    """``P(sum score = s | θ_q)`` as a ``(Q, S)`` array, by the Lord–Wingersky (1984) recursion."""
    p = probability(quadrature.points, items)  # (Q, J, K)
    like = p[:, 0, : items.n_cat[0]].copy()
    for j in range(1, items.n_items):  # the recursion is sequential over items by nature; cost O(J · S · Q)
        like = _add_item(like, p[:, j], int(items.n_cat[j]))
    return like


def leave_one_out_sum_score_likelihoods(items: ItemArrays, quadrature: Quadrature) -> list[np.ndarray]:
    """For every item ``i``, ``P(S₋ᵢ = s | θ_q)`` as a ``(Q, S₋ᵢ + 1)`` array, ``S₋ᵢ`` the summed score of the others.

    Each equals :func:`sum_score_likelihoods` of the items without ``i`` (to rounding; every term is positive, so
    there is no cancellation), but costs ``O(J² S Q)`` in all instead of ``O(J³ Q)`` recursion steps: one forward
    recursion (items before ``i``) and one backward recursion (items after ``i``), then for each ``i`` the
    convolution of the two along the score axis, as one batched product over the nodes. S-X2 item fit needs all of
    them.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    p = probability(quadrature.points, items)  # (Q, J, K)
    n_items, n_q = items.n_items, p.shape[0]
    before = [np.ones((n_q, 1))]  # before[i]: the items 0 .. i − 1
    for j in range(n_items - 1):
        before.append(_add_item(before[-1], p[:, j], int(items.n_cat[j])))
    after = [np.ones((n_q, 1))]  # built from the last item down; reversed below so that after[i]: items i + 1 ..
    for j in range(n_items - 1, 0, -1):
        after.append(_add_item(after[-1], p[:, j], int(items.n_cat[j])))
    after.reverse()
    out = []
    for i in range(n_items):  # one convolution per item, vectorised over nodes and scores
        short, long = sorted((before[i], after[i]), key=lambda x: x.shape[1])
        a = short.shape[1]
        padded = np.zeros((n_q, long.shape[1] + 2 * (a - 1)))
        padded[:, a - 1 : a - 1 + long.shape[1]] = long
        windows = sliding_window_view(padded, a, axis=1)  # (Q, S₋ᵢ + 1, a): windows[q, s, u] = long[q, s − a + 1 + u]
        out.append(np.einsum("qsu,qu->qs", windows, short[:, ::-1]))
    return out


def sum_score_eap(items: ItemArrays, quadrature: Quadrature | None = None) -> SumScoreTable:
    """EAP table for all sum scores of the complete set of ``items``."""
    quadrature = quadrature or Quadrature.normal()
    joint = sum_score_likelihoods(items, quadrature) * quadrature.weights[:, None]  # (Q, S)
    prob = joint.sum(axis=0)
    post = joint / prob
    q = quadrature.points
    theta = q @ post
    se = np.sqrt(np.maximum((q * q) @ post - theta**2, 0.0))
    return SumScoreTable(np.arange(prob.size), theta, se, prob)
