"""One adaptive step on arrays: pick the area (Kingsbury–Zara), estimate it, score its items, apply exposure control.

:func:`choose` is a pure function of the bank, the answers so far, the areas still open, the items set aside and
``(seed, step)``. Random draws come from ``numpy.random.default_rng([seed, step])``, so a session resumed from JSON
draws exactly what it would have drawn without the pause. With exposure control ``none`` nothing random happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..irt.likelihood import finite_logp
from ..irt.response import category_terms
from .arrays import AreaBank, CatBank
from .config import CatConfig, ContentBalancing
from .criteria import (
    astrat_distance,
    dichotomous_information,
    expected_posterior_variance,
    fisher_information,
    kullback_leibler,
)
from .estimate import AreaFit, fit_area


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


def available_mask(bank: CatBank, area: str | None, history: History, excluded: np.ndarray) -> np.ndarray:
    """``(J_a,)`` True for the area's items neither answered nor set aside."""
    ab = bank.areas[area]
    mask = np.ones(ab.n_items, dtype=bool)
    code = bank.area_names.index(area)
    for positions in (history.items, excluded):
        mine = positions[bank.area_code[positions] == code]
        mask[bank.local[mine]] = False
    return mask


def kingsbury_zara(
    open_areas: Sequence[str | None],
    session_areas: Sequence[str | None],
    counts: Mapping[str | None, int],
    targets: Mapping[str, float] | None,
) -> str | None:
    """The open area with the largest target minus observed proportion (ties: first in session order)."""
    if targets:
        fill = float(np.mean(list(targets.values())))
        raw = np.array([targets.get(a, fill) if a is not None else fill for a in session_areas])
    else:
        raw = np.ones(len(session_areas))
    target = raw / raw.sum()
    total = sum(counts.get(a, 0) for a in session_areas)
    observed = np.array([counts.get(a, 0) for a in session_areas], dtype=float) / max(total, 1)
    deficit = np.where([a in open_areas for a in session_areas], target - observed, -np.inf)
    return session_areas[int(np.argmax(deficit))]


def competence_allowed(
    ab: AreaBank, given: np.ndarray, available: np.ndarray, cfg_balancing: ContentBalancing
) -> np.ndarray:
    """Kingsbury–Zara on DigComp competences within an area: only items of the competence with the largest target
    minus observed proportion (among competences with items left) stay available.

    Args:
        ab: the area's items (``competence`` codes, −1 = none given: always allowed).
        given: ``(..., J_a)`` True for items already answered.
        available: ``(..., J_a)`` True for items that could be chosen.
        cfg_balancing: the :class:`~digiskill.cat.config.ContentBalancing` block.

    Returns:
        ``(..., J_a)`` the allowed items (a subset of ``available``; ``available`` itself when nothing is balanced).
    """
    n_comp = len(ab.competences)
    if not cfg_balancing.competences or n_comp < 2 or ab.competence is None:
        return available
    onehot = (ab.competence[:, None] == np.arange(n_comp)).astype(np.float64)  # (J_a, C)
    targets = cfg_balancing.competence_targets
    if targets:
        fill = float(np.mean(list(targets.values())))
        raw = np.array([targets.get(c, fill) for c in ab.competences])
    else:
        raw = np.ones(n_comp)
    counts = given.astype(np.float64) @ onehot  # (..., C)
    observed = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1.0)
    has_items = (available.astype(np.float64) @ onehot) > 0
    deficit = np.where(has_items, raw / raw.sum() - observed, -np.inf)
    chosen = np.argmax(deficit, axis=-1)  # ties: the first competence id in sorted order
    any_left = has_items.any(axis=-1)
    keep = (ab.competence == np.expand_dims(chosen, -1)) | (ab.competence < 0)
    return np.where(np.expand_dims(any_left, -1), available & keep, available)


def choose(
    bank: CatBank,
    session_areas: Sequence[str | None],
    history: History,
    finished: Sequence[str | None],
    excluded: np.ndarray,
    seed: int,
    step: int,
) -> Choice:
    """The next item of a test (see the module notes)."""
    cfg = bank.config
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
    counts = {
        a: int(c)
        for a, c in zip(
            bank.area_names, np.bincount(bank.area_code[history.items], minlength=len(bank.area_names)), strict=True
        )
    }
    area = kingsbury_zara(open_areas, session_areas, counts, cfg.balancing.targets)
    ab = bank.areas[area]
    local, codes = history.of_area(bank, area)
    fit = fit_area(ab, bank.grid, local, codes, cfg.estimator)
    given = np.zeros(ab.n_items, dtype=bool)
    given[local] = True
    allowed = competence_allowed(ab, given, masks[area], cfg.balancing)
    return _select_in_area(bank, ab, fit, allowed, seed, step, area)


def _select_in_area(
    bank: CatBank, ab: AreaBank, fit: AreaFit, available: np.ndarray, seed: int, step: int, area: str | None
) -> Choice:
    cfg = bank.config
    rule = cfg.selection.rule
    started = fit.n > 0
    theta = fit.theta if started else cfg.start.theta
    lower_is_better = False
    if rule == "cut_info":
        score, name = ab.cut_info.copy(), f"cut_info (at {ab.cut:g})"
    elif rule == "astrat":
        n_strata = cfg.selection.strata
        stage = min(n_strata - 1, fit.n * n_strata // cfg.stopping.max_items_per_area)
        dist, used = astrat_distance(ab.b_center, ab.stratum, available, stage, theta)
        score, name, lower_is_better = -dist, f"astrat (stratum {used + 1} of {n_strata})", True
    elif rule == "mfi" or not started:
        if ab.dichotomous:
            it = ab.items
            score = dichotomous_information(it.a, it.b[:, 0], it.c, it.d, theta)
        else:
            t = category_terms(theta, ab.items, with_logp=False)
            score = fisher_information(t.prob, t.dlogp)
        name = "mfi"
    elif rule in ("kl", "klp"):
        t = category_terms(theta, ab.items)
        log_w = fit.loglik + bank.grid.log_integration if rule == "kl" else fit.log_post
        score, name = kullback_leibler(t.prob, finite_logp(t.logp), ab.logp, log_w), rule
    else:  # mepv
        t = category_terms(theta, ab.items, with_logp=False)
        epv = expected_posterior_variance(t.prob, ab.prob, bank.grid.points, fit.log_post)
        score, name, lower_is_better = -epv, "mepv", True
    if not started:
        name = f"start: {name} at θ = {theta:g}"
    score = np.where(available, score, -np.inf)
    local, set_aside, name = _apply_exposure(cfg, ab, score, available, seed, step, name)
    candidates = _top(score, cfg.selection.candidates_logged)
    sign = -1.0 if lower_is_better else 1.0
    return Choice(
        item=int(ab.index[local]),
        area=area,
        rule=name,
        theta=float(theta),
        fit=fit,
        candidates=tuple((int(ab.index[c]), float(sign * score[c])) for c in candidates),
        set_aside=tuple(int(ab.index[s]) for s in set_aside),
    )


def _top(score: np.ndarray, m: int) -> np.ndarray:
    """Positions of the ``m`` highest finite scores, best first (ties: bank order)."""
    finite = np.isfinite(score)
    m = min(m, int(finite.sum()))
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-score, m - 1)[:m] if m < score.size else np.arange(score.size)
    part = part[np.isfinite(score[part])]
    return part[np.lexsort((part, -score[part]))][:m]


def _apply_exposure(
    cfg: CatConfig, ab: AreaBank, score: np.ndarray, available: np.ndarray, seed: int, step: int, name: str
) -> tuple[int, np.ndarray, str]:
    method = cfg.exposure.method
    if method == "randomesque":
        top = _top(score, cfg.exposure.top_k)
        u = np.random.default_rng([seed, step]).random()
        return int(top[int(u * top.size)]), np.zeros(0, dtype=np.int64), f"{name}, randomesque top {top.size}"
    best = int(np.argmax(score))
    if method == "sympson_hetter":
        u = np.random.default_rng([seed, step]).random(ab.n_items)
        accept = available & (u < ab.sh)
        if accept.any():
            best = int(np.argmax(np.where(accept, score, -np.inf)))
            idx = np.arange(score.size)
            above = (score > score[best]) | ((score == score[best]) & (idx < best))
            return best, np.flatnonzero(available & ~accept & above), f"{name}, sympson-hetter"
        return best, np.zeros(0, dtype=np.int64), f"{name}, sympson-hetter (all declined: best given)"
    return best, np.zeros(0, dtype=np.int64), name
