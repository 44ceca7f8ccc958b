"""Multidimensional adaptive test (issue #17): the joint selection rules against hand-computed determinants and
traces, the item sequence of an independent mirtCAT-style reimplementation, sessions (JSON, resume, replay) and the
lockstep simulation."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from digiskill.bank.parameters import DichotomousItem, ParameterSet
from digiskill.cat import CatBank, CatConfig, SelectionRule, StoppingRules, answer, next_item, start_session
from digiskill.cat.config import ContentBalancing, ExposureControl, LatentCorrelation, StartRule
from digiskill.cat.joint import JointRules
from digiskill.cat.replay import SessionMismatch, verify_session
from digiskill.cat.session import Session
from digiskill.cat.simulate import generate_responses, simulate
from digiskill.errors import InputError


def _bank(n_areas: int, per_area: int, seed: int = 1) -> ParameterSet:
    rng = np.random.default_rng(seed)
    items = [
        DichotomousItem(
            id=f"A{a}I{j:02d}",
            model="2pl",
            a=float(np.exp(rng.normal(0.0, 0.3))),
            b=float(rng.normal()),
            area=f"area{a}",
        )
        for a in range(n_areas)
        for j in range(per_area)
    ]
    return ParameterSet(id=f"toy-{n_areas}x{per_area}", created=datetime.now(UTC), engine="test", items=items)


def _latent(n_areas: int, rho: float) -> LatentCorrelation:
    r = np.full((n_areas, n_areas), rho)
    np.fill_diagonal(r, 1.0)
    return LatentCorrelation(areas=[f"area{a}" for a in range(n_areas)], matrix=r.tolist())


def _config(rule: str = "dprule", n_areas: int = 3, rho: float = 0.5, **blocks: object) -> CatConfig:
    base: dict[str, object] = {
        "dimensionality": "multidimensional",
        "selection": SelectionRule(rule=rule),
        "estimator": "map",
        "latent": _latent(n_areas, rho),
    }
    base.update(blocks)
    return CatConfig.model_validate(base)


# ------------------------------------------------------------------------------------------------------ config
def test_config_checks_the_multidimensional_combinations() -> None:
    with pytest.raises(ValueError, match="needs selection rule drule"):
        CatConfig(dimensionality="multidimensional")
    with pytest.raises(ValueError, match="needs dimensionality: multidimensional"):
        CatConfig(selection=SelectionRule(rule="dprule"))
    with pytest.raises(ValueError, match="eap or map"):
        _config(estimator="wle")
    with pytest.raises(ValueError, match="sprt"):
        _config(stopping=StoppingRules(classification="sprt"), cut_score=0.0)
    with pytest.raises(ValueError, match="competence balancing"):
        _config(balancing=ContentBalancing(competences=True))
    with pytest.raises(ValueError, match="power of 2"):
        _config(joint={"qmc_points": 1000})
    params = _bank(3, 4)
    with pytest.raises(InputError, match="no latent correlation; run digiskill calibrate --multidimensional"):
        CatBank.from_parameters(params, _config(latent=None))
    with pytest.raises(InputError, match="no row for area"):
        CatBank.from_parameters(params, _config(n_areas=3, latent=_latent(2, 0.5)))
    with pytest.raises(InputError, match="positive definite"):
        CatBank.from_parameters(params, _config(latent=_latent(3, -0.9)))


# --------------------------------------------------------------------------------------------------- criteria
def _toy_state(rule: str) -> tuple[JointRules, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    params = _bank(3, 4, seed=7)
    bank = CatBank.from_parameters(params, _config(rule, rho=0.4))
    rules = JointRules.for_session(bank, bank.area_names)
    theta = np.array([[0.3, -0.4, 1.1]])
    answered = np.zeros((1, 12), dtype=bool)
    answered[0, [0, 5]] = True  # one item in area0, one in area1, none in area2
    a = params.to_arrays().a
    b = params.to_arrays().b[:, 0]
    area = np.repeat(np.arange(3), 4)
    p = 1.0 / (1.0 + np.exp(-a * (theta[0, area] - b)))
    info = a * a * p * (1.0 - p)
    return rules, theta, answered, info, area


@pytest.mark.parametrize("rule", ["drule", "dprule", "trule", "arule"])
def test_criteria_equal_the_full_matrix_determinant_and_trace(rule: str) -> None:
    rules, theta, answered, info, area = _toy_state(rule)
    t = np.array([info[answered[0] & (area == d)].sum() for d in range(3)])
    prior = rules.prior.precision if rule in ("dprule", "arule") else np.zeros((3, 3))
    crit = rules.criterion(theta, answered)[0]
    for j in range(12):
        m = prior + np.diag(t)
        m[area[j], area[j]] += info[j]
        want = {
            "drule": np.linalg.det(m),
            "dprule": np.linalg.det(m),
            "trule": np.trace(m),
            "arule": np.trace(np.linalg.inv(m)) if rule == "arule" else 0.0,
        }[rule]
        assert crit[j] == pytest.approx(want, rel=1e-10, abs=1e-14)


def test_drule_singular_information_picks_the_lowest_index_and_needs_every_area() -> None:
    rules, theta, answered, info, area = _toy_state("drule")
    crit = rules.criterion(theta, answered)[0]
    assert crit[area != 2] == pytest.approx(0.0, abs=0.0)  # area2 still has no answer: det stays 0
    t = [info[answered[0] & (area == d)].sum() for d in range(2)]
    assert crit[area == 2] == pytest.approx(t[0] * t[1] * info[area == 2], rel=1e-12)
    none = np.zeros((1, 12), dtype=bool)
    allowed = np.ones((1, 12), dtype=bool)
    from digiskill.cat.rules import SessionDraws

    sel = rules.select(theta, none, allowed, SessionDraws(0, 0))  # every determinant 0: the lowest bank index
    assert int(sel.pick.item[0]) == 0 and (sel.score[0] == 0).all()


# ------------------------------------------------------------------------------------- mirtCAT-style reference
def _reference_dprule(a, b, area, sigma, x, n_items):
    """Straightforward reimplementation of mirtCAT's DPrule + MAP for between-item 2PL items: MAP by a general
    optimiser on the log posterior with the MVN(0, Σ) prior; information Σ_answered P(1 − P) a aᵀ at the MAP;
    the next item maximises det(Σ⁻¹ + info + I_j e_d e_dᵀ) over unanswered items (lowest index on ties); the first
    item by the same rule at θ = 0."""
    from scipy.optimize import minimize

    dim = sigma.shape[0]
    prec = np.linalg.inv(sigma)
    load = np.zeros((a.size, dim))
    load[np.arange(a.size), area] = a  # the item's slope vector a (zero off its area)
    theta = np.zeros(dim)
    given: list[int] = []
    for _ in range(n_items):
        p = 1.0 / (1.0 + np.exp(-(load @ theta - a * b)))
        info = sum((p[j] * (1 - p[j]) * np.outer(load[j], load[j]) for j in given), np.zeros((dim, dim)))
        best, best_det = -1, -np.inf
        for j in range(a.size):
            if j in given:
                continue
            det = np.linalg.det(prec + info + p[j] * (1 - p[j]) * np.outer(load[j], load[j]))
            if det > best_det:
                best, best_det = j, det
        given.append(best)
        idx = np.array(given)

        def neg_log_post(th, idx=idx):
            z = load[idx] @ th - a[idx] * b[idx]
            pr = 1.0 / (1.0 + np.exp(-z))
            ll = np.sum(x[idx] * np.log(pr) + (1 - x[idx]) * np.log1p(-pr))
            grad = load[idx].T @ (x[idx] - pr) - prec @ th
            return -(ll - 0.5 * th @ prec @ th), -grad

        theta = minimize(neg_log_post, np.zeros(dim), jac=True, method="BFGS", options={"gtol": 1e-11}).x
    return given, theta


def test_dprule_map_sequence_equals_an_independent_mirtcat_style_reimplementation() -> None:
    n_areas, per, n_items = 3, 15, 30
    params = _bank(n_areas, per, seed=11)
    sigma = np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.5], [0.4, 0.5, 1.0]])
    latent = LatentCorrelation(areas=[f"area{a}" for a in range(n_areas)], matrix=sigma.tolist())
    cfg = _config(
        "dprule",
        latent=latent,
        start=StartRule(theta=0.0),
        balancing=ContentBalancing(areas=False),
        stopping=StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=None, max_total_items=n_items),
    )
    bank = CatBank.from_parameters(params, cfg)
    rng = np.random.default_rng(3)
    true = rng.standard_normal((3, n_areas)) @ np.linalg.cholesky(sigma).T
    codes = generate_responses(bank, true, rng)
    sim = simulate(bank, responses=codes, person_ids=["p1", "p2", "p3"])
    arrays = params.to_arrays()
    area = np.repeat(np.arange(n_areas), per)
    assert sim.report.persons is not None
    for i, person in enumerate(sim.report.persons):
        want, theta = _reference_dprule(arrays.a, arrays.b[:, 0], area, sigma, codes[i].astype(float), n_items)
        assert person.items == [bank.ids[j] for j in want]
        assert [person.theta[f"area{d}"] for d in range(n_areas)] == pytest.approx(theta, abs=1e-6)


# ---------------------------------------------------------------------------------------------------- sessions
@pytest.mark.parametrize("exposure", ["randomesque", "sympson_hetter"])
def test_session_round_trip_resume_replay_and_lockstep_simulation_agree(exposure: str) -> None:
    params = _bank(3, 12, seed=5)
    sh = {f"A{a}I{j:02d}": 0.5 for a in range(3) for j in range(0, 12, 2)}
    cfg = _config(
        "dprule",
        rho=0.6,
        exposure=ExposureControl(method=exposure, top_k=3, sh_parameters=sh),
        stopping=StoppingRules(se_target=0.45, min_items_per_area=2, max_items_per_area=8),
    )
    bank = CatBank.from_parameters(params, cfg)
    rng = np.random.default_rng(9)
    theta = rng.standard_normal((5, 3)) @ np.linalg.cholesky(bank.latent).T
    codes = generate_responses(bank, theta, rng)
    seeds = np.arange(5) + 100
    sim = simulate(bank, responses=codes, theta=theta, seeds=seeds)
    for i in range(5):
        s = start_session(bank, seed=int(seeds[i]))
        while (item := next_item(s, bank)) is not None:
            resumed = Session.from_json(s.to_json())
            assert resumed == s and next_item(resumed, bank) == item  # a resumed session asks the same item
            s = answer(s, bank, item, int(codes[i, bank.index[item]]))
        assert sim.sequence is not None
        assert [bank.ids[k] for k in sim.sequence[i] if k >= 0] == s.administered
        for d, run in enumerate(sim.runs):
            st = s.areas[d]
            assert run.length[i] == st.n_items
            assert run.theta[i] == pytest.approx(st.theta, abs=1e-8)
            assert run.stop_rule[i] == st.stop_rule
        assert s.finished and all(a.finished for a in s.areas)
        assert all(a.se <= 0.45 or a.stop_rule != "se_target" for a in s.areas)
        verify_session(s, bank)
    # an edited response is caught by the replay
    steps = [*s.steps]
    steps[2] = steps[2].model_copy(update={"response": 1 - steps[2].response})
    with pytest.raises(SessionMismatch):
        verify_session(s.model_copy(update={"steps": steps}), bank)


def test_a_session_over_some_areas_uses_their_part_of_the_correlation_matrix() -> None:
    sigma = np.array([[1.0, 0.2, 0.7], [0.2, 1.0, 0.3], [0.7, 0.3, 1.0]])
    latent = LatentCorrelation(areas=["area0", "area1", "area2"], matrix=sigma.tolist())
    bank = CatBank.from_parameters(_bank(3, 6), _config("dprule", latent=latent))
    rules = JointRules.for_session(bank, ["area2", "area0"])
    assert rules.prior.cov.tolist() == [[1.0, 0.7], [0.7, 1.0]]
    s = start_session(bank, seed=0, areas=["area2", "area0"])
    while (item := next_item(s, bank)) is not None:
        assert item.startswith(("A2", "A0"))
        s = answer(s, bank, item, 1)
    assert [a.area for a in s.areas] == ["area2", "area0"] and s.finished


def test_an_answer_in_one_area_moves_every_areas_estimate() -> None:
    bank = CatBank.from_parameters(_bank(3, 6), _config("dprule", rho=0.6))
    s = start_session(bank, seed=0)
    item = next_item(s, bank)
    assert item is not None
    s = answer(s, bank, item, 1)
    moved = [a.theta for a in s.areas]
    assert all(t is not None and t > 0 for t in moved)  # a right answer raises every correlated area
    assert sum(a.n_items for a in s.areas) == 1


def test_eap_session_runs_and_the_empty_areas_follow_the_conditional_prior() -> None:
    bank = CatBank.from_parameters(_bank(3, 5), _config("arule", rho=0.5, estimator="eap", joint={"qmc_points": 256}))
    s = start_session(bank, seed=0)
    item = next_item(s, bank)
    assert item is not None
    s = answer(s, bank, item, 0)
    own = next(a for a in s.areas if a.n_items == 1)
    others = [a for a in s.areas if a.n_items == 0]
    assert own.theta is not None and own.theta < 0
    for a in others:  # E[θ_u | x] = ρ E[θ_a | x], Var = 1 − ρ² + ρ² Var(θ_a | x)
        assert a.theta == pytest.approx(0.5 * own.theta, rel=1e-9)
        assert a.se == pytest.approx(np.sqrt(1 - 0.25 + 0.25 * own.se**2), rel=1e-9)


# -------------------------------------------------------------------------------------------------- simulation
def test_joint_test_is_shorter_than_separate_tests_at_the_same_se_target() -> None:
    params = _bank(6, 40, seed=2)
    stopping = StoppingRules(se_target=0.45, min_items_per_area=1, max_items_per_area=25)
    joint = simulate(params, _config("dprule", n_areas=6, rho=0.6, stopping=stopping), n=150, seed=4)
    separate = simulate(params, CatConfig(stopping=stopping), n=150, seed=4)
    assert joint.report.mean_total_length is not None and separate.report.mean_total_length is not None
    assert joint.report.mean_total_length < 0.85 * separate.report.mean_total_length
    for r in joint.report.areas:
        assert r.rmse < 0.55 and abs(r.bias) < 0.15


# --------------------------------------------------------------------------------------------------------- CLI
def test_stateless_step_and_cli_with_a_multidimensional_config(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from digiskill.cat.stateless import next_step
    from digiskill.cli.main import app

    params = _bank(3, 6, seed=3)
    cfg = _config("dprule", rho=0.6, stopping=StoppingRules(se_target=0.6, min_items_per_area=1))
    bank = CatBank.from_parameters(params, cfg)
    s = start_session(bank, seed=0)
    for _ in range(4):
        item = next_item(s, bank)
        assert item is not None
        s = answer(s, bank, item, 1)
    step = next_step(bank, s.administered, [1] * 4, config=cfg)
    assert step.next_item == next_item(s, bank)  # stateless (MAP from 0) and session (from the last θ̂) agree
    for st, area in zip(step.areas, s.areas, strict=True):
        assert st.theta == pytest.approx(area.theta, abs=1e-8) and st.n_items == area.n_items
    params_file = tmp_path / "params.json"
    params_file.write_text(params.model_dump_json())
    cfg_file = tmp_path / "joint.json"
    cfg_file.write_text(cfg.model_dump_json())
    runner = CliRunner()
    out = runner.invoke(app, ["cat", "next", "--params", str(params_file), "--config", str(cfg_file)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["next_item"] == s.administered[0]
    codes = generate_responses(bank, np.zeros((2, 3)), np.random.default_rng(0))
    csv = tmp_path / "full.csv"
    csv.write_text(
        "person,"
        + ",".join(bank.ids)
        + "\n"
        + "".join(f"P{i}," + ",".join(map(str, r)) + "\n" for i, r in enumerate(codes))
    )
    report = tmp_path / "report.json"
    args = ["simulate", "--params", str(params_file), "--config", str(cfg_file), "--responses", str(csv)]
    out = runner.invoke(app, [*args, "--out", str(report)])
    assert out.exit_code == 0, out.output
    persons = json.loads(report.read_text())["persons"]
    assert [p["person"] for p in persons] == ["P0", "P1"] and set(persons[0]["theta"]) == {"area0", "area1", "area2"}
    no_latent = tmp_path / "bad.json"
    no_latent.write_text(cfg.model_copy(update={"latent": None}).model_dump_json())
    out = runner.invoke(app, ["cat", "next", "--params", str(params_file), "--config", str(no_latent)])
    assert out.exit_code == 2 and "no latent correlation" in out.output
