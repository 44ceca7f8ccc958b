"""The adaptive test a person takes (``digiskill take``), and how long it is announced to be.

* :func:`take_config`: stop an area at SE ≤ :data:`SE_TARGET` (0.45) once it has at least
  ``min(MIN_ITEMS_PER_AREA, max_items)`` answers, and after ``max_items`` answers at the latest. A maximum below the
  usual minimum of 4 lowers the minimum with it, so every maximum from 1 up gives a valid configuration.
* :func:`expected_length`: about how many items the whole test will have, the items so far plus, for each open
  area, :func:`typical_items_per_area` (:data:`TYPICAL_ITEMS_PER_AREA`; a multidimensional test
  :data:`TYPICAL_JOINT_ITEMS_PER_AREA` plus its share of :data:`JOINT_EXTRA_ITEMS`) bounded by the area's minimum and
  maximum (and the session maximum).
* :func:`announced_range`: the usual number of items announced before a test (the web pages' start page).
* :func:`expected_minutes`: the announced duration, :data:`SECONDS_PER_ITEM` per item rounded to 5 minutes, at
  least 5.
"""

from __future__ import annotations

from ..errors import InputError, Problem
from .config import CatConfig, StoppingRules
from .session import Session

SE_TARGET = 0.45
"""SE at which an area of ``take`` ends (reliability ≈ 0.8: enough to tell DigComp levels about one SD apart)."""
MIN_ITEMS_PER_AREA = 4
"""Fewest answers before an area may end on its SE (lowered to the maximum when that is smaller)."""
DEFAULT_MAX_ITEMS_PER_AREA = 10
"""Most items per area when none is given."""
SECONDS_PER_ITEM = 45
"""A rough reading-and-answering time per item, for the length announced at the start."""
TYPICAL_ITEMS_PER_AREA = 6
"""About what the SE target 0.45 needs on the default bank (35 items for 6 areas)."""
TYPICAL_JOINT_ITEMS_PER_AREA = 4
JOINT_EXTRA_ITEMS = 3
"""A multidimensional test takes about 4 items per area plus 3 in all, because every answer informs every area: with
``examples/multidim/joint.yaml`` (SE ≤ 0.44, 2–10 items an area) on the default bank, simulees with θ ~ N(0, R)
took 6.2, 11.5, 16.0, 19.9, 23.8 and 27.0 items on average for 1 to 6 areas (400 simulees for each of three area
subsets, 1,000 for all six; the 10th–90th percentiles of six areas: 25–30), where the standard test took 6.3, 13.1,
19.3, 25.8, 31.8 and 37.2 (``benchmarks/joint_length.py``)."""
ANNOUNCED_SPREAD = 0.2
"""A multidimensional test is announced as its typical length ± 20 % (6 areas: 22–32 items)."""


def take_config(max_items: int = DEFAULT_MAX_ITEMS_PER_AREA) -> CatConfig:
    """The configuration of ``take`` with at most ``max_items`` items per area (see the module notes).

    Raises:
        InputError: ``max_items`` is not a whole number of at least 1.
    """
    if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
        raise InputError(Problem(f"max_items_per_area must be a whole number of at least 1, got {max_items!r}"))
    stopping = StoppingRules(
        se_target=SE_TARGET, min_items_per_area=min(MIN_ITEMS_PER_AREA, max_items), max_items_per_area=max_items
    )
    return CatConfig(stopping=stopping)


def typical_items_per_area(config: CatConfig, n_areas: int) -> float:
    """About how many items an area of a test of ``n_areas`` areas takes, within the area's minimum and maximum:
    :data:`TYPICAL_ITEMS_PER_AREA`, or for a multidimensional test :data:`TYPICAL_JOINT_ITEMS_PER_AREA` plus
    :data:`JOINT_EXTRA_ITEMS` shared by the areas."""
    stop = config.stopping
    typical: float = TYPICAL_ITEMS_PER_AREA
    if config.dimensionality == "multidimensional":
        typical = TYPICAL_JOINT_ITEMS_PER_AREA + JOINT_EXTRA_ITEMS / max(n_areas, 1)
    if stop.max_items_per_area is not None:
        typical = min(typical, stop.max_items_per_area)
    return max(typical, stop.min_items_per_area)


def expected_length(session: Session) -> int:
    """About how many items the whole test will have: the items so far plus a typical count for each open area,
    and at least one more than so far while the test goes on."""
    stop = session.config.stopping
    typical = typical_items_per_area(session.config, len(session.areas))
    total = round(sum(a.n_items if a.finished else max(a.n_items + 1, typical) for a in session.areas))
    if stop.max_total_items is not None:
        total = min(total, stop.max_total_items)
    return max(total, len(session.steps) + (0 if session.finished else 1))


def announced_range(config: CatConfig, n_areas: int) -> tuple[int, int]:
    """The usual number of items of a test of ``n_areas`` areas, announced before it starts: from every area's
    minimum to its maximum (20 without one) for unidimensional tests; for a multidimensional test, whose areas stop
    together much earlier than at their maxima, the typical length ± :data:`ANNOUNCED_SPREAD` within those bounds.
    Both within the session maximum."""
    rules = config.stopping
    lo = n_areas * rules.min_items_per_area
    hi = n_areas * (rules.max_items_per_area or 20)
    if config.dimensionality == "multidimensional":
        typical = n_areas * typical_items_per_area(config, n_areas)
        lo, hi = max(lo, round(typical * (1 - ANNOUNCED_SPREAD))), min(hi, round(typical * (1 + ANNOUNCED_SPREAD)))
    if rules.max_total_items:
        lo, hi = min(lo, rules.max_total_items), min(hi, rules.max_total_items)
    return lo, hi


def expected_minutes(n_items: int) -> int:
    """The announced duration of a test of ``n_items`` items: :data:`SECONDS_PER_ITEM` each, rounded to 5 minutes,
    at least 5."""
    return max(5, round(n_items * SECONDS_PER_ITEM / 60 / 5) * 5)
