"""Scoring speed (issue: foundation). Run on demand:

    .venv/bin/python -m pytest benchmarks/test_bench_scoring.py --benchmark-only

Targets on the 2-core reference machine: EAP for 1,000,000 persons x 100 2PL items with 50 % missing under 10 s;
ML and WLE for 100,000 persons x 100 items under 5 s. girth (a peer) is timed on the same data where it has the
estimator. The joint (six-area) EAP is timed on a sparse log of the default bank (about 24 of 288 items answered).
"""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.irt import eap, ml_estimate, wle_estimate

from .conftest import simulate_codes
from .whole_command import DEFAULT_BANK, multidim_log


@pytest.fixture(scope="module")
def one_million(bank_2pl_100):
    return simulate_codes(bank_2pl_100, 1_000_000, missing=0.5, seed=1)


@pytest.fixture(scope="module")
def hundred_thousand(bank_2pl_100):
    return simulate_codes(bank_2pl_100, 100_000, missing=0.5, seed=2)


@pytest.mark.benchmark(group="score-eap-1M")
def test_eap_one_million_persons(benchmark, bank_2pl_100, one_million) -> None:
    benchmark.extra_info.update(n_persons=1_000_000, n_items=100, missing=0.5)
    result = benchmark.pedantic(eap, args=(one_million, bank_2pl_100), rounds=1, iterations=1)
    assert np.all(np.isfinite(result.theta)) and 0.2 < result.se.mean() < 0.6


@pytest.mark.benchmark(group="score-point-100k")
@pytest.mark.parametrize("estimator", [ml_estimate, wle_estimate], ids=["ml", "wle"])
def test_point_estimates_100k(benchmark, bank_2pl_100, hundred_thousand, estimator) -> None:
    benchmark.extra_info.update(n_persons=100_000, n_items=100, missing=0.5)
    result = benchmark.pedantic(estimator, args=(hundred_thousand, bank_2pl_100), rounds=1, iterations=1)
    assert np.all(np.isfinite(result.theta))


@pytest.mark.benchmark(group="score-peer-girth-10k")
@pytest.mark.parametrize("engine", ["digiskill", "girth"])
def test_eap_vs_girth(benchmark, bank_2pl_100, hundred_thousand, engine) -> None:
    """girth's ability_eap on complete data (it has no missing-data path in its EAP), 10,000 persons."""
    girth = pytest.importorskip("girth")
    codes = np.abs(hundred_thousand[:10_000])  # complete: treat missing as 1 for the comparison
    benchmark.extra_info.update(n_persons=10_000, n_items=100, engine=engine)
    if engine == "digiskill":
        res = benchmark.pedantic(eap, args=(codes, bank_2pl_100), rounds=3, iterations=1)
        theta = res.theta
    else:
        data = codes.T.astype(int)
        theta = benchmark.pedantic(
            girth.ability_eap, args=(data, bank_2pl_100.b[:, 0], bank_2pl_100.a), rounds=1, iterations=1
        )
    assert np.corrcoef(theta, eap(codes, bank_2pl_100).theta)[0, 1] > 0.99


@pytest.fixture(scope="module")
def multidim_1000():
    from digiskill.bank import load_parameter_set
    from digiskill.irt.multidim import LatentNormal

    params = load_parameter_set(DEFAULT_BANK)
    areas, corr = params.latent_correlation()
    codes, ids = multidim_log(1_000, seed=17)
    area_ids = [[i.id for i in params.items if i.area == a] for a in areas]
    blocks = [codes[:, np.isin(ids, a)] for a in area_ids]
    return blocks, [params.to_arrays(a) for a in area_ids], LatentNormal(corr)


@pytest.mark.benchmark(group="score-joint-eap-1000")
def test_joint_eap_sparse_six_areas(benchmark, multidim_1000) -> None:
    """Joint QMC EAP (2,048 points) of 1,000 persons, six areas, 2-6 answers an area: the cost of answered items."""
    from digiskill.irt.multidim import joint_eap, joint_map

    codes, items, prior = multidim_1000
    benchmark.extra_info.update(n_persons=1_000, n_items=288, answered_per_person=int((codes[0] >= 0).sum() / 1000))
    result = benchmark.pedantic(joint_eap, args=(codes, items, prior), rounds=3, iterations=1)
    mode = joint_map(codes, items, prior)
    assert np.abs(result.theta - mode.theta).max() < 0.3 and np.all((result.se > 0.3) & (result.se < 1.0))
