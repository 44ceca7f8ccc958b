"""Shared data for the benchmarks: generated once per session, outside the timed code."""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.irt import ItemArrays, probability


def simulate_codes(bank: ItemArrays, n: int, missing: float, seed: int, block: int = 100_000) -> np.ndarray:
    """Dichotomous responses as int16 codes (-1 = not presented), generated block by block to bound memory."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, bank.n_items), dtype=np.int16)
    for start in range(0, n, block):
        m = min(block, n - start)
        theta = rng.normal(size=m)
        p1 = probability(theta, bank)[..., 1]
        x = (rng.random(p1.shape) < p1).astype(np.int16)
        x[rng.random(p1.shape) < missing] = -1
        out[start : start + m] = x
    return out


@pytest.fixture(scope="session")
def bank_2pl_100() -> ItemArrays:
    rng = np.random.default_rng(20261128)
    return ItemArrays.dichotomous(rng.lognormal(0, 0.3, 100), rng.normal(0, 1, 100))
