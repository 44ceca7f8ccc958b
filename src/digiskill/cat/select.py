"""One adaptive step of one test: the rules of :mod:`~digiskill.cat.rules` called with N = 1.

:func:`choose` is a pure function of the bank, the answers so far, the areas still open, the items set aside and
``(seed, step)``: it picks the area (Kingsbury–Zara), estimates it, scores its items and applies exposure control.
:func:`area_stop` evaluates an area's stopping rules after an answer. Random draws come from
:class:`~digiskill.cat.rules.SessionDraws` (``numpy.random.default_rng([seed, step])``), so a session resumed from
JSON draws exactly what it would have drawn without the pause. With exposure control ``none`` nothing random happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import AreaBank, CatBank
from .balancing import area_targets, competence_allowed, kingsbury_zara
from .config import StoppingRules
from .estimate import AreaFit, answers_row, fit_area, fit_rows, grid_loglik
from .rules import Rules, SessionDraws, top_k
from .stopping import Stopper, sprt_llr


@dataclass(frozen=True, eq=False)
class History:
    """The answers so far: bank positions ``items`` and response codes ``codes``, in the order given."""

    items: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, items: Sequence[int], codes: Sequence[int]) -> History:
        return cls(np.asarray(items, dtype=np.int64).reshape(-1), np.asarray(codes, dtype=np.int64).reshape(-1))

    def of_area(self, bank: CatBank, area: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Positions within ``area`` of its answered items, and their codes."""
        code = bank.area_names.index(area)
        mine = bank.area_code[self.items] == code
        return bank.local[self.items[mine]], self.codes[mine]


@dataclass(frozen=True, eq=False)
class Choice:
    """The outcome of a step: the item (bank position, None when nothing is left), its area, how it was chosen, the
    θ the criterion was evaluated at, the area's current estimate, the top candidates ``(position, value)`` and the
    items Sympson–Hetter set aside on the way."""

    item: int | None
    area: str | None
    rule: str
    theta: float
    fit: AreaFit | None
    candidates: tuple[tuple[int, float], ...] = ()
    set_aside: tuple[int, ...] = ()


@dataclass(frozen=True)
class AreaStop:
    """Which rule ended the area (None: it goes on) and the classification against the cut, if decided."""

    rule: str | None
    classification: str | None  # "above" / "below" the cut score


def available_mask(bank: CatBank, area: str | None, history: History, excluded: np.ndarray) -> np.ndarray:
    """``(J_a,)`` True for the area's items neither answered nor set aside."""
    ab = bank.areas[area]
    mask = np.ones(ab.n_items, dtype=bool)
    code = bank.area_names.index(area)
    for positions in (history.items, excluded):
        mine = positions[bank.area_code[positions] == code]
        mask[bank.local[mine]] = False
    return mask


def area_stop(
    rules: StoppingRules, area: AreaBank, local: np.ndarray, codes: np.ndarray, fit: AreaFit, n_left: int
) -> AreaStop:
    """Evaluate one test's area rules after its latest answer (``n_left``: items still available in the area)."""
    one = np.array
    stops = Stopper(rules).area(
        area, one([local.size]), one([fit.theta]), one([fit.se]), one([sprt_llr(area, local, codes)]), one([n_left])
    )
    return AreaStop(stops.rule[0], stops.classification[0])


def choose(
    bank: CatBank,
    session_areas: Sequence[str | None],
    history: History,
    finished: Sequence[str | None],
    excluded: np.ndarray,
    seed: int,
    step: int,
    theta: Sequence[float] | None = None,
) -> Choice:
    """The next item of a test (see the module notes); a multidimensional configuration dispatches to
    :func:`digiskill.cat.joint.choose_joint`, which takes the current joint estimate ``theta`` of the session's
    areas (None: estimated from the answers)."""
    cfg = bank.config
    if cfg.dimensionality == "multidimensional":
        from .joint import choose_joint

        return choose_joint(bank, session_areas, history, finished, excluded, SessionDraws(seed, step), theta)
    masks = {a: available_mask(bank, a, history, excluded) for a in session_areas if a not in finished}
    open_areas = [a for a, m in masks.items() if m.any()]
    if not open_areas:
        return Choice(None, None, "none left", float("nan"), None)
    first = cfg.start.first_item
    if history.items.size == 0 and first is not None and first in bank.index:
        pos = bank.index[first]
        area = bank.area_of(pos)
        if area in open_areas and masks[area][bank.local[pos]]:
            fit = fit_area(bank.areas[area], bank.grid, *history.of_area(bank, area), cfg.estimator)
            return Choice(pos, area, "start: given first item", cfg.start.theta, fit)
    codes = [bank.area_names.index(a) for a in session_areas]
    counts = np.bincount(bank.area_code[history.items], minlength=len(bank.area_names))[codes]
    is_open = np.array([a in open_areas for a in session_areas])
    target = area_targets(session_areas, cfg.balancing.targets)
    area = session_areas[int(kingsbury_zara(counts[None, :], is_open[None, :], target)[0])]
    ab = bank.areas[area]
    local, answers = history.of_area(bank, area)
    x = answers_row(ab, local, answers)
    n = np.array([local.size])
    fit = fit_rows(ab, bank.grid, grid_loglik(ab, local, answers)[None, :], x, cfg.estimator, n)
    allowed = competence_allowed(ab, x >= 0, masks[area][None, :], cfg.balancing)
    rules = Rules.from_config(cfg)
    sel = rules.select(ab, bank.grid, fit, allowed, SessionDraws(seed, step))
    item = int(sel.pick.item[0])
    score = sel.score[0]
    top = top_k(sel.score, cfg.selection.candidates_logged)[0]
    top = top[np.isfinite(score[top])]
    sign = rules.selector.sign
    return Choice(
        item=int(ab.index[item]),
        area=area,
        rule=rules.selector.describe(sel.view, 0) + rules.exposure.describe(sel.pick, 0),
        theta=float(sel.view.theta[0]),
        fit=fit.row(0, cfg.estimator),
        candidates=tuple((int(ab.index[c]), float(sign * score[c])) for c in top),
        set_aside=tuple(int(ab.index[s]) for s in np.flatnonzero(sel.pick.set_aside[0])),
    )
