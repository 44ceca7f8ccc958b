"""Stopping rules of one area (see :class:`~digiskill.cat.config.StoppingRules`), on plain numbers.

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


@dataclass(frozen=True)
class AreaStop:
    """Which rule ended the area (None: it goes on) and the classification against the cut, if decided."""

    rule: str | None
    classification: str | None  # "above" / "below" the cut score


def classify_ci(theta: float, se: float, cut: float, alpha: float) -> str | None:
    """``above``/``below`` when the two-sided ``1 − alpha`` interval ``θ̂ ± z·SE`` lies on one side of the cut; an
    interval that ends exactly at the cut counts as decided (catR's ``checkStopRule`` uses ``≥`` and ``≤``)."""
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    if theta - z * se >= cut:
        return "above"
    if theta + z * se <= cut:
        return "below"
    return None


def sprt_llr(area: AreaBank, local: np.ndarray, codes: np.ndarray) -> float:
    """``log L(cut + δ) − log L(cut − δ)`` of the area's answers."""
    if area.sprt_logp is None or local.size == 0:
        return 0.0
    lp = area.sprt_logp[:, local, codes].sum(axis=1)
    return float(lp[1] - lp[0])


def classify_sprt(llr: float, alpha: float, beta: float) -> str | None:
    """Wald's SPRT decision: ``above`` when ``llr ≥ log((1−β)/α)``, ``below`` when ``llr ≤ log(β/(1−α))``."""
    if llr >= log((1.0 - beta) / alpha):
        return "above"
    if llr <= log(beta / (1.0 - alpha)):
        return "below"
    return None


def area_stop(
    rules: StoppingRules,
    area: AreaBank,
    local: np.ndarray,
    codes: np.ndarray,
    theta: float,
    se: float,
    n_left: int,
) -> AreaStop:
    """Evaluate the area's rules after its latest answer (``n_left``: items still available in the area)."""
    n = int(local.size)
    decided = None
    if area.cut is not None and rules.classification == "ci" and np.isfinite(se):
        decided = classify_ci(theta, se, area.cut, rules.alpha)
    elif area.cut is not None and rules.classification == "sprt":
        decided = classify_sprt(sprt_llr(area, local, codes), rules.alpha, rules.beta)
    if rules.max_items_per_area is not None and n >= rules.max_items_per_area:
        return AreaStop("max_items_area", decided)
    if n >= rules.min_items_per_area and n > 0:
        if rules.se_target is not None and se <= rules.se_target:
            return AreaStop("se_target", decided)
        if decided is not None:
            return AreaStop("ci_classification" if rules.classification == "ci" else "sprt", decided)
    if n_left == 0:
        return AreaStop("items_exhausted", decided)
    return AreaStop(None, decided)
