"""One kernel per rule: a simulated test and a live session with the same seed and answers are the same test.

For every selection rule, estimator, exposure method, balancing option and stopping option, ``simulate`` (N simulees
in lockstep) and a sequence of ``next_item``/``answer`` calls (N = 1) must give the same items in the same order,
the same estimates (to 1e-10), the same stopping rules and decisions, and the same Sympson–Hetter set-asides.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digiskill.bank.parameters import DichotomousItem, GradedItem, ParameterSet, PartialCreditItem
from digiskill.cat import (
    CatBank,
    CatConfig,
    ContentBalancing,
    ExposureControl,
    SelectionRule,
    StartRule,
    StoppingRules,
    answer,
    next_item,
    start_session,
)
from digiskill.cat.config import ESTIMATORS, RULES
from digiskill.cat.pcg import seeded_uniforms
from digiskill.cat.rules import SessionDraws, top_k
from digiskill.cat.simulate import generate_responses, simulate

AREAS = ("basic", "mixed", "asymptotes")
CUTS = {"basic": -0.3, "mixed": 0.2, "asymptotes": 0.0}


def _bank() -> ParameterSet:
    """Three areas of 14 items: 2PL/3PL (the fast information path), GRM/GPCM/PCM/2PL, 1PL/4PL; two DigComp
    competences in the first two areas (balancing)."""
    rng = np.random.default_rng(20)
    items: list[Any] = []
    for j in range(14):
        a, b = float(np.exp(rng.normal(0, 0.3))), float(rng.normal())
        comp = f"1.{j % 2 + 1}"
        items.append(
            DichotomousItem(
                id=f"B{j:02d}",
                model="3pl" if j % 3 == 0 else "2pl",
                a=a,
                b=b,
                c=0.15 if j % 3 == 0 else 0.0,
                area="basic",
                competence=comp,
            )
        )
    for j in range(14):
        a = float(np.exp(rng.normal(0, 0.3)))
        steps = sorted(float(x) for x in rng.normal(0, 1, 2 + j % 2))
        comp = f"2.{j % 2 + 1}"
        if j % 4 == 0:
            items.append(GradedItem(id=f"M{j:02d}", model="grm", a=a, b=steps, area="mixed", competence=comp))
        elif j % 4 == 1:
            items.append(PartialCreditItem(id=f"M{j:02d}", model="gpcm", a=a, b=steps, area="mixed", competence=comp))
        elif j % 4 == 2:
            items.append(PartialCreditItem(id=f"M{j:02d}", model="pcm", b=steps, area="mixed", competence=comp))
        else:
            items.append(DichotomousItem(id=f"M{j:02d}", model="2pl", a=a, b=steps[0], area="mixed", competence=comp))
    for j in range(14):
        b = float(rng.normal())
        if j % 2:
            items.append(DichotomousItem(id=f"C{j:02d}", model="4pl", a=1.3, b=b, c=0.1, d=0.93, area="asymptotes"))
        else:
            items.append(DichotomousItem(id=f"C{j:02d}", model="1pl", b=b, area="asymptotes"))
    return ParameterSet(id="rules-test", created=datetime(2026, 1, 1, tzinfo=UTC), engine="test", items=items)


PARAMS = _bank()
SH = {f"B{j:02d}": 0.4 for j in range(0, 14, 2)} | {f"M{j:02d}": 0.6 for j in range(0, 14, 3)} | {"C03": 0.5}
EXPOSURES = {
    "none": ExposureControl(),
    "randomesque": ExposureControl(method="randomesque", top_k=3),
    "sympson_hetter": ExposureControl(method="sympson_hetter", sh_parameters=SH),
}
BALANCING = {
    "turns": ContentBalancing(),
    "targets": ContentBalancing(targets={"basic": 2.0, "mixed": 1.0}),
    "competences": ContentBalancing(competences=True),
    "competence_targets": ContentBalancing(
        targets={"asymptotes": 3.0}, competences=True, competence_targets={"1.1": 3.0, "2.2": 2.0}
    ),
}
BASE_STOP = {"se_target": 0.5, "min_items_per_area": 2, "max_items_per_area": 5}
STOPPING = {
    "se": StoppingRules(**BASE_STOP),
    "ci": StoppingRules(**BASE_STOP | {"se_target": None, "classification": "ci", "alpha": 0.2}),
    "sprt": StoppingRules(**BASE_STOP | {"se_target": 0.3, "classification": "sprt", "alpha": 0.1, "beta": 0.1}),
    "max_total": StoppingRules(**BASE_STOP | {"max_total_items": 7}),
    "exhaustion": StoppingRules(se_target=None, min_items_per_area=0, max_items_per_area=None, max_total_items=20),
    "no_minimum": StoppingRules(se_target=0.7, min_items_per_area=0, max_items_per_area=4),
}


def _config(
    rule: str,
    estimator: str,
    exposure: str,
    balancing: str = "turns",
    stopping: str = "se",
    first_item: str | None = None,
) -> CatConfig:
    stop = STOPPING[stopping]
    if rule == "astrat" and stop.max_items_per_area is None:
        stop = stop.model_copy(update={"max_items_per_area": 14})
    return CatConfig(
        selection=SelectionRule(rule=rule, strata=3),
        estimator=estimator,
        exposure=EXPOSURES[exposure],
        balancing=BALANCING[balancing],
        stopping=stop,
        start=StartRule(first_item=first_item),
        cut_score=CUTS,
    )


def assert_same_tests(cfg: CatConfig, n: int = 3, seed: int = 0) -> int:
    """Simulate ``n`` simulees, replay each as a live session with its seed and answers, compare everything; the
    number of items Sympson–Hetter set aside."""
    bank = CatBank.from_parameters(PARAMS, cfg)
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.3, size=(n, len(AREAS)))
    codes = generate_responses(bank, theta, rng)
    kept = codes.copy()
    sim = simulate(bank, responses=codes, theta=theta, seed=seed)
    assert np.array_equal(codes, kept)  # the simulation does not write into its arguments
    selected = {run.area: np.zeros(bank.areas[run.area].n_items, dtype=np.int64) for run in sim.runs}
    for i in range(n):
        s = start_session(bank, seed=int(sim.seeds[i]))
        while (item := next_item(s, bank)) is not None:
            s = answer(s, bank, item, int(codes[i, bank.index[item]]))
        assert s.finished
        for step in s.steps:
            ab = bank.areas[step.area]
            selected[step.area][bank.local[[bank.index[x] for x in [step.item, *step.set_aside]]]] += 1
        for run in sim.runs:
            ab, state = bank.areas[run.area], s.area_state(run.area)
            live = [x.item for x in s.steps if x.area == run.area]
            assert [bank.ids[ab.index[k]] for k in run.items[i, : run.length[i]]] == live, (i, run.area)
            assert run.theta[i] == pytest.approx(state.theta, abs=1e-10)
            assert run.se[i] == pytest.approx(state.se, abs=1e-10)
            assert run.stop_rule[i] == (state.stop_rule or s.stop_rule), (i, run.area)
            assert run.classification[i] == state.classification
    for run in sim.runs:
        assert np.array_equal(run.selected, selected[run.area])
    return sum(int(run.selected.sum() - run.length.sum()) for run in sim.runs)


@pytest.mark.parametrize("exposure", list(EXPOSURES))
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_estimator_and_exposure(rule: str, estimator: str, exposure: str) -> None:
    set_aside = assert_same_tests(_config(rule, estimator, exposure), seed=RULES.index(rule))
    assert (set_aside > 0) == (exposure == "sympson_hetter")


@pytest.mark.parametrize("stopping", list(STOPPING))
@pytest.mark.parametrize("balancing", list(BALANCING))
def test_every_balancing_and_stopping_option(balancing: str, stopping: str) -> None:
    rule = RULES[len(balancing) % len(RULES)]
    exposure = list(EXPOSURES)[len(stopping) % 3]
    assert_same_tests(_config(rule, "eap", exposure, balancing, stopping), n=4, seed=len(stopping))


@pytest.mark.parametrize("exposure", list(EXPOSURES))
def test_a_given_first_item(exposure: str) -> None:
    assert_same_tests(_config("kl", "wle", exposure, "competences", "sprt", first_item="M05"), n=4)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=st.sampled_from(RULES),
    estimator=st.sampled_from(ESTIMATORS),
    exposure=st.sampled_from(list(EXPOSURES)),
    balancing=st.sampled_from(list(BALANCING)),
    stopping=st.sampled_from(list(STOPPING)),
    first_item=st.sampled_from([None, "B03", "C10"]),
    seed=st.integers(0, 2**16),
)
def test_any_combination(
    rule: str, estimator: str, exposure: str, balancing: str, stopping: str, first_item: str | None, seed: int
) -> None:
    assert_same_tests(_config(rule, estimator, exposure, balancing, stopping, first_item), n=2, seed=seed)


def test_simulated_exposure_control_really_draws() -> None:
    """The equality above is not the equality of two deterministic choices: simulees with other seeds differ."""
    cfg = _config("mfi", "eap", "randomesque")
    bank = CatBank.from_parameters(PARAMS, cfg)
    theta = np.random.default_rng(0).normal(size=(40, 3))
    codes = generate_responses(bank, theta, np.random.default_rng(1))
    sim = simulate(bank, responses=codes, theta=theta, seeds=np.arange(40))
    firsts = {int(x) for x in sim.runs[0].items[:, 0]}
    assert len(firsts) == 3  # the three best items at the start θ, each drawn for some simulee
    again = simulate(bank, responses=codes, theta=theta, seeds=np.arange(40))
    assert np.array_equal(sim.runs[0].items, again.runs[0].items)


@pytest.mark.parametrize("size", [1, 5, 64])
def test_per_simulee_streams_equal_session_streams(size: int) -> None:
    """The vectorised SeedSequence + PCG64 of ``digiskill.cat.pcg`` is bit-identical to numpy's generators (and
    seeds of 2³² and more, which take the slow path, too)."""
    small = np.concatenate([[0, 1, 2, 7, 12345, 2**31, 2**32 - 1], np.random.default_rng(3).integers(0, 2**32, 40)])
    for seeds in (small, np.array([5, 2**32, 2**40 + 3])):
        for step in (0, 1, 2, 37, 1000, 2**32 - 1):
            rows = seeded_uniforms(seeds, step, size)
            for i, s in enumerate(seeds):
                assert np.array_equal(rows[i], SessionDraws(int(s), step).uniform(size)[0])


def test_top_k_orders_best_first_with_ties_by_position() -> None:
    score = np.array([[1.0, 3.0, 3.0, -np.inf, 3.0, 2.0], [0.5, -np.inf, -np.inf, -np.inf, 0.5, -np.inf]])
    assert top_k(score, 2).tolist() == [[1, 2], [0, 4]]
    assert top_k(score, 4).tolist() == [[1, 2, 4, 5], [0, 4, 1, 2]]
    assert top_k(score, 9).tolist() == [[1, 2, 4, 5, 0, 3], [0, 4, 1, 2, 3, 5]]
    big = np.repeat(np.round(np.random.default_rng(0).normal(size=(3, 1000)), 1), 2, axis=1)  # many ties
    assert np.array_equal(top_k(big, 7), np.argsort(-big, axis=1, kind="stable")[:, :7])  # the argpartition path
