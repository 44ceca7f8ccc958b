"""Assessment results (levels from the posterior) and screening against job profiles."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digiskill.bank.content import item_categories
from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.cat import CatBank, CatConfig, answer, next_item, start_session
from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.irt import Quadrature
from digiskill.results.batch import batch_results
from digiskill.results.levels import certified_level, prob_at_least
from digiskill.results.models import AssessmentResult, result_from_session
from digiskill.results.screening import GAP, MEETS, UNCERTAIN, matching_profiles, profile_by_id, rank, screen

ROOT = Path(__file__).resolve().parents[1]
JOBCENTER = ROOT / "examples" / "jobcenter" / "responses.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def bank():
    return load_default()


@pytest.fixture(scope="module")
def results(bank) -> list[AssessmentResult]:
    return list(batch_results(read_responses(JOBCENTER, bank.params), bank))


def test_probability_of_reaching_a_cut_spreads_each_grid_mass_over_its_cell() -> None:
    points = np.linspace(-2, 2, 5)  # cells of width 1 around -2, -1, 0, 1, 2
    post = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(
        prob_at_least(points, post, np.array([-1.0, -0.5, -0.25, 0.0, 0.5, 1.0])), [1.0, 1.0, 0.75, 0.5, 0.0, 0.0]
    )
    q = Quadrature.normal()
    p = prob_at_least(q.points, q.weights, np.array([-1.0, 0.0, 1.645]))
    np.testing.assert_allclose(p, [0.8413, 0.5, 0.05], atol=2e-3)  # N(0, 1) tail probabilities


def test_certified_level_is_the_highest_level_reached_with_probability_080() -> None:
    assert certified_level({1: 0.99, 2: 0.85, 3: 0.79, 4: 0.1}) == 2
    assert certified_level({1: 0.5, 2: 0.1}) is None
    assert certified_level({1: 0.8}) == 1


def test_batch_results_carry_levels_bank_version_and_provisional_mark(bank, results) -> None:
    assert len(results) == 40
    r = results[0]
    assert r.person == "JC001" and r.mode == "batch" and r.provisional
    assert r.bank.parameter_set == bank.params.id and r.bank.content_digest == bank.content_digest
    for a in r.areas:
        probs = [a.level_probabilities[level] for level in sorted(a.level_probabilities)]
        assert all(np.diff(probs) <= 1e-12)  # harder levels are never more probable
        assert a.certified_level == certified_level(a.level_probabilities)
        assert a.n_items == 8 == len(a.items)
        if a.certified_level is not None:
            assert a.level_name.en.endswith(str(a.certified_level))
    again = AssessmentResult.model_validate_json(r.dump_json())
    assert again == r


def test_adaptive_session_result_has_the_step_log(bank) -> None:
    config = CatConfig()
    cb = CatBank.from_parameters(bank.params, config)
    s = start_session(cb, config, seed=9, areas=["security_gdpr"])
    top = {it.id: item_categories(it) - 1 for it in bank.content.items}  # full marks (multiple response: all keys)
    while (item := next_item(s, cb)) is not None:
        s = answer(s, cb, item, top[item])
    res = result_from_session(s, bank, person="pseudo-123")
    (area,) = res.areas
    assert res.mode == "adaptive" and res.seed == 9 and res.steps == s.steps
    assert area.items == [st.item for st in s.steps] and area.theta == s.areas[0].theta
    assert area.certified_level is not None and area.certified_level >= 3  # answered everything right


def test_screening_score_is_the_product_over_essential_areas(bank, results) -> None:
    prof = profile_by_id(bank, "social_health_care_helper")
    essential = {r.area: r.level for r in prof.requirements if r.essential}
    for res in results[:10]:
        s = screen(res, prof, bank)
        expected = np.prod([res.area(a).level_probabilities[lv] for a, lv in essential.items()])
        assert s.score == pytest.approx(expected, abs=1e-6)
        assert s.band == (MEETS if s.score >= 0.8 else GAP if s.score <= 0.2 else UNCERTAIN)
        assert s.caseworker_decision_required is True and s.provisional
        assert {a for a in essential if res.area(a).level_probabilities[essential[a]] < 0.8} == set(s.upskill_areas)
        assert "caseworker" in s.reason.en and "sagsbehandler" in s.reason.da
    ranked = rank(results, prof, bank)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    both_ways = matching_profiles(results[0], bank)
    assert len(both_ways) == 8 and both_ways[0].score >= both_ways[-1].score


def test_screening_refuses_a_result_from_another_bank_and_unknown_profiles(bank, results) -> None:
    other = results[0].model_copy(update={"bank": results[0].bank.model_copy(update={"parameter_set": "other"})})
    prof = (
        profile_by_id(bank, "office_worker")
        if any(p.id == "office_worker" for p in bank.content.profiles.profiles)
        else bank.content.profiles.profiles[0]
    )
    with pytest.raises(InputError, match="screen with the bank that produced the result"):
        screen(other, prof, bank)
    with pytest.raises(InputError, match="unknown job profile 'astronaut'"):
        profile_by_id(bank, "astronaut")


def test_score_results_and_screen_commands(tmp_path: Path) -> None:
    out, res_path, ranked = tmp_path / "s.csv", tmp_path / "r.jsonl", tmp_path / "ranked.csv"
    r = runner.invoke(app, ["score", str(JOBCENTER), "--out", str(out), "--results", str(res_path)])
    assert r.exit_code == 0, r.output
    assert len(res_path.read_text().splitlines()) == 40
    r = runner.invoke(app, ["screen", str(res_path), "--profile", "hotel_cleaning_assistant", "--out", str(ranked)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(ranked.open()))
    assert len(rows) == 40 and all(row["caseworker_decision_required"] == "true" for row in rows)
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    bad = runner.invoke(app, ["screen", str(res_path), "--profile", "astronaut", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "unknown job profile" in bad.stderr and not (tmp_path / "x.csv").exists()
    broken = tmp_path / "broken.jsonl"
    broken.write_text(res_path.read_text().splitlines()[0] + '\n{"schema": 1}\n')
    bad = runner.invoke(app, ["screen", str(broken), "--profile", "hotel_cleaning_assistant"])
    assert bad.exit_code == 2 and "broken.jsonl:2" in bad.stderr
    lsat = ROOT / "examples" / "lsat7"
    bad = runner.invoke(
        app,
        [
            "score",
            str(lsat / "responses.csv"),
            "--params",
            str(lsat / "params-mirt.json"),
            "--results",
            str(tmp_path / "no.jsonl"),
        ],
    )
    assert bad.exit_code == 2 and "--results needs level cut scores" in bad.stderr
    assert json.loads(res_path.read_text().splitlines()[0])["bank"]["provisional"] is True
