"""Simulation harness: lockstep simulees give the tests sessions give, and the report's invariants hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digiskill.cat import (
    CatBank,
    CatConfig,
    ExposureControl,
    SelectionRule,
    StoppingRules,
    answer,
    next_item,
    start_session,
)
from digiskill.cat.bench import synthetic_bank
from digiskill.cat.simulate import derive_sympson_hetter, generate_responses, simulate
from digiskill.cli.main import app


@pytest.mark.parametrize("rule", ["mfi", "kl", "mepv", "astrat"])
@pytest.mark.parametrize("estimator", ["eap", "wle"])
def test_lockstep_tests_equal_session_tests(rule: str, estimator: str) -> None:
    params = synthetic_bank(60, seed=4)
    cfg = CatConfig(
        selection=SelectionRule(rule=rule),
        estimator=estimator,
        stopping=StoppingRules(se_target=0.5, min_items_per_area=2, max_items_per_area=12),
    )
    bank = CatBank.from_parameters(params, cfg)
    rng = np.random.default_rng(5)
    theta = rng.normal(size=12)
    codes = generate_responses(bank, theta, rng)
    sim = simulate(bank, responses=codes, theta=theta)
    run = sim.runs[0]
    for i in range(theta.size):
        s = start_session(bank, seed=0)
        while (item := next_item(s, bank)) is not None:
            s = answer(s, bank, item, int(codes[i, bank.index[item]]))
        assert [bank.ids[k] for k in run.items[i, : run.length[i]]] == s.administered
        assert run.theta[i] == pytest.approx(s.steps[-1].theta, abs=1e-9)
        assert run.stop_rule[i] == s.steps[-1].stop


def test_report_invariants_and_rmse_close_to_the_se_target() -> None:
    params = synthetic_bank(300, seed=2)
    cfg = CatConfig(stopping=StoppingRules(se_target=0.35, min_items_per_area=1, max_items_per_area=40))
    sim = simulate(params, cfg, n=2000, seed=3, cuts=[0.0])
    r = sim.report.areas[0]
    rates_sum = r.exposure.mean * 300
    assert rates_sum == pytest.approx(r.mean_length, rel=1e-12)  # exposure rates sum to the mean test length
    assert abs(r.rmse - 0.35) < 0.04 and abs(r.bias) < 0.03
    assert r.mean_se <= 0.35 + 1e-9 or r.stop_rules.get("max_items_area", 0) > 0
    assert sum(b.n for b in r.conditional) == 2000 and len(r.conditional) == 10
    assert r.classification_accuracy["0"] > 0.85
    assert sum(r.stop_rules.values()) == 2000


def test_randomesque_lowers_the_maximum_exposure() -> None:
    params = synthetic_bank(200, seed=6)
    stop = StoppingRules(se_target=None, max_items_per_area=10)
    plain = simulate(params, CatConfig(stopping=stop), n=500, seed=1).report.areas[0].exposure
    spread = (
        simulate(
            params, CatConfig(stopping=stop, exposure=ExposureControl(method="randomesque", top_k=5)), n=500, seed=1
        )
        .report.areas[0]
        .exposure
    )
    assert plain.max == 1.0 and spread.max < 0.75 and spread.test_overlap < plain.test_overlap


def test_post_hoc_report_lists_each_persons_test() -> None:
    params = synthetic_bank(40, seed=8)
    rng = np.random.default_rng(0)
    codes = generate_responses(CatBank.from_parameters(params), rng.normal(size=5), rng)
    cfg = CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=6))
    rep = simulate(params, cfg, responses=codes, person_ids=[f"P{i}" for i in range(5)]).report
    persons = rep.areas[0].persons
    assert [p.person for p in persons] == ["P0", "P1", "P2", "P3", "P4"]
    assert all(len(p.items) == 6 == len(set(p.items)) for p in persons)


def test_derived_sympson_hetter_parameters_meet_the_target_exposure() -> None:
    params = synthetic_bank(200, seed=2)
    cfg = CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=12))
    k = derive_sympson_hetter(params, cfg, target=0.3, n=600, iterations=8, seed=1)
    assert k and all(0 < v < 1 for v in k.values())
    sh = CatConfig(stopping=cfg.stopping, exposure=ExposureControl(method="sympson_hetter", sh_parameters=k))
    before = simulate(params, cfg, n=1000, seed=50).report.areas[0]
    after = simulate(params, sh, n=1000, seed=50).report.areas[0]
    assert before.exposure.max == 1.0 and after.exposure.max < 0.3 + 0.05
    assert after.rmse < before.rmse + 0.1


def test_cli_cat_simulate_post_hoc_and_bad_input(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1] / "examples" / "lsat7"
    runner = CliRunner()
    out = tmp_path / "report.json"
    res = runner.invoke(
        app,
        [
            "cat",
            "simulate",
            "--params",
            str(root / "params-mirt.json"),
            "--responses",
            str(root / "responses.csv"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())["areas"][0]
    assert rep["n_simulees"] == 1000 and rep["persons"][0]["person"] == "P0001"
    # all-wrong P0001 answers every item: its θ is the EAP of sum score 0 (mirt EAPsum -1.86979)
    assert rep["persons"][0]["theta"] == pytest.approx(-1.86979, abs=1e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("person,Item.1,Item.2,Item.3,Item.4,Item.5\nP1,1,,0,1,1\n")
    res = runner.invoke(app, ["cat", "simulate", "--params", str(root / "params-mirt.json"), "--responses", str(bad)])
    assert res.exit_code == 2 and "complete" in res.output


def test_simulate_command_takes_true_theta_from_a_file(tmp_path) -> None:
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from digiskill.cli.main import app

    params = Path(__file__).resolve().parents[1] / "examples" / "lsat7" / "params-mirt.json"
    thetas = tmp_path / "theta.csv"
    thetas.write_text("theta\n-1.5\n-0.5\n0.5\n1.5\n2.5\n")
    out = tmp_path / "report.json"
    res = CliRunner().invoke(app, ["simulate", "--params", str(params), "--theta-file", str(thetas), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n_simulees"] == 5 and report["areas"][0]["n_simulees"] == 5
    thetas.write_text("theta\n0.1\nabc\n")
    res = CliRunner().invoke(app, ["simulate", "--params", str(params), "--theta-file", str(thetas)])
    assert res.exit_code == 2 and "theta.csv:3" in res.stderr and "not a finite number" in res.stderr
