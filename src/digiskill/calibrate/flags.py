"""The one definition of when an item estimate stands out, in two tiers.

* Review flags (:func:`item_flags`, shown in the calibration report): an item worth a second look before it goes
  into a bank: a weak (``a < SLOPE_LOW``) or very steep (``a > SLOPE_HIGH``) slope, a difficulty, threshold or step
  beyond ``±LOCATION_LIMIT``, or a slope SE above half the slope.
* Estimation warnings (:func:`digiskill.calibrate.calibrate` warns): an estimate at or beyond a plausible bound, a
  free slope ``<= 0`` or above ``SLOPE_WARN``, a location beyond ``±LOCATION_WARN`` (outside the ±6 grid), which is
  probably not a usable maximum.

The warning bounds lie beyond the review bounds, so that every item calibrate warns about is also flagged in the
report.
"""

from __future__ import annotations

import numpy as np

from ..irt.items import ItemArrays

SLOPE_LOW, SLOPE_HIGH = 0.3, 4.0  # flag slopes outside this range
LOCATION_LIMIT = 4.0  # flag difficulties / thresholds beyond ±this
SLOPE_WARN = 20.0  # warn about a free slope above this, or not positive
LOCATION_WARN = 10.0  # warn about a difficulty/threshold/step beyond ±this (outside the ±6 grid)


def item_flags(params: ItemArrays, se: ItemArrays | None = None) -> list[str]:
    """Plain-language review flags per item (empty string when nothing stands out)."""
    p = params
    flags = []
    for j in range(p.n_items):  # text per item, for the report
        f = []
        if p.a[j] < SLOPE_LOW:
            f.append(f"weak slope (a < {SLOPE_LOW})")
        if p.a[j] > SLOPE_HIGH:
            f.append(f"very steep slope (a > {SLOPE_HIGH})")
        b = p.b[j, : int(p.n_cat[j]) - 1]
        if np.any(np.abs(b) > LOCATION_LIMIT):
            f.append(f"location beyond ±{LOCATION_LIMIT}")
        if se is not None and np.isfinite(se.a[j]) and se.a[j] > 0.5 * p.a[j]:
            f.append("imprecise slope (SE > a/2)")
        flags.append("; ".join(f))
    return flags
