"""From a posterior on the θ grid to level probabilities and a certified level.

The posterior of a person's θ in an area is known on a grid of equally spaced points (the quadrature of the
estimate). Each grid point's probability mass is spread evenly over its cell ``[θ_q − h/2, θ_q + h/2]``, so
``P(θ ≥ c | responses)`` is a continuous, monotone function of the cut ``c`` rather than a step function of the grid.

Level rule (DESIGN.md): the certified level in an area is the highest level ``L`` with
``P(θ ≥ c_L | responses) ≥ 0.8``; below every cut, no level is certified (``None``).
"""

from __future__ import annotations

import numpy as np

CERTIFY_PROBABILITY = 0.8


def prob_at_least(points: np.ndarray, posterior: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``P(θ ≥ c)`` for each cut ``c`` (last axis of the result), from posteriors ``(..., Q)`` on equally spaced points.

    Args:
        points: ``(Q,)`` equally spaced grid.
        posterior: ``(..., Q)`` probabilities summing to 1 over the last axis.
        cuts: ``(C,)`` cut scores.

    Returns:
        ``(..., C)``.
    """
    points = np.asarray(points, dtype=float)
    h = points[1] - points[0]
    lower = points - h / 2  # cell q covers [lower_q, lower_q + h]
    share_above = np.clip((lower[None, :] + h - np.asarray(cuts, dtype=float)[:, None]) / h, 0.0, 1.0)  # (C, Q)
    return np.asarray(posterior) @ share_above.T


def certified_level(prob_by_level: dict[int, float], threshold: float = CERTIFY_PROBABILITY) -> int | None:
    """The highest level whose ``P(θ ≥ cut)`` reaches ``threshold``; None when no level does."""
    reached = [level for level, p in prob_by_level.items() if p >= threshold]
    return max(reached) if reached else None


SUPPORT_PROBABILITY = 0.5
"""A multidimensional test never certifies a level that the area's own answers make less likely than not."""


def bounded_levels(joint: np.ndarray, proven: np.ndarray, supported: np.ndarray) -> np.ndarray:
    """The certified level of a multidimensional test's area: the joint-posterior level kept within the area's own
    evidence, ``min(max(joint, proven), supported)`` (:mod:`digiskill.results.adaptive`).

    Args:
        joint: highest level with ``P(θ ≥ c | all the test's answers) ≥ 0.8``.
        proven: highest level with ``P(θ ≥ c | the area's own answers) ≥ 0.8``.
        supported: highest level with ``P(θ ≥ c | the area's own answers) ≥ 0.5`` (so ``proven ≤ supported``).

    Arrays of any (equal) shape, 0 where no level is reached.
    """
    return np.minimum(np.maximum(joint, proven), supported)


def bounded_probability(joint: float, own: float) -> float:
    """A multidimensional test's ``P(θ ≥ c)`` for screening, kept within the area's own evidence as the certified
    level is: ``min(max(joint, own), own + (0.8 − 0.5))``, where ``joint`` is the probability from all the test's
    answers and ``own`` from the area's own answers alone.

    It reaches 0.8 exactly when the level rule of :func:`bounded_levels` certifies the level ``c`` belongs to
    (``joint ≥ 0.8`` or ``own ≥ 0.8``, and ``own ≥ 0.5``), and it is continuous in both: other areas can lift an
    area by at most 0.3 above its own evidence, and its own evidence is never pulled down by them.
    """
    return min(max(joint, own), own + (CERTIFY_PROBABILITY - SUPPORT_PROBABILITY))


def bounded_level(joint: int | None, proven: int | None, supported: int | None) -> int | None:
    """:func:`bounded_levels` of one area, with None for no level."""
    level = int(bounded_levels(np.array(joint or 0), np.array(proven or 0), np.array(supported or 0)))
    return level or None
