"""The service running the multidimensional test (``digiskill serve --config examples/multidim/joint.yaml``): a whole
joint test over HTTP (pause, resume, exactly-once answers), its result for the citizen and the caseworker, screening,
the certificate the issuer recomputes (credential, PDF, ``/verify``), the web pages of the result, the announced
length, a session that keeps the configuration it was started with, and ``serve --config`` at the command line."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from digiskill.service.db import Answer
from digiskill.service.settings import Settings
from digiskill.service.tokens import create_token

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

ROOT = Path(__file__).resolve().parents[1]
JOINT = ROOT / "examples" / "multidim" / "joint.yaml"
WEAK = "security_gdpr"  # the area in which the test-taker is far weaker than in the other five
THETA = {WEAK: -1.5}  # θ in each area (1.0 where not named)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app of ``serve --config examples/multidim/joint.yaml`` (API and pages) on SQLite, with its tokens."""
    from fastapi.testclient import TestClient

    from digiskill.service.context import load_test_config
    from digiskill.web.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('mdserve') / 'md.db'}"
    app = create_app(Settings(database_url=url, cat_config=load_test_config(JOINT)))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        client.tokens = {role: create_token(url, role) for role in ("system", "caseworker")}
        yield client


def _svc(web):
    return web.app.state.service


def _auth(web, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {web.tokens[role]}"}


class Person:
    """A simulated test-taker of ability :data:`THETA` per area who chooses options (seeded: the same answers every
    run); the answer to a step is drawn once, so a repeat sends the very same answer."""

    def __init__(self, web, seed: int = 7) -> None:
        from digiskill.cat.respond import SimulatedPerson

        svc = _svc(web)
        self.items = svc.items
        self.by_area = {
            a: SimulatedPerson(THETA.get(a, 1.0), svc.bank.params, seed=(seed, k)) for k, a in enumerate(svc.bank.areas)
        }
        self.given: dict[int, str | list[str]] = {}

    def answer(self, view: dict) -> str | list[str]:
        if view["step"] not in self.given:
            self.given[view["step"]] = self.by_area[view["area"]].choose(self.items[view["item"]])
        return self.given[view["step"]]


def _invite(web, person: str, **body) -> dict:
    r = web.post("/v1/invitations", json={"person": person, **body}, headers=_auth(web, "system"))
    assert r.status_code == 201, r.text
    return r.json()


def _post(web, code: str, view: dict, person: Person):
    body = {"step": view["step"], "item": view["item"], "answer": person.answer(view)}
    return web.post(f"/v1/citizen/{code}/answers", json=body)


def _recorded(web, session: str) -> list[tuple[str, int]]:
    with _svc(web).read() as db:
        rows = db.execute(
            select(Answer.item, Answer.response).where(Answer.session_id == session).order_by(Answer.step)
        )
        return [(r.item, r.response) for r in rows]


@pytest.fixture(scope="module")
def finished(web):
    """A whole joint test through the API, with a pause, a resume and a repeated answer on the way."""
    inv = _invite(web, "md-person", lang="en")
    code, outcomes, person = inv["code"], [], Person(web)
    view = web.get(f"/v1/citizen/{code}").json()
    assert view["status"] == "invited" and len(view["areas"]) == 6
    shown = view["item"]
    while shown is not None:
        if len(outcomes) == 3:  # a break: no item on screen, no answer taken, then the same item again
            paused = web.post(f"/v1/citizen/{code}/pause").json()
            assert paused["status"] == "paused" and paused["item"] is None
            assert _post(web, code, shown, person).json()["code"] == "paused"
            assert web.post(f"/v1/citizen/{code}/resume").json()["item"] == shown
        r = _post(web, code, shown, person)
        assert r.status_code == 200, r.text
        if len(outcomes) == 5:  # a repeat (a retry, a double click) returns the same outcome and records nothing
            again = _post(web, code, shown, person)
            assert again.text == r.text and again.headers["x-digiskill-replayed"] == "true"
        outcomes.append(r.json())
        shown = outcomes[-1]["next"]
    return inv, outcomes


# ------------------------------------------------------------------------------------------------ the test itself
def test_the_configured_joint_test_runs_to_the_end_with_every_answer_recorded_once(web, finished):
    from digiskill.cat import Session

    svc = _svc(web)
    inv, outcomes = finished
    assert svc.config.dimensionality == "multidimensional" and svc.cat_bank.config == svc.config
    assert outcomes[-1]["finished"] and [o["step"] for o in outcomes] == list(range(1, len(outcomes) + 1))
    recorded = _recorded(web, inv["session"])
    assert [item for item, _ in recorded] == [o["item"] for o in outcomes]  # once each, in order
    with svc.read() as db:
        from digiskill.service.db import SessionRow

        state = Session.model_validate_json(db.get(SessionRow, inv["session"]).state)
    assert state.config == svc.config and state.finished
    # every item chosen by the joint rule; every area at least its minimum of 2 (the unidimensional test: 4)
    assert all(s.rule.endswith("dprule") or s.rule.startswith("start: dprule") for s in state.steps)
    assert all(a.n_items >= 2 for a in state.areas) and len(outcomes) == sum(a.n_items for a in state.areas)
    assert web.get(f"/v1/citizen/{inv['code']}").json()["finished"] is True


def test_the_result_is_the_joint_rule_applied_to_the_answers_the_server_holds(web, finished):
    from digiskill.irt.likelihood import encode_responses
    from digiskill.results.adaptive import adaptive_area_results
    from digiskill.results.document import TEXT

    svc = _svc(web)
    inv, _ = finished
    area_of = svc.item_area
    answers = []
    for area in [a["area"] for a in web.get(f"/v1/citizen/{inv['code']}").json()["areas"]]:
        mine = [(i, r) for i, r in _recorded(web, inv["session"]) if area_of[i] == area]
        ids = [i for i, _ in mine]
        codes = encode_responses(np.array([[r for _, r in mine]], float), svc.bank.params.to_arrays(ids))[0]
        answers.append((area, ids, [int(c) for c in codes]))
    expected = {a.area: a for a in adaptive_area_results(svc.bank, svc.config, answers)}
    staff = web.get(f"/v1/sessions/{inv['session']}/result", headers=_auth(web, "caseworker")).json()
    assert [a["area"] for a in staff["areas"]] == list(expected)
    for a in staff["areas"]:
        want = expected[a["area"]]
        assert a["certified_level"] == want.certified_level and a["joint_level"] == want.joint_level
        assert a["theta"] == pytest.approx(want.theta, rel=1e-9) and a["se"] == pytest.approx(want.se, rel=1e-9)
        own = a["own_answers"]
        assert (own["proven_level"], own["supported_level"]) == (
            want.own_answers.proven_level,
            want.own_answers.supported_level,
        )
        bounded = min(max(want.joint_level or 0, own["proven_level"] or 0), own["supported_level"] or 0) or None
        assert a["certified_level"] == bounded
    # the weak area: its own answers hold its level down, whatever the other five say
    weak = expected[WEAK]
    assert (weak.certified_level or 0) <= (weak.own_answers.supported_level or 0)
    assert (weak.certified_level or 0) < min(expected[a].certified_level or 0 for a in expected if a != WEAK)
    citizen = web.get(f"/v1/citizen/{inv['code']}/result").json()
    assert {a["area"]: a["level"] for a in citizen["areas"]} == {k: v.certified_level for k, v in expected.items()}
    assert citizen["level_rule"] == TEXT["framework_joint"]["en"]  # the session's language


def test_screening_uses_the_joint_posterior_of_the_result(web, finished):
    inv, _ = finished
    staff = web.get(f"/v1/sessions/{inv['session']}/result", headers=_auth(web, "caseworker")).json()
    probs = {a["area"]: a["level_probabilities"] for a in staff["areas"]}
    url = f"/v1/sessions/{inv['session']}/screening?profile=social_health_care_helper"  # security essential
    scr = web.get(url, headers=_auth(web, "caseworker"))
    body = scr.json()
    assert scr.status_code == 200 and body["caseworker_decision_required"] is True
    own = {a["area"]: a["own_answers"]["level_probabilities"] for a in staff["areas"]}
    score = 1.0
    for a in body["areas"]:
        pi, own_pi = probs[a["area"]][str(a["required_level"])], own[a["area"]][str(a["required_level"])]
        assert (a["probability"], a["own_probability"]) == (pi, own_pi)
        # what enters S: π kept within the own evidence, min(max(π, own), own + 0.3)
        assert a["scored_probability"] == pytest.approx(min(max(pi, own_pi), own_pi + 0.3), abs=1e-6)
        score *= a["scored_probability"] if a["essential"] else 1.0
    assert body["score"] == pytest.approx(score, abs=1e-5)
    weak = next(a for a in body["areas"] if a["area"] == WEAK)
    pct, own_pct = round(100 * weak["probability"]), round(100 * weak["own_probability"])
    assert (
        f"{pct}% probability of at least level 3 from all answers, {own_pct}% from the area's own answers"
        in (body["reason"]["en"])
    )
    if round(100 * weak["scored_probability"]) != pct:
        assert (
            f"{own_pct}% from the area's own answers, counted as {round(100 * weak['scored_probability'])}%"
            in (body["reason"]["en"])
        )


def test_the_certificate_is_issued_from_the_recomputed_joint_result_and_verifies(web, finished):
    from digiskill.results.credential import CRITERIA_JOINT
    from digiskill.results.document import TEXT
    from digiskill.results.verification import verify_document
    from digiskill.web.text import TEXTS

    inv, _ = finished
    code = inv["code"]
    levels = {a["area"]: a["level"] for a in web.get(f"/v1/citizen/{code}/result").json()["areas"]}
    cred = web.get(f"/v1/citizen/{code}/credential")
    assert cred.status_code == 200 and web.get(f"/v1/citizen/{code}/credential").text == cred.text  # issued once
    doc = json.loads(cred.text)
    key = web.get("/v1/issuer").json()["public_key_multikey"]
    verdict = verify_document(doc, key=key)
    assert verdict.status == "valid", str(verdict)
    subject = doc["credentialSubject"]
    assert [r["value"] for r in subject["result"]] == [str(v) if v else "no level confirmed" for v in levels.values()]
    assert subject["achievement"]["criteria"]["narrative"] == CRITERIA_JOINT
    assert all("joint level" in e["narrative"] and "own answers alone" in e["narrative"] for e in doc["evidence"])
    v = web.post("/v1/verify", content=cred.content).json()
    assert v["valid"] and v["issuer_established"] and not v["revoked"]
    pdf = web.get(f"/v1/citizen/{code}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout
    words = " ".join(text.decode().split())
    assert " ".join(TEXT["framework_joint"]["en"].split()) in words
    assert " ".join(TEXT["framework"]["en"].split()) not in words  # the unidimensional rule is not claimed
    page = web.get(f"/verify/{doc['id']}", headers={"accept": "text/html"})
    assert page.status_code == 200 and TEXTS["da"]["verify_valid"] in page.text
    assert all(TEXTS["da"]["verify_level_value"].format(level=v) in page.text for v in levels.values() if v)


# ------------------------------------------------------------------------------------------------ the web pages
def test_the_result_pages_show_every_area_and_state_the_joint_rule(web, finished):
    from digiskill.web.text import TEXTS

    svc = _svc(web)
    inv, _ = finished
    shown = "-".join(re.findall(".{4}", inv["code"].replace("-", "")))
    r = web.get(f"/t/{shown}/result", headers={"accept": "text/html"})
    assert r.status_code == 200
    framework = svc.bank.content.framework
    assert all(framework.area(a).name.en in r.text for a in svc.bank.areas)
    assert TEXTS["en"]["result_joint_rule"] in r.text
    # the caseworker's page: θ, SE, the joint level and the own-answers evidence
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/staff/login").text).group(1)
    login = web.post("/staff/login", data={"csrf": token, "token": web.tokens["caseworker"]})
    assert login.status_code == 303
    page = web.get(f"/staff/sessions/{inv['session']}")
    assert page.status_code == 200
    result = web.get(f"/v1/sessions/{inv['session']}/result", headers=_auth(web, "caseworker")).json()
    screened = web.get(f"/staff/sessions/{inv['session']}?profile=social_health_care_helper")
    assert screened.status_code == 200 and TEXTS["da"]["staff_col_own_pi"] in screened.text
    for label in ("staff_col_theta", "staff_joint_heading", "staff_joint_rule", "staff_col_joint", "staff_col_own"):
        assert TEXTS["da"][label] in page.text
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", page.text.split('id="joint"')[1].split("</table>")[0])
    assert len(rows) == len(result["areas"])
    for a, row in zip(result["areas"], rows, strict=True):
        own = a["own_answers"]
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert f"{a['theta']:.2f}" in page.text
        assert cells == [
            str(a["certified_level"] or "–"),
            str(a["joint_level"] or "–"),
            f"{own['theta']:.2f} ({own['se']:.2f})",
            str(own["proven_level"] or "–"),
            str(own["supported_level"] or "–"),
        ]


def test_the_start_page_announces_the_joint_tests_length(web):
    from digiskill.web.text import TEXTS

    r = web.get("/", headers={"accept": "text/html"})
    # six areas × (4 + 3/6) = 27 items ± 20 %: 22–32 items, 45 s each (measured mean 27.0, digiskill/cat/take_config.py)
    assert TEXTS["da"]["about_duration"].format(lo=22, hi=32, lo_min=15, hi_min=25) in r.text


# ------------------------------------------------------------------------------------------------ configurations
def test_a_session_keeps_the_configuration_it_was_started_with(web):
    """A test opened under the standard test, answered on after a restart with ``--config joint.yaml``, ends as a
    unidimensional test (the service prepares its bank for the session's own configuration)."""
    from fastapi.testclient import TestClient

    from digiskill.cat.take_config import take_config
    from digiskill.results.document import TEXT
    from digiskill.service.context import SessionCache, prepare_test
    from digiskill.web.app import create_app

    joint = _svc(web)
    standard = take_config(joint.settings.default_max_items_per_area)
    before = dataclasses.replace(
        joint, config=standard, cat_bank=prepare_test(joint.bank, standard), sessions=SessionCache(), _other_banks={}
    )
    with TestClient(create_app(joint.settings, before), base_url="https://testserver") as old:
        r = old.post("/v1/invitations", json={"person": "md-old", "areas": ["basic_it"]}, headers=_auth(web, "system"))
        inv = r.json()
        first = old.get(f"/v1/citizen/{inv['code']}").json()["item"]
        person = Person(web, seed=8)
        assert _post(old, inv["code"], first, person).status_code == 200
    shown = web.get(f"/v1/citizen/{inv['code']}").json()["item"]
    while shown is not None:  # the restarted service (the joint one) serves the rest
        r = _post(web, inv["code"], shown, person)
        assert r.status_code == 200, r.text
        shown = r.json()["next"]
    result = web.get(f"/v1/sessions/{inv['session']}/result", headers=_auth(web, "caseworker")).json()
    assert result["config"] == json.loads(standard.model_dump_json())
    assert result["areas"][0]["own_answers"] is None and result["areas"][0]["n_items"] >= 4
    assert "level_rule" not in web.get(f"/v1/citizen/{inv['code']}/result").json()
    pdf = web.get(f"/v1/citizen/{inv['code']}/certificate.pdf").content  # a unidimensional certificate's wording
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert " ".join(TEXT["framework"]["da"].split()) in " ".join(text.split())
    assert TEXT["framework_joint"]["da"].split(". ")[1] not in " ".join(text.split())
    assert joint.cat_bank_for(standard).config == standard and joint.cat_bank_for(joint.config) is joint.cat_bank


_QMC_PROBE = """
import sys
from pathlib import Path
from digiskill.bank.default import load_default
from digiskill.bank.loading import load_model_file
from digiskill.cat import CatConfig
from digiskill.service.context import prepare_test
config = load_model_file(Path(sys.argv[1]), CatConfig, what="configuration")
bank = load_default()
before = "scipy.stats.qmc" in sys.modules
prepare_test(bank, config)
print(before, "scipy.stats.qmc" in sys.modules)
"""


@pytest.mark.parametrize(("config", "after"), [(JOINT, "True"), (None, "False")])
def test_a_joint_service_loads_the_eap_points_generator_when_it_starts(config, after, tmp_path):
    """The first citizen to finish a joint test does not wait for ``scipy.stats.qmc`` to import (0.8 s → 42 ms for
    the last answer, measured); the standard test does not load it."""
    if config is None:
        config = tmp_path / "standard.json"
        config.write_text("{}")
    out = subprocess.run(
        [sys.executable, "-c", _QMC_PROBE, str(config)], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", after], out.stderr


def test_expected_length_and_announced_range_of_a_joint_test():
    from digiskill.bank.loading import load_model_file
    from digiskill.cat import CatConfig
    from digiskill.cat.session import AreaState, Session
    from digiskill.cat.take_config import announced_range, expected_length, take_config

    joint = load_model_file(JOINT, CatConfig, what="configuration")

    def fresh(config, n, done=()):
        areas = [
            AreaState(
                area=f"a{k}", theta=0.0, se=1.0, n_items=3 if k in done else 0, estimator="map", finished=k in done
            )
            for k in range(n)
        ]
        return Session(engine="x", parameter_set="p", config=config, seed=0, areas=areas)

    assert [expected_length(fresh(joint, n)) for n in (1, 2, 6)] == [7, 11, 27]  # 4 per area + 3
    assert expected_length(fresh(joint, 6, done=(0, 1))) == 6 + round(4 * (4 + 3 / 6))
    assert expected_length(fresh(take_config(10), 6)) == 36  # the standard test: unchanged
    assert announced_range(joint, 6) == (22, 32) and announced_range(joint, 2) == (9, 13)
    assert announced_range(take_config(10), 6) == (24, 60)  # the standard test: from the minima to the maxima


def test_serve_config_hands_the_parsed_file_to_every_worker_and_a_bad_file_is_one_error_line(
    web, tmp_path, monkeypatch
):
    import digiskill.bank.default
    import digiskill.cli.serve
    from digiskill.cat.take_config import take_config
    from digiskill.cli.main import app
    from digiskill.service.context import configured_test

    monkeypatch.setattr(digiskill.bank.default, "load_default", lambda: _svc(web).bank)  # loaded once already
    started: list[Settings] = []
    monkeypatch.setattr(digiskill.cli.serve, "run_server", lambda settings, *a: started.append(settings))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--database-url", url, "--config", str(JOINT)])
    assert r.exit_code == 0, r.output
    assert started[0].cat_config == _svc(web).config
    monkeypatch.setenv(*next(iter(started[0].to_env().items())))  # what every uvicorn worker reads
    assert configured_test(Settings.from_env()) == _svc(web).config
    assert configured_test(Settings()) == take_config(10)  # without --config: the standard test, as before

    bad = tmp_path / "bad.yaml"
    bad.write_text("dimensionality: multidimensional\nselection: {rule: mfi}\n")
    no_latent = tmp_path / "no-latent.yaml"
    no_latent.write_text(JOINT.read_text() + "latent: {areas: [basic_it], matrix: [[1.0]]}\n")
    for path, says in ((bad, "needs selection rule"), (no_latent, "no row for area"), (tmp_path / "none.yaml", "")):
        r = runner.invoke(app, ["serve", "--database-url", url, "--config", str(path)])
        lines = [line for line in r.output.splitlines() if line.startswith("  ")]
        assert r.exit_code == 2 and len(lines) == 1 and str(path) in lines[0] and says in lines[0], r.output
        assert "Traceback" not in r.output
    assert len(started) == 1  # no bad file started a server


def test_the_readme_tells_how_to_serve_the_multidimensional_test():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Run the service") :].split("\n## ", 1)[0]
    assert "digiskill serve --config examples/multidim/joint.yaml" in section


def test_max_items_per_area_sets_only_the_default_test_and_is_refused_with_a_configuration() -> None:
    """``max_items_per_area`` is the default test's stopping rule; with a configuration its own stopping rules apply,
    so setting both is refused (it used to be ignored without a word), and the settings still travel to the workers."""
    from pydantic import ValidationError

    from digiskill.service.context import configured_test, load_test_config

    joint = load_test_config(JOINT)
    assert configured_test(Settings()).stopping.max_items_per_area == 10
    assert configured_test(Settings(max_items_per_area=6)).stopping.max_items_per_area == 6
    assert configured_test(Settings(cat_config=joint)) == joint
    with pytest.raises(ValidationError, match=r"stopping\.max_items_per_area applies: set it there"):
        Settings(cat_config=joint, max_items_per_area=6)
    for settings in (Settings(cat_config=joint), Settings(max_items_per_area=6)):
        assert Settings.model_validate_json(settings.to_env()["DIGISKILL_SERVICE_SETTINGS"]) == settings
