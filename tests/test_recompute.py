"""The issuer recomputes: a result is signed only when its numbers follow from its own logged responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.cat import CatConfig, answer, next_item, prepare, start_session
from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile
from digiskill.results.issue import issue_certificate
from digiskill.results.models import AssessmentResult, result_from_session
from digiskill.results.recompute import recompute_result
from digiskill.results.signing import generate_key_pair

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def bank():
    return load_default()


@pytest.fixture(scope="module")
def batch_result(bank) -> AssessmentResult:
    return next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))


@pytest.fixture(scope="module")
def session_result(bank) -> AssessmentResult:
    config = CatConfig()
    cat = prepare(bank.params, config)
    s = start_session(cat, config, seed=3, areas=["basic_it", "security_gdpr"])
    step = 0
    while (item := next_item(s, cat)) is not None:
        n_cat = int(cat.n_cat[cat.index[item]])
        s = answer(s, cat, item, (step * 7) % n_cat)  # a fixed, mixed answer pattern
        step += 1
    return result_from_session(s, bank, person="p-1")


def _edit(result: AssessmentResult, index: int = 0, **changes) -> AssessmentResult:
    data = json.loads(result.dump_json())
    data["areas"][index].update(changes)
    return AssessmentResult.model_validate(data)


def test_honest_results_recompute_to_themselves(bank, batch_result, session_result) -> None:
    for res in (batch_result, session_result):
        again = recompute_result(res, bank)
        for stored, new in zip(res.areas, again.areas, strict=True):
            assert new.certified_level == stored.certified_level
            assert new.theta == pytest.approx(stored.theta, rel=1e-9)
            assert new.se == pytest.approx(stored.se, rel=1e-9)
            assert new.level_probabilities == stored.level_probabilities
    assert session_result.mode == "adaptive" and session_result.config is not None
    assert all(len(a.responses) == a.n_items > 0 for a in session_result.areas)


def _refused(result: AssessmentResult, bank, *needles: str) -> str:
    with pytest.raises(InputError) as err:
        recompute_result(result, bank)
    text = str(err.value)
    for needle in needles:
        assert needle in text, text
    return text


def test_level_that_contradicts_its_own_probabilities_is_refused(bank, batch_result) -> None:
    area = batch_result.areas[0]
    assert area.level_probabilities[6] < 0.01  # level 6 is clearly not reached
    _refused(_edit(batch_result, certified_level=6), bank, f"area {area.area!r}", "certified level 6 stored, 2")


def test_consistent_forgery_with_real_responses_is_refused(bank, batch_result) -> None:
    area = batch_result.areas[0]
    forged = _edit(
        batch_result,
        theta=5.0,
        se=0.2,
        certified_level=6,
        level_probabilities={str(k): 1.0 for k in area.level_probabilities},
        level_name={"da": "x", "en": "x"},
    )
    honest = f"θ 5 stored, {str(area.theta)[:5]}"  # the recomputed θ is the honest one
    _refused(forged, bank, honest, f"certified level 6 stored, {area.certified_level} recomputed")


def test_edited_response_is_refused(bank, batch_result, session_result) -> None:
    responses = list(batch_result.areas[0].responses)
    responses[0] = 1 - min(responses[0], 1)  # 0 <-> 1: a valid category of every item
    _refused(_edit(batch_result, responses=responses), bank, "does not follow from its own responses")
    # an adaptive result: the step log must agree with the areas' responses ...
    data = json.loads(session_result.dump_json())
    first = data["steps"][0]
    first["response"] = 1 - min(first["response"], 1)
    _refused(AssessmentResult.model_validate(data), bank, "step log and the area's items/responses differ")
    # ... and when both are edited alike, the recomputation tells
    area = next(a for a in data["areas"] if a["area"] == first["area"])
    area["responses"][area["items"].index(first["item"])] = first["response"]
    _refused(AssessmentResult.model_validate(data), bank, "does not follow from its own responses", "θ")


@pytest.mark.parametrize("level", [9, -3, 0])
def test_level_outside_the_framework_is_refused(bank, batch_result, level: int) -> None:
    _refused(_edit(batch_result, certified_level=level), bank, f"certified level {level} is not a level")


def test_unknown_repeated_area_bad_items_and_responses_are_refused(bank, batch_result) -> None:
    _refused(_edit(batch_result, area="astrology"), bank, "'astrology'", "unknown area")
    data = json.loads(batch_result.dump_json())
    data["areas"].append(data["areas"][0])
    _refused(AssessmentResult.model_validate(data), bank, "appears twice")
    a = batch_result.areas[0]
    _refused(_edit(batch_result, responses=[17, *a.responses[1:]]), bank, "response 17 is not a category")
    _refused(_edit(batch_result, responses=a.responses[:-1]), bank, "every item needs its response")
    _refused(_edit(batch_result, items=["INF-007", *a.items[1:]]), bank, "belongs to area 'information_data'")
    _refused(_edit(batch_result, items=[a.items[1], *a.items[1:]]), bank, "listed twice")
    other = json.loads(batch_result.dump_json())
    other["bank"]["parameter_digest"] = "0" * 64
    _refused(AssessmentResult.model_validate(other), bank, "needs parameter digest '0000")


def test_only_recomputed_values_are_signed(bank, batch_result) -> None:
    # a stored θ within the tolerance is accepted, but the credential states the recomputed value
    a = batch_result.areas[0]
    nudged = _edit(batch_result, theta=a.theta * (1 + 5e-7))
    key, _ = generate_key_pair()
    cert = issue_certificate(nudged, bank, IssuerProfile(id="https://x.example/i", name="X"), key, lang="en")
    assert cert.result.areas[0].theta == pytest.approx(a.theta, rel=1e-12)
    assert f"theta = {a.theta:.4f}" in cert.credential_json


def _write(tmp_path: Path, result: AssessmentResult | dict, name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(result.dump_json() if isinstance(result, AssessmentResult) else json.dumps(result))
    return path


def test_certify_cli_refuses_forgeries_with_exit_2_and_no_output(tmp_path: Path, batch_result, session_result) -> None:
    key, prof = tmp_path / "k.pem", tmp_path / "issuer.json"
    r = runner.invoke(
        app, ["keys", "new", "--out", str(key), "--issuer-id", "https://j.example/i", "--issuer-out", str(prof)]
    )
    assert r.exit_code == 0, r.output
    out, pdf = tmp_path / "c.json", tmp_path / "c.pdf"
    base = ["--key", str(key), "--issuer", str(prof), "--out", str(out), "--pdf", str(pdf)]
    for honest in (batch_result, session_result):
        r = runner.invoke(app, ["certify", str(_write(tmp_path, honest)), *base])
        assert r.exit_code == 0, r.output
        assert out.exists() and pdf.exists()
        out.unlink()
        pdf.unlink()
    data = json.loads(batch_result.dump_json())
    forgeries = []
    for change in ({"certified_level": 9}, {"certified_level": -3}, {"area": "unknown_area"}, {"theta": 5.0}):
        forged = json.loads(json.dumps(data))
        forged["areas"][0].update(change)
        forgeries.append(forged)
    for forged in forgeries:
        r = runner.invoke(app, ["certify", str(_write(tmp_path, forged, "f.json")), *base])
        assert r.exit_code == 2, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        assert "f.json" in r.stderr and not out.exists() and not pdf.exists()


def test_certify_checks_outputs_first_and_writes_both_files_or_none(tmp_path: Path, batch_result) -> None:
    key, prof = tmp_path / "k.pem", tmp_path / "issuer.json"
    runner.invoke(
        app, ["keys", "new", "--out", str(key), "--issuer-id", "https://j.example/i", "--issuer-out", str(prof)]
    )
    res = _write(tmp_path, batch_result)
    out = tmp_path / "c.json"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for pdf, needle in ((folder, "--pdf: is a folder"), (out, "same file as --out")):
        r = runner.invoke(
            app, ["certify", str(res), "--key", str(key), "--issuer", str(prof), "--out", str(out), "--pdf", str(pdf)]
        )
        assert r.exit_code == 2 and needle in r.stderr and not out.exists()
    # the PDF cannot be renamed into place (its target turns into a folder after the check): no credential is left
    from digiskill.fileio import write_all

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "x").write_text("occupied")
    with pytest.raises(OSError):
        write_all({out: b"credential", blocked: b"%PDF"})
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    r = runner.invoke(
        app, ["certify", str(tmp_path / "nope.json"), "--key", str(key), "--issuer", str(prof), "--out", str(out)]
    )
    assert r.exit_code == 2 and "cannot read the result" in r.stderr
    (tmp_path / "latin.json").write_bytes(b'{"person": "S\xf8ren"}')
    r = runner.invoke(
        app, ["certify", str(tmp_path / "latin.json"), "--key", str(key), "--issuer", str(prof), "--out", str(out)]
    )
    assert r.exit_code == 2 and "not UTF-8" in r.stderr
