"""Calibration speed. Run on demand:

    .venv/bin/python -m pytest benchmarks/test_bench_calibrate.py --benchmark-only

Target on the 2-core reference machine: 2PL, 100,000 persons x 100 items, complete data, under 3 s (R mirt needs about
49 s of CPU on the same data; see the calibration issue).
"""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.calibrate import calibrate

from .conftest import simulate_codes


@pytest.fixture(scope="module")
def complete_100k(bank_2pl_100):
    return simulate_codes(bank_2pl_100, 100_000, missing=0.0, seed=3)


@pytest.mark.benchmark(group="calibrate-2pl-100k")
def test_calibrate_2pl_100k_by_100(benchmark, bank_2pl_100, complete_100k) -> None:
    benchmark.extra_info.update(n_persons=100_000, n_items=100, model="2pl", se="none")
    result = benchmark.pedantic(calibrate, args=(complete_100k, "2pl"), kwargs={"se": "none"}, rounds=3, iterations=1)
    assert result.converged
    rmse_a = np.sqrt(np.mean((result.params.a - bank_2pl_100.a) ** 2))
    rmse_b = np.sqrt(np.mean((result.params.b[:, 0] - bank_2pl_100.b[:, 0]) ** 2))
    benchmark.extra_info.update(iterations=result.iterations, loglik=result.loglik, rmse_a=rmse_a, rmse_b=rmse_b)
    assert rmse_a < 0.03 and rmse_b < 0.03
