"""The rules of an adaptive test, implemented once, as small strategy objects over ``N`` tests at a time.

A live session calls them with N = 1 (:mod:`~digiskill.cat.select`, :mod:`~digiskill.cat.session`,
:mod:`~digiskill.cat.stateless`), the simulation with N simulees in lockstep (:mod:`~digiskill.cat.simulate`). The
roles are catsim's:

* a :class:`Selector` scores the items of one area, ``(N, J_a)``, higher is better (MFI, KL, KLP, MEPV,
  a-stratified, information at the cut); before an area's first answer it is evaluated at the start θ;
* an :class:`Exposure` control wraps the scores and picks one item per test (none, randomesque, Sympson–Hetter);
* :func:`~digiskill.cat.balancing.kingsbury_zara` chooses the area, and
  :func:`~digiskill.cat.balancing.competence_allowed` balances DigComp competences within it;
* a :class:`~digiskill.cat.stopping.Stopper` decides after each answer whether the area, and the session, end.

Every random draw comes from a :class:`Draws` object, the one owner of randomness: :class:`SessionDraws` for a session
(``numpy.random.default_rng([seed, step])``, so a session resumed from JSON draws what it would have drawn) and
:class:`PersonDraws` for simulees (simulee ``i`` with session seed ``s_i`` draws exactly what a live session with seed
``s_i`` draws at the same step). With exposure control ``none`` nothing random happens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .arrays import AreaBank, Grid
from .config import CatConfig
from .criteria import (
    astrat_distance,
    astrat_stratum,
    expected_posterior_variance,
    information,
    kullback_leibler,
)
from .estimate import Fit
from .pcg import seeded_uniforms
from .stopping import Stopper

_CHUNK = 2048  # tests per block when a criterion needs (N, J, K) arrays
_SMALL = 4096  # scores up to this size are sorted whole by top_k (argpartition pays off on larger ones)


# ------------------------------------------------------------------------------------------------------ draws
class Draws(Protocol):
    """Uniform draws on [0, 1) for the ``N`` tests at their current step."""

    def uniform(self, size: int) -> np.ndarray:
        """``(N, size)``: row ``i`` holds the first ``size`` draws of test ``i``'s stream at this step."""
        ...


@dataclass(frozen=True)
class SessionDraws:
    """One session's draws at one step: ``numpy.random.default_rng([seed, step])``."""

    seed: int
    step: int

    def uniform(self, size: int) -> np.ndarray:
        return np.random.default_rng([self.seed, self.step]).random(size)[None, :]


@dataclass(frozen=True, eq=False)
class PersonDraws:
    """``N`` simulees' draws at one step: row ``i`` equals ``SessionDraws(seeds[i], step)``'s, computed for all
    rows at once (:func:`digiskill.cat.pcg.seeded_uniforms`)."""

    seeds: np.ndarray
    step: int

    def uniform(self, size: int) -> np.ndarray:
        return seeded_uniforms(self.seeds, self.step, size)


# --------------------------------------------------------------------------------------------------- selectors
@dataclass(frozen=True, eq=False)
class AreaView:
    """What a selector sees of ``N`` tests in one area: the items, the grid, the current fits, the items each test
    may be given ``(N, J_a)`` and the θ the criterion is evaluated at ``(N,)`` (θ̂, or the start θ before the area's
    first answer)."""

    area: AreaBank
    grid: Grid
    fit: Fit
    available: np.ndarray
    theta: np.ndarray

    def take(self, rows: np.ndarray | slice) -> AreaView:
        """The view of some tests."""
        return AreaView(self.area, self.grid, self.fit.take(rows), self.available[rows], self.theta[rows])


class Selector(ABC):
    """An item selection criterion. ``sign`` is −1 where the score is the negated criterion (the log shows the
    criterion itself); ``needs_answers`` selectors use maximum information until the area has an answer (catR's
    ``startSelect = "MFI"``)."""

    name: str = ""
    sign: float = 1.0
    needs_answers: bool = False

    @abstractmethod
    def criterion(self, view: AreaView) -> np.ndarray:
        """``(N, J_a)`` scores, higher is better (any value where not available)."""

    def scores(self, view: AreaView) -> np.ndarray:
        """``(N, J_a)`` scores with −inf where an item is not available, in blocks of tests."""
        n = view.theta.size
        if n <= _CHUNK:
            return np.where(view.available, self._block(view), -np.inf)
        out = np.empty(view.available.shape)
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            out[sl] = self._block(view.take(sl))
        return np.where(view.available, out, -np.inf)

    def _block(self, view: AreaView) -> np.ndarray:
        if not self.needs_answers:
            return self.criterion(view)
        started = view.fit.n > 0
        if started.all():
            return self.criterion(view)
        out = information(view.area, view.theta)
        if started.any():
            rows = np.flatnonzero(started)
            out[rows] = self.criterion(view.take(rows))
        return out

    def describe(self, view: AreaView, row: int) -> str:
        """How test ``row``'s item was chosen, for the step log."""
        started = view.fit.n[row] > 0
        name = self.name if started or not self.needs_answers else MaxInformation.name
        return name if started else f"start: {name} at θ = {view.theta[row]:g}"


class MaxInformation(Selector):
    """Maximum Fisher information at θ̂."""

    name = "mfi"

    def criterion(self, view: AreaView) -> np.ndarray:
        return information(view.area, view.theta)


@dataclass(eq=False)
class KullbackLeibler(Selector):
    """catR's KL index (weights: the likelihood), or KLP (``posterior``: the posterior)."""

    posterior: bool
    needs_answers = True

    @property
    def name(self) -> str:  # type: ignore[override]
        return "klp" if self.posterior else "kl"

    def criterion(self, view: AreaView) -> np.ndarray:
        fit = view.fit
        log_w = fit.log_post if self.posterior else fit.loglik + view.grid.log_integration
        return kullback_leibler(view.area, view.theta, log_w)


class MinExpectedPosteriorVariance(Selector):
    """Minimum expected posterior variance (the score is −EPV)."""

    name = "mepv"
    sign = -1.0
    needs_answers = True

    def criterion(self, view: AreaView) -> np.ndarray:
        return -expected_posterior_variance(view.area, view.theta, view.grid.points, view.fit.log_post)


@dataclass(eq=False)
class AStratified(Selector):
    """Chang & Ying's a-stratified design: the stage follows the area's progress, the score is −|b − θ̂| within the
    stage's stratum (the nearest stratum with items left when it has none)."""

    strata: int
    max_items: int
    name = "astrat"
    sign = -1.0

    def stratum(self, view: AreaView) -> np.ndarray:
        stage = np.minimum(self.strata - 1, view.fit.n * self.strata // self.max_items)
        return astrat_stratum(view.area, view.available, stage)

    def criterion(self, view: AreaView) -> np.ndarray:
        return -astrat_distance(view.area, view.available, self.stratum(view), view.theta)

    def describe(self, view: AreaView, row: int) -> str:
        used = int(self.stratum(view.take(slice(row, row + 1)))[0])
        name = f"astrat (stratum {used + 1} of {self.strata})"
        return name if view.fit.n[row] > 0 else f"start: {name} at θ = {view.theta[row]:g}"


class CutInformation(Selector):
    """Maximum information at the area's cut score."""

    name = "cut_info"

    def criterion(self, view: AreaView) -> np.ndarray:
        return np.broadcast_to(view.area.cut_info, view.available.shape)

    def describe(self, view: AreaView, row: int) -> str:
        name = f"cut_info (at {view.area.cut:g})"
        return name if view.fit.n[row] > 0 else f"start: {name} at θ = {view.theta[row]:g}"


# ---------------------------------------------------------------------------------------------------- exposure
@dataclass(frozen=True, eq=False)
class Pick:
    """Exposure control's choice per test: ``item`` ``(N,)`` positions in the area, the items ``set_aside``
    ``(N, J_a)`` for the rest of the session, and ``detail`` ``(N,)`` for the step log (randomesque: how many items
    the draw was among; Sympson–Hetter: whether an item was accepted)."""

    item: np.ndarray
    set_aside: np.ndarray
    detail: np.ndarray | None = None


class Exposure(ABC):
    """Exposure control, wrapped around a selector's scores."""

    @abstractmethod
    def pick(self, score: np.ndarray, available: np.ndarray, area: AreaBank, draws: Draws) -> Pick:
        """One item per test from ``score`` ``(N, J_a)`` (−inf where not available)."""

    def describe(self, pick: Pick, row: int) -> str:
        """What exposure control did for test ``row``, appended to the selector's description in the step log."""
        return ""


class NoExposure(Exposure):
    """The best item (ties: bank order)."""

    def pick(self, score: np.ndarray, available: np.ndarray, area: AreaBank, draws: Draws) -> Pick:
        return Pick(np.argmax(score, axis=1), np.zeros(score.shape, dtype=bool))


@dataclass(frozen=True, eq=False)
class Randomesque(Exposure):
    """A uniform choice among the ``top_k`` best available items (Kingsbury & Zara 1989): one draw ``u`` per test,
    the ``⌊u · m⌋``-th of its ``m ≤ top_k`` best items, best first."""

    top_k: int

    def pick(self, score: np.ndarray, available: np.ndarray, area: AreaBank, draws: Draws) -> Pick:
        top = top_k(score, self.top_k)
        m = np.isfinite(np.take_along_axis(score, top, axis=1)).sum(axis=1)
        u = draws.uniform(1)[:, 0]
        item = top[np.arange(top.shape[0]), (u * m).astype(np.int64)]
        return Pick(item, np.zeros(score.shape, dtype=bool), m)

    def describe(self, pick: Pick, row: int) -> str:
        assert pick.detail is not None
        return f", randomesque top {int(pick.detail[row])}"


class SympsonHetter(Exposure):
    """Items are considered best first; item ``j`` is given with probability ``k_j`` (``area.sh``) and otherwise set
    aside for the rest of the session. One uniform per item of the area and test; when every available item is
    declined the best is given."""

    def pick(self, score: np.ndarray, available: np.ndarray, area: AreaBank, draws: Draws) -> Pick:
        n, j = score.shape
        u = draws.uniform(j)
        accept = available & (u < area.sh[None, :]) & np.isfinite(score)
        has = accept.any(axis=1)
        best = np.where(has, np.argmax(np.where(accept, score, -np.inf), axis=1), np.argmax(score, axis=1))
        s_best = score[np.arange(n), best][:, None]
        idx = np.arange(j)[None, :]
        above = (score > s_best) | ((score == s_best) & (idx < best[:, None]))
        set_aside = available & ~accept & above & has[:, None]
        return Pick(best, set_aside, has)

    def describe(self, pick: Pick, row: int) -> str:
        assert pick.detail is not None
        return ", sympson-hetter" if pick.detail[row] else ", sympson-hetter (all declined: best given)"


def exposure_control(cfg: CatConfig) -> Exposure:
    """The exposure control of a configuration (unidimensional and multidimensional tests alike)."""
    method = cfg.exposure.method
    if method == "randomesque":
        return Randomesque(cfg.exposure.top_k)
    return SympsonHetter() if method == "sympson_hetter" else NoExposure()


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """``(N, min(k, J))`` positions of each row's highest scores, best first, ties by position (−inf ones last)."""
    n, j = score.shape
    k = min(k, j)
    if n * j <= _SMALL:  # a session on a bank of usual size: one stable sort is cheapest
        return np.argsort(-score, axis=1, kind="stable")[:, :k]
    if n == 1 and k < j:  # one live session on a large bank: the k-th best value, then the few rows above it
        row = score[0]
        kth = np.partition(row, j - k)[j - k]
        above = np.flatnonzero(row > kth)
        top = np.concatenate([above, np.flatnonzero(row == kth)[: k - above.size]])
        return top[np.lexsort((top, -row[top]))][None, :]
    rows = np.arange(n)[:, None]
    if k < j:
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        kth = score[rows, top].min(axis=1, keepdims=True)  # the k-th best value
        if (np.count_nonzero(score >= kth, axis=1) > k).any():  # more ties with the k-th than fit: first by position
            tied = score == kth
            need = k - (score > kth).sum(axis=1, keepdims=True)
            keep = (score > kth) | (tied & (np.cumsum(tied, axis=1) <= need))
            top = np.nonzero(keep)[1].reshape(n, k)
        else:
            top = np.sort(top, axis=1)
    else:
        top = np.broadcast_to(np.arange(j), (n, j))
    order = np.argsort(-score[rows, top], axis=1, kind="stable")
    return top[rows, order]


# -------------------------------------------------------------------------------------------------- the rules
@dataclass(frozen=True, eq=False)
class Selection:
    """One step's choice for ``N`` tests in one area: the view the selector saw, the scores, the exposure pick."""

    view: AreaView
    score: np.ndarray
    pick: Pick


@dataclass(frozen=True, eq=False)
class Rules:
    """The strategy objects of one :class:`~digiskill.cat.config.CatConfig`."""

    config: CatConfig
    selector: Selector
    exposure: Exposure
    stopper: Stopper

    @classmethod
    def from_config(cls, cfg: CatConfig) -> Rules:
        rule = cfg.selection.rule
        selector: Selector
        if rule == "mfi":
            selector = MaxInformation()
        elif rule in ("kl", "klp"):
            selector = KullbackLeibler(posterior=rule == "klp")
        elif rule == "mepv":
            selector = MinExpectedPosteriorVariance()
        elif rule == "astrat":
            assert cfg.stopping.max_items_per_area is not None  # CatConfig checks it
            selector = AStratified(cfg.selection.strata, cfg.stopping.max_items_per_area)
        else:
            selector = CutInformation()
        return cls(cfg, selector, exposure_control(cfg), Stopper(cfg.stopping))

    def select(self, area: AreaBank, grid: Grid, fit: Fit, available: np.ndarray, draws: Draws) -> Selection:
        """Score the area's ``available`` items ``(N, J_a)`` for ``N`` tests and pick one each."""
        theta = np.where(fit.n > 0, fit.theta, self.config.start.theta)
        view = AreaView(area, grid, fit, available, theta)
        score = self.selector.scores(view)
        return Selection(view, score, self.exposure.pick(score, available, area, draws))
