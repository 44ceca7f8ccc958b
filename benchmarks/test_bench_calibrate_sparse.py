"""Calibration speed on a sparse design (calibration issue, "Speed"). Run on demand:

    .venv/bin/python -m pytest benchmarks/test_bench_calibrate_sparse.py --benchmark-only --benchmark-autosave

Design: 100,000 persons x 2,000 2PL items, each person answers 40 items drawn at random without replacement (2 % of
the cells), θ ~ N(0, 1). Target on the 2-core reference machine: under 60 s. No peer handles this design well (girth
was reported at days for 11,785 x 36,259), so no peer runs here.

The responses are generated outside the timed code as int16 codes with -1 for "not presented" (400 MB), block by
block: only the 40 answered cells of each person are ever evaluated, so no float N x J array is built.
"""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.calibrate import calibrate
from digiskill.irt import ItemArrays

N_PERSONS, N_ITEMS, N_ANSWERS = 100_000, 2_000, 40
BANK_SEED, DATA_SEED = 20261129, 7
BLOCK = 10_000


def simulate_sparse_codes(
    bank: ItemArrays, n: int, answers: int, seed: int, block: int = BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """2PL responses for ``n`` persons who each answer ``answers`` random items; returns (codes, true θ)."""
    rng = np.random.default_rng(seed)
    j = bank.n_items
    a, b = bank.a, bank.b[:, 0]
    codes = np.full((n, j), -1, dtype=np.int16)
    theta = rng.normal(size=n)
    for start in range(0, n, block):
        m = min(block, n - start)
        # `answers` distinct items per person: the positions of the smallest of j uniform keys
        items = np.argpartition(rng.random((m, j), dtype=np.float32), answers, axis=1)[:, :answers]
        p = 1.0 / (1.0 + np.exp(-a[items] * (theta[start : start + m, None] - b[items])))
        x = (rng.random(p.shape) < p).astype(np.int16)
        np.put_along_axis(codes[start : start + m], items, x, axis=1)
    return codes, theta


@pytest.fixture(scope="module")
def bank_2pl_2000() -> ItemArrays:
    rng = np.random.default_rng(BANK_SEED)
    return ItemArrays.dichotomous(rng.lognormal(0, 0.3, N_ITEMS), rng.normal(0, 1, N_ITEMS))


@pytest.fixture(scope="module")
def sparse_100k(bank_2pl_2000) -> np.ndarray:
    codes, _ = simulate_sparse_codes(bank_2pl_2000, N_PERSONS, N_ANSWERS, DATA_SEED)
    return codes


@pytest.mark.benchmark(group="calibrate-2pl-sparse-100k-2000")
def test_calibrate_2pl_sparse_100k_by_2000(benchmark, bank_2pl_2000, sparse_100k) -> None:
    benchmark.extra_info.update(
        n_persons=N_PERSONS,
        n_items=N_ITEMS,
        answers_per_person=N_ANSWERS,
        bank_seed=BANK_SEED,
        data_seed=DATA_SEED,
        model="2pl",
        se="none",
        design="sparse",
    )
    result = benchmark.pedantic(
        calibrate,
        args=(sparse_100k, "2pl"),
        kwargs={"se": "none", "design": "sparse"},
        rounds=1,
        iterations=1,
    )
    assert result.converged
    rmse_a = float(np.sqrt(np.mean((result.params.a - bank_2pl_2000.a) ** 2)))
    rmse_b = float(np.sqrt(np.mean((result.params.b[:, 0] - bank_2pl_2000.b[:, 0]) ** 2)))
    benchmark.extra_info.update(iterations=result.iterations, loglik=result.loglik, rmse_a=rmse_a, rmse_b=rmse_b)
    # About 2,000 answers per item (40 of 2,000 items per person): this run gives RMSEs of 0.075 (a) and 0.086 (b),
    # with mean errors under 0.002, so the bounds leave room for other seeds but catch a wrong scale or sign.
    assert rmse_a < 0.10 and rmse_b < 0.12
