"""Adaptive testing speed (issue 3, "Speed"). Run on demand:

    .venv/bin/python -m pytest benchmarks/test_bench_cat.py --benchmark-only

Targets on the 2-core reference machine: one step (estimate from the answers so far + choose the next item) on a
10,000-item 2PL bank under 1 ms; 10,000 simulated tests (SE <= 0.3 or 30 items, MFI + EAP) on a 1,000-item 2PL bank
under 60 s. Banks: a ~ lognormal(0, 0.25), b ~ N(0, 1) (:func:`digiskill.cat.bench.synthetic_bank`). The peers
(catsim, adaptivetesting) are compared on one bank by ``benchmarks/compare_cat.py``: their simulators run one test
at a time and would take minutes to hours here.
"""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.cat import (
    CatBank,
    CatConfig,
    StartRule,
    StoppingRules,
    answer,
    next_item,
    next_step,
    start_session,
)
from digiskill.cat.bench import synthetic_bank
from digiskill.cat.simulate import generate_responses, simulate

STEP_ITEMS, STEP_ANSWERED = 10_000, 20
SIM_ITEMS, SIM_N, SE_TARGET, MAX_ITEMS = 1_000, 10_000, 0.3, 30


# ------------------------------------------------------------------------------------------------ one step
@pytest.fixture(scope="module")
def step_case():
    """A 10,000-item bank prepared for MFI + EAP, and a session after 20 answers of a simulee at θ = 0.7."""
    params = synthetic_bank(STEP_ITEMS, seed=11)
    cfg = CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=MAX_ITEMS))
    bank = CatBank.from_parameters(params, cfg)
    arrays = params.to_arrays()
    a, b = np.asarray(arrays.a, dtype=float), np.asarray(arrays.b[:, 0], dtype=float)
    rng = np.random.default_rng(12)
    session = start_session(bank, seed=0)
    for _ in range(STEP_ANSWERED):
        item = next_item(session, bank)
        j = bank.index[item]
        p = 1.0 / (1.0 + np.exp(-a[j] * (0.7 - b[j])))
        session = answer(session, bank, item, int(rng.random() < p))
    return bank, cfg, session, a, b


def _hand_step(a: np.ndarray, b: np.ndarray, items: list[int], resp: list[int]) -> tuple[float, int]:
    """EAP (61 points on [-6, 6], N(0, 1) prior) and the unanswered item of maximum 2PL information at it."""
    q = np.linspace(-6.0, 6.0, 61)
    p = 1.0 / (1.0 + np.exp(-a[items][:, None] * (q[None, :] - b[items][:, None])))
    x = np.asarray(resp)[:, None]
    log_post = (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=0) - q * q / 2
    post = np.exp(log_post - log_post.max())
    theta = float((post * q).sum() / post.sum())
    pj = 1.0 / (1.0 + np.exp(-a * (theta - b)))
    info = a * a * pj * (1.0 - pj)
    info[items] = -np.inf
    return theta, int(np.argmax(info))


@pytest.mark.benchmark(group="cat-step-10k")
def test_step_stateless(benchmark, step_case) -> None:
    """The stateless step :func:`next_step` on a prepared bank: EAP from 20 answers, MFI over 10,000 items."""
    bank, cfg, session, a, b = step_case
    ids = [s.item for s in session.steps]
    resp = [s.response for s in session.steps]
    benchmark.extra_info.update(n_items=STEP_ITEMS, n_answered=STEP_ANSWERED, rule="mfi", estimator="eap", seed=11)
    result = benchmark(next_step, bank, ids, resp, config=cfg)
    theta, best = _hand_step(a, b, [bank.index[i] for i in ids], resp)
    assert result.theta == pytest.approx(theta, abs=1e-9)
    assert result.next_item == bank.ids[best]


@pytest.mark.benchmark(group="cat-step-10k")
def test_step_session(benchmark, step_case) -> None:
    """One session round, :func:`next_item` then :func:`answer` (which checks the item against the choice
    :func:`next_item` made for the same session object, updates the EAP and returns a new frozen session); each round
    starts from a fresh copy of the session, so :func:`next_item` never finds a cached choice."""
    bank, _, session, a, b = step_case
    benchmark.extra_info.update(n_items=STEP_ITEMS, n_answered=STEP_ANSWERED, rule="mfi", estimator="eap", seed=11)

    def one_round():
        fresh = session.model_copy()  # a new object each round: next_item chooses afresh (answer reuses its choice)
        return answer(fresh, bank, next_item(fresh, bank), 1)

    after = benchmark(one_round)
    items = [bank.index[s.item] for s in after.steps]
    resp = [s.response for s in after.steps]
    _, chosen = _hand_step(a, b, items[:-1], resp[:-1])
    theta, _ = _hand_step(a, b, items, resp)
    assert items[-1] == chosen and len(after.steps) == STEP_ANSWERED + 1
    assert after.steps[-1].theta == pytest.approx(theta, abs=1e-9)


# ------------------------------------------------------------------------------------------------ simulation
@pytest.fixture(scope="module")
def sim_case():
    """A 1,000-item bank prepared for MFI + EAP with SE <= 0.3 or 30 items, true θ ~ N(0, 1) and their complete
    responses (drawn here, outside the timed code)."""
    params = synthetic_bank(SIM_ITEMS, seed=21)
    cfg = CatConfig(
        start=StartRule(theta=0.0),
        stopping=StoppingRules(se_target=SE_TARGET, min_items_per_area=0, max_items_per_area=MAX_ITEMS),
    )
    bank = CatBank.from_parameters(params, cfg)
    rng = np.random.default_rng(22)
    theta = rng.normal(size=SIM_N)
    codes = generate_responses(bank, theta, rng)
    return bank, theta, codes


@pytest.mark.benchmark(group="cat-simulate-10k")
def test_simulate_10k(benchmark, sim_case) -> None:
    bank, theta, codes = sim_case
    benchmark.extra_info.update(
        n_simulees=SIM_N, n_items=SIM_ITEMS, se_target=SE_TARGET, max_items=MAX_ITEMS, seed=21, theta_seed=22
    )
    sim = benchmark.pedantic(
        simulate, args=(bank,), kwargs={"theta": theta, "responses": codes, "seed": 23}, rounds=1, iterations=1
    )
    report = sim.report.areas[0]
    run = sim.runs[0]
    benchmark.extra_info.update(rmse=report.rmse, bias=report.bias, mean_length=report.mean_length)
    assert report.n_simulees == SIM_N
    assert 0.25 < report.rmse < 0.35, report.rmse
    assert abs(report.bias) < 0.03, report.bias
    assert 8 < report.mean_length < MAX_ITEMS and run.length.max() <= MAX_ITEMS
    stopped_se = run.stop_rule == "se_target"
    assert stopped_se.mean() > 0.9 and np.all(run.se[stopped_se] <= SE_TARGET)
