"""Quadrature grids for integrating over the latent trait.

The default is R mirt's: 61 equally spaced points on [−6, 6] with weights proportional to the N(0, 1) density and
summing to 1 (rectangular rule). The trapezoid rule halves the two end weights, which is catR's convention
(33 points on [−4, 4]) for EAP estimates.

Only numpy here: this module is imported at the start of every command (``scipy.stats`` alone takes about 0.5 s to
import).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .special import logsumexp

DEFAULT_POINTS = 61
DEFAULT_RANGE = (-6.0, 6.0)


@dataclass(frozen=True, eq=False)
class Quadrature:
    """Points ``θ_q`` and normalised log weights ``log w_q`` (``Σ w_q = 1``) of a latent distribution."""

    points: np.ndarray
    log_weights: np.ndarray

    def __post_init__(self) -> None:
        if self.points.ndim != 1 or self.points.shape != self.log_weights.shape or self.points.size < 2:
            raise ValueError("Quadrature needs 1-D points and log_weights of the same length (at least 2)")

    @classmethod
    def normal(
        cls,
        n_points: int = DEFAULT_POINTS,
        bounds: tuple[float, float] = DEFAULT_RANGE,
        mean: float = 0.0,
        sd: float = 1.0,
        rule: Literal["rectangular", "trapezoid"] = "rectangular",
    ) -> Quadrature:
        """Equally spaced points on ``bounds`` with N(mean, sd²) weights."""
        if n_points < 2:
            raise ValueError(f"n_points must be at least 2, got {n_points}")
        if not bounds[0] < bounds[1]:
            raise ValueError(f"bounds must be increasing, got {bounds}")
        if not sd > 0:
            raise ValueError(f"sd must be positive, got {sd}")
        points = np.linspace(bounds[0], bounds[1], n_points)
        log_w = -0.5 * ((points - mean) / sd) ** 2  # the N(mean, sd²) log density up to a constant, which cancels
        if rule == "trapezoid":
            log_w[[0, -1]] += np.log(0.5)
        elif rule != "rectangular":
            raise ValueError(f"rule must be 'rectangular' or 'trapezoid', got {rule!r}")
        return cls(points, log_w - logsumexp(log_w))

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def n_points(self) -> int:
        return self.points.size

    def mean_sd(self) -> tuple[float, float]:
        """Mean and SD of the discrete distribution the grid represents."""
        w = self.weights
        m = float(w @ self.points)
        return m, float(np.sqrt(w @ (self.points - m) ** 2))
