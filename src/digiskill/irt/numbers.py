"""Small numeric conversions at the edge of the math: NaN/±inf become None where a file or JSON has no number."""

from __future__ import annotations

import math


def finite_or_none(value: float | None) -> float | None:
    """``float(value)`` when it is a finite number, else None (NaN, ±inf or None: "not estimated")."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
