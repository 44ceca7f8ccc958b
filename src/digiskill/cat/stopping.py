"""Stopping rules for ``N`` tests at once (see :class:`~digiskill.cat.config.StoppingRules`). A session calls them
with N = 1, the simulation with N simulees.

Rule names written to the step log: ``max_items_area``, ``se_target``, ``ci_classification``, ``sprt``,
``items_exhausted`` (per area) and ``max_total_items``, ``all_areas_finished``, ``items_exhausted`` (session).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log
from statistics import NormalDist  # the normal quantile without importing scipy at start

import numpy as np

from .arrays import AreaBank
from .config import StoppingRules


@dataclass(frozen=True, eq=False)
class AreaStops:
    """Per test, the rule that ended the area (None: it goes on) and the decision against the cut (None: none)."""

    rule: np.ndarray
    classification: np.ndarray


@dataclass(frozen=True, eq=False)
class Stopper:
    """The stopping rules of :class:`~digiskill.cat.config.StoppingRules`, for ``N`` tests."""

    rules: StoppingRules

    def area(
        self,
        area: AreaBank,
        n: np.ndarray,
        theta: np.ndarray,
        se: np.ndarray,
        llr: np.ndarray,
        n_left: np.ndarray,
    ) -> AreaStops:
        """Evaluate the area's rules after its latest answer.

        Args:
            area: the area (its cut score).
            n, theta, se: ``(N,)`` answers in the area and the current estimate.
            llr: ``(N,)`` SPRT log-likelihood ratio ``log L(cut + δ) − log L(cut − δ)`` of the area's answers.
            n_left: ``(N,)`` items still available in the area.
        """
        r = self.rules
        above = below = np.zeros(n.size, dtype=bool)
        if area.cut is not None and r.classification == "ci":
            z = NormalDist().inv_cdf(1.0 - r.alpha / 2.0)
            ok = np.isfinite(se)  # an interval that ends exactly at the cut counts as decided (catR's ≥ and ≤)
            above, below = ok & (theta - z * se >= area.cut), ok & (theta + z * se <= area.cut)
        elif area.cut is not None and r.classification == "sprt":
            above = llr >= log((1.0 - r.beta) / r.alpha)
            below = llr <= log(r.beta / (1.0 - r.alpha))
        decided = _DECISIONS[above.astype(np.int64) + 2 * (below & ~above)]
        none = np.zeros(n.size, dtype=bool)
        at_max = n >= r.max_items_per_area if r.max_items_per_area is not None else none
        enough = (n >= r.min_items_per_area) & (n > 0)
        precise = enough & (se <= r.se_target) if r.se_target is not None else none
        classified = "ci_classification" if r.classification == "ci" else "sprt"
        rule = _first(
            [at_max, precise, enough & (above | below), n_left == 0],
            ("max_items_area", "se_target", classified, "items_exhausted"),
        )
        return AreaStops(rule, decided)

    def session(self, n_total: np.ndarray, all_finished: np.ndarray, any_left: np.ndarray) -> np.ndarray:
        """``(N,)`` the rule that ends each session (None: it goes on): ``n_total`` answers, whether every area has
        ended, whether any open area has an item left."""
        cap = self.rules.max_total_items
        at_max = n_total >= cap if cap is not None else np.zeros(n_total.size, dtype=bool)
        return _first([at_max, all_finished, ~any_left], ("max_total_items", "all_areas_finished", "items_exhausted"))


_DECISIONS = np.array([None, "above", "below"], dtype=object)


def _first(conditions: list[np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """``(N,)`` per test the name of the first condition that holds, None where none does (a lookup by code:
    ``np.select`` on object arrays costs tens of µs for one session)."""
    held = np.stack(conditions)
    code = np.where(held.any(axis=0), held.argmax(axis=0) + 1, 0)
    return np.array([None, *names], dtype=object)[code]


def sprt_llr(area: AreaBank, local: np.ndarray, codes: np.ndarray) -> float:
    """``log L(cut + δ) − log L(cut − δ)`` of one test's answers in the area (0 without a cut)."""
    if area.sprt_logp is None or local.size == 0:
        return 0.0
    lp = area.sprt_logp[:, local, codes].sum(axis=1)
    return float(lp[1] - lp[0])
