"""Per-simulee random streams, vectorised: row ``i`` equals ``numpy.random.default_rng([seeds[i], step])``'s draws."""

from __future__ import annotations

import numpy as np


def seeded_uniforms(seeds: np.ndarray, step: int, size: int) -> np.ndarray:
    """``(N, size)``: row ``i`` is ``numpy.random.default_rng([seeds[i], step]).random(size)``."""
    out = np.empty((len(seeds), size))
    for i, s in enumerate(seeds):
        out[i] = np.random.default_rng([int(s), step]).random(size)
    return out
