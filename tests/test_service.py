"""The service over HTTP (in-process), on SQLite and on a throw-away PostgreSQL: a citizen takes a test, answers are
recorded exactly once, nothing leaks the key, every staff route needs its role, screening, certificates, revocation,
audit, GDPR export and erasure, retention, problem bodies, the OpenAPI document."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from digiskill.service.app import create_app, openapi_document
from digiskill.service.auth import ROLES, new_code, normalize_code
from digiskill.service.db import Answer, SessionRow, utcnow
from digiskill.service.leaks import find_leaks
from digiskill.service.ratelimit import RateLimiter
from digiskill.service.settings import Settings
from digiskill.service.tokens import create_token

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`:UserWarning")

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Api:
    client: object
    tokens: dict[str, str]
    app: object
    url: str

    @property
    def svc(self):
        return self.app.state.service

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def invite(self, person: str, **body) -> dict:
        r = self.client.post("/v1/invitations", json={"person": person, **body}, headers=self.auth("system"))
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    from fastapi.testclient import TestClient

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'service.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").new_database()
    tokens = {role: create_token(url, role) for role in ROLES}
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        yield Api(client, tokens, app, url)


def some_answer(view: dict):
    """A valid answer to the item ``view`` (not necessarily right)."""
    ids = [o["id"] for o in view["options"]]
    if view["format"] in ("single_choice", "true_false"):
        return ids[0]
    return ids[:2] if view["format"] == "multiple_response" else ids


def explanations(api: Api, view: dict | None) -> list[str]:
    if not view:
        return []
    ex = api.svc.items[view["item"]].explanation
    return [ex.da, ex.en]


def assert_no_key(api: Api, body, *views) -> None:
    """No field that gives an answer away, no explanation, and no item key as the only option list."""
    shown = [v for v in views if v]
    assert find_leaks(body, [e for v in shown for e in explanations(api, v)]) == []
    for v in shown:
        assert "key" not in v and set(v) == {"step", "item", "format", "area", "area_name", "stem", "options"}
        assert all(set(o) == {"id", "text"} for o in v["options"])


def take(api: Api, code: str, answer=some_answer) -> list[dict]:
    """Answer until the end; every response is scanned for keys. Returns the outcomes."""
    view = api.client.get(f"/v1/citizen/{code}").json()
    shown = view["item"]
    assert_no_key(api, view, shown)
    outcomes = []
    while shown is not None:
        r = api.client.post(
            f"/v1/citizen/{code}/answers", json={"step": shown["step"], "item": shown["item"], "answer": answer(shown)}
        )
        assert r.status_code == 200, r.text
        outcome = r.json()
        assert_no_key(api, outcome, shown, outcome["next"])
        outcomes.append(outcome)
        shown = outcome["next"]
    return outcomes


# --------------------------------------------------------------------------------------------------- basics
def test_codes_have_100_random_bits_and_read_back_leniently():
    code = new_code()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", code)
    assert normalize_code(code.lower().replace("-", " ")) == code.replace("-", "")
    assert normalize_code("O" + code[1:]) == normalize_code("0" + code[1:])
    assert normalize_code("short") is None
    assert len({new_code() for _ in range(1000)}) == 1000


def test_health_problem_bodies_and_limits(api):
    assert api.client.get("/health").json()["status"] == "ok"
    r = api.client.get("/no/such/route")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = api.client.post("/v1/invitations", json={"person": "p", "lang": "fr"}, headers=api.auth("system"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "lang" in r.json()["detail"]
    r = api.client.post("/v1/invitations", json={"person": "010203-1234"}, headers=api.auth("system"))
    assert r.status_code == 422 and "CPR" in r.json()["detail"]
    r = api.client.post("/v1/invitations", json={"person": "p", "areas": ["nope"]}, headers=api.auth("system"))
    assert r.status_code == 422 and "unknown area" in r.json()["detail"]
    r = api.client.post("/v1/verify", content=b"[" * 60_000, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "not-json"
    r = api.client.post("/v1/verify", content=b"x" * 70_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    r = api.client.post("/v1/citizen/AAAA/answers", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_a_500_says_nothing_of_the_internals(api, monkeypatch):
    from digiskill.service import assessments

    def boom(*_a, **_k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(assessments, "create_invitation", boom)
    monkeypatch.setattr("digiskill.service.routes.staff.create_invitation", boom)
    from fastapi.testclient import TestClient

    with TestClient(api.app, raise_server_exceptions=False) as client:
        r = client.post("/v1/invitations", json={"person": "p-500"}, headers=api.auth("system"))
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("error", ["driver", "sqlalchemy"])
def test_a_locked_database_is_a_503_with_retry_after(api, monkeypatch, error):
    """A write that waited longer than SQLite's busy timeout, raised by the driver itself (BEGIN IMMEDIATE on the driver
    connection) or wrapped by SQLAlchemy, is a 503 problem the client may retry, never a 500."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def locked(*_a, **_k):
        raw = sqlite3.OperationalError("database is locked")
        raise raw if error == "driver" else OperationalError("BEGIN IMMEDIATE", {}, raw)

    monkeypatch.setattr("digiskill.service.routes.staff.create_invitation", locked)
    from fastapi.testclient import TestClient

    with TestClient(api.app, raise_server_exceptions=False) as client:
        r = client.post("/v1/invitations", json={"person": "p-locked"}, headers=api.auth("system"))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["code"] == "busy" and "locked" not in r.text


# ------------------------------------------------------------------------------------------------ the citizen
def test_citizen_takes_a_whole_test_and_gets_a_verified_credential(api):
    from digiskill.results.signing import verify_credential

    inv = api.invite("person-full", lang="en")
    assert len(inv["code"]) == 24 and inv["link"].endswith(inv["code"])
    outcomes = take(api, inv["code"])
    assert outcomes[-1]["finished"] and [o["step"] for o in outcomes] == list(range(1, len(outcomes) + 1))
    assert len(outcomes) >= 6 * 4  # at least the minimum per area in all six areas
    res = api.client.get(f"/v1/citizen/{inv['code']}/result")
    assert res.status_code == 200
    assert_no_key(api, res.json())
    cred = api.client.get(f"/v1/citizen/{inv['code']}/credential")
    again = api.client.get(f"/v1/citizen/{inv['code']}/credential")
    assert cred.text == again.text  # issued once
    key = api.client.get("/v1/issuer").json()["public_key_multikey"]
    assert verify_credential(json.loads(cred.text), key).ok
    pdf = api.client.get(f"/v1/citizen/{inv['code']}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # the server's result is the one recomputed from the answers it holds
    staff = api.client.get(f"/v1/sessions/{inv['session']}/result", headers=api.auth("caseworker")).json()
    assert [s["response"] for s in staff["steps"]] == _responses(api, inv["session"])
    by_area = {a["area"]: a["certified_level"] for a in staff["areas"]}
    assert {a["area"]: a["level"] for a in res.json()["areas"]} == by_area
    subject = json.loads(cred.text)["credentialSubject"]["result"]
    assert [r["value"] for r in subject] == [str(v) if v else "no level confirmed" for v in by_area.values()]
    v = api.client.post("/v1/verify", content=cred.content).json()
    assert v["valid"] and v["issuer_established"] and not v["revoked"]


def _responses(api: Api, session_id: str) -> list[int]:
    with api.svc.read() as db:
        return list(db.scalars(select(Answer.response).where(Answer.session_id == session_id).order_by(Answer.step)))


def _count_answers(api: Api, session_id: str) -> int:
    with api.svc.read() as db:
        return db.scalar(select(func.count()).select_from(Answer).where(Answer.session_id == session_id))


def test_an_answer_is_recorded_exactly_once(api):
    inv = api.invite("person-once", areas=["basic_it"])
    code = inv["code"]
    shown = api.client.get(f"/v1/citizen/{code}").json()["item"]
    body = {"step": 1, "item": shown["item"], "answer": some_answer(shown)}
    first = api.client.post(f"/v1/citizen/{code}/answers", json=body)
    repeat = api.client.post(f"/v1/citizen/{code}/answers", json=body)
    assert first.status_code == repeat.status_code == 200
    assert first.json() == repeat.json() and repeat.headers["X-Digiskill-Replayed"] == "true"
    assert _count_answers(api, inv["session"]) == 1
    other = dict(body, answer=[o["id"] for o in shown["options"]][-1:] if isinstance(body["answer"], list) else "T")
    if other["answer"] == body["answer"]:
        other["answer"] = [shown["options"][0]["id"]]
    r = api.client.post(f"/v1/citizen/{code}/answers", json=other)
    assert r.status_code == 409 and r.json()["code"] == "step-answered"
    nxt = first.json()["next"]
    r = api.client.post(f"/v1/citizen/{code}/answers", json={"step": 3, "item": nxt["item"], "answer": "A"})
    assert r.status_code == 409 and r.json()["code"] == "stale-step" and r.json()["current_step"] == 2
    r = api.client.post(f"/v1/citizen/{code}/answers", json={"step": 2, "item": shown["item"], "answer": "A"})
    assert r.status_code == 409 and r.json()["code"] == "stale-item"
    r = api.client.post(f"/v1/citizen/{code}/answers", json={"step": 2, "item": nxt["item"], "answer": "Z"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    for extra in ({"theta": 3.0}, {"finished": True}, {"level": 6}):
        r = api.client.post(f"/v1/citizen/{code}/answers", json={**body, "step": 2, "item": nxt["item"], **extra})
        assert r.status_code == 422  # a client never sends a θ, a level or a "finished" flag
    assert _count_answers(api, inv["session"]) == 1
    with api.svc.read() as db:
        row = db.get(SessionRow, inv["session"])
    assert row.n_steps == 1 and row.version == 2 and row.current_item == nxt["item"]
    outcomes = take(api, code)
    r = api.client.post(f"/v1/citizen/{code}/answers", json={"step": len(outcomes) + 2, "item": "X", "answer": "A"})
    assert r.status_code == 409 and r.json()["code"] == "finished"
    assert _count_answers(api, inv["session"]) == len(outcomes) + 1


def test_a_step_served_by_another_worker_is_read_from_the_database_not_from_this_workers_cache(api):
    """Each worker keeps the parsed session of its last step; when another worker (a second app on the same database)
    answered meanwhile, the version and state in the database differ and this worker parses them afresh."""
    from fastapi.testclient import TestClient

    from digiskill.cat import Session

    inv = api.invite("person-two-workers", areas=["basic_it"])
    code, sid = inv["code"], inv["session"]
    shown = api.client.get(f"/v1/citizen/{code}").json()["item"]
    first = api.client.post(
        f"/v1/citizen/{code}/answers", json={"step": 1, "item": shown["item"], "answer": some_answer(shown)}
    ).json()
    cached = api.svc.sessions.get(sid, 2, _row(api, sid).state)
    assert cached is not None and cached.n_items == 1  # this worker kept step 1's session
    with TestClient(create_app(Settings(database_url=api.url))) as other:
        nxt = first["next"]
        second = other.post(
            f"/v1/citizen/{code}/answers", json={"step": 2, "item": nxt["item"], "answer": some_answer(nxt)}
        )
        assert second.status_code == 200, second.text
    assert api.svc.sessions.get(sid, 3, _row(api, sid).state) is None  # version 3 is not what this worker holds
    third_view = second.json()["next"]
    third = api.client.post(
        f"/v1/citizen/{code}/answers", json={"step": 3, "item": third_view["item"], "answer": some_answer(third_view)}
    )
    assert third.status_code == 200, third.text
    row = _row(api, sid)
    stored = Session.model_validate_json(row.state)
    assert row.version == 4 and row.n_steps == 3 and _count_answers(api, sid) == 3
    assert stored.administered == [shown["item"], nxt["item"], third_view["item"]]
    assert api.svc.sessions.get(sid, 4, row.state) == stored  # and this worker now holds the new version


def test_the_session_cache_serves_only_the_same_version_and_state_and_stays_bounded():
    from digiskill.bank.default import load_default
    from digiskill.cat import CatBank, start_session
    from digiskill.service.context import SessionCache

    s1 = start_session(CatBank.from_parameters(load_default().params), seed=1, areas=["basic_it"])
    cache = SessionCache(size=2)
    cache.put("a", 1, s1.model_dump_json(), s1)
    assert cache.get("a", 1, s1.model_dump_json()) is s1
    assert cache.get("a", 2, s1.model_dump_json()) is None  # another version
    assert cache.get("a", 1, s1.model_dump_json().replace('"seed":1', '"seed":2')) is None  # same version, other state
    assert cache.get("b", 1, s1.model_dump_json()) is None
    cache.put("b", 1, "{}", s1)
    cache.get("a", 1, s1.model_dump_json())  # "a" used last: "b" goes first
    cache.put("c", 1, "{}", s1)
    assert len(cache) == 2 and cache.get("b", 1, "{}") is None and cache.get("c", 1, "{}") is s1


def _row(api: Api, session_id: str):
    with api.svc.read() as db:
        return db.get(SessionRow, session_id)


def test_pause_and_resume_on_another_device_at_the_same_item(api):
    inv = api.invite("person-pause", areas=["security_gdpr"])
    code = inv["code"]
    shown = api.client.get(f"/v1/citizen/{code}").json()["item"]
    out = api.client.post(
        f"/v1/citizen/{code}/answers", json={"step": 1, "item": shown["item"], "answer": some_answer(shown)}
    ).json()
    paused = api.client.post(f"/v1/citizen/{code}/pause").json()
    assert paused["status"] == "paused" and paused["item"] is None
    r = api.client.post(f"/v1/citizen/{code}/answers", json={"step": 2, "item": out["next"]["item"], "answer": "A"})
    assert r.status_code == 409 and r.json()["code"] == "paused"
    # "another device": the code typed in lower case with spaces instead of dashes
    resumed = api.client.post(f"/v1/citizen/{code.lower().replace('-', ' ')}/resume").json()
    assert resumed["status"] == "active" and resumed["item"] == out["next"] and resumed["answered"] == 1
    r = api.client.get(f"/v1/citizen/{code}/result")
    assert r.status_code == 409 and r.json()["code"] == "not-finished"


def test_unknown_codes_are_rate_limited(api):
    api.svc.limiter = RateLimiter()
    try:
        limit = api.svc.settings.limits.code_failures_per_minute
        codes = [api.client.get(f"/v1/citizen/{new_code()}").status_code for _ in range(limit + 2)]
        assert codes[:limit] == [404] * limit and codes[limit:] == [429, 429]
        inv = api.invite("person-limited", areas=["basic_it"])
        r = api.client.get(f"/v1/citizen/{inv['code']}")
        assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    finally:
        api.svc.limiter = RateLimiter()


# ------------------------------------------------------------------------------------------------ roles
PUBLIC = {"/health", "/v1/issuer", "/v1/issuer/controller", "/v1/status/revocation", "/v1/verify", "/openapi.json"}


def test_every_staff_route_needs_its_role(api):
    """Walk every operation of the API: public and citizen ones need no token, every other one declares its roles
    (x-roles) and answers 401 without a valid bearer token and 403 to every other role."""
    paths = api.client.get("/openapi.json").json()["paths"]
    staff = 0
    for path, operations in paths.items():
        for method, op in operations.items():
            roles = op.get("x-roles")
            if path in PUBLIC or path.startswith("/v1/citizen/"):
                assert roles is None
                continue
            assert roles, f"{method} {path} declares no roles"
            staff += 1
            url = re.sub(r"\{[^}]+\}", "x", path)
            call = lambda headers, m=method, u=url: api.client.request(m, u, json={}, headers=headers)  # noqa: E731
            assert call({}).status_code == 401, (method, path)
            assert call({"Authorization": "Bearer dsk_wrong"}).status_code == 401, (method, path)
            assert call({"Authorization": "Basic abc"}).status_code == 401, (method, path)
            for role in ROLES:
                status = call(api.auth(role)).status_code
                assert (status == 403) == (role not in roles), (method, path, role, status)
                assert status != 401
    assert staff >= 12


# ------------------------------------------------------------------------------------------ staff workflows
def _finished(api: Api, person: str, **body) -> dict:
    inv = api.invite(person, **body)
    take(api, inv["code"])
    return inv


def test_a_process_issues_one_certificate_at_a_time(api, monkeypatch):
    """Credentials asked for at once are issued one after the other within a process (``Service.issuing``: the work
    holds the interpreter lock anyway), each once."""
    import threading
    import time

    from digiskill.results import issue
    from digiskill.service.assessments import by_code, ensure_certificate

    finished = [_finished(api, f"person-issuing-{i}") for i in range(4)]
    real, running, most = issue.issue_certificate, [0], [0]
    guard = threading.Lock()

    def counted(*args, **kwargs):
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the others to arrive
        try:
            return real(*args, **kwargs)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(issue, "issue_certificate", counted)
    issued: dict[str, str] = {}

    def fetch(inv: dict) -> None:
        row = by_code(api.svc, inv["code"], "test")
        issued[inv["session"]] = ensure_certificate(api.svc, row, f"citizen:{row.id}", "citizen").id

    threads = [threading.Thread(target=fetch, args=(inv,)) for inv in finished]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert most[0] == 1
    assert sorted(issued) == sorted(inv["session"] for inv in finished) and len(set(issued.values())) == 4


def test_screening_issue_revoke_and_the_audit_log(api):
    inv = _finished(api, "person-screen", profile="hotel_cleaning_assistant")
    sid = inv["session"]
    scr = api.client.get(f"/v1/sessions/{sid}/screening", headers=api.auth("caseworker")).json()
    assert scr["caseworker_decision_required"] is True and scr["profile"] == "hotel_cleaning_assistant"
    assert scr["band"] in ("expected_to_meet", "uncertain", "skills_gap") and scr["reason"]["da"]
    essential = [a for a in scr["areas"] if a["essential"]]
    prod = 1.0
    for a in essential:
        prod *= a["probability"]
    assert scr["score"] == pytest.approx(prod, abs=1e-5)
    r = api.client.get(f"/v1/sessions/{sid}/screening?profile=nope", headers=api.auth("caseworker"))
    assert r.status_code == 422
    issued = api.client.post(f"/v1/sessions/{sid}/certificate", headers=api.auth("caseworker")).json()
    assert issued["credential"]["id"] == issued["id"] and not issued["revoked"]
    credential = json.dumps(issued["credential"])
    assert api.client.post("/v1/verify", content=credential).json()["valid"]
    r = api.client.post(
        "/v1/revocations",
        json={"certificate": issued["id"], "reason": "issued by mistake"},
        headers=api.auth("caseworker"),
    )
    assert r.status_code == 200 and r.json()["revoked"]
    v = api.client.post("/v1/verify", content=credential).json()
    assert v["signature_valid"] and v["revoked"] and not v["valid"]
    reissued = api.client.post(f"/v1/sessions/{sid}/certificate", headers=api.auth("caseworker")).json()
    assert reissued["id"] != issued["id"] and not reissued["revoked"]
    entries = api.client.get("/v1/audit", headers=api.auth("admin")).json()["entries"]
    mine = [e for e in entries if e["target"] == "person-screen"]
    actions = [e["action"] for e in mine]
    assert actions == [
        "create_invitation",
        "read_result",
        "read_result",
        "issue_certificate",
        "revoke_certificate",
        "issue_certificate",
    ]
    assert {e["role"] for e in mine} == {"system", "caseworker"}
    tampered = dict(issued["credential"], name="Forged")
    v = api.client.post("/v1/verify", content=json.dumps(tampered)).json()
    assert not v["valid"] and "signature-invalid" in [p["code"] for p in v["problems"]]


def test_the_audit_log_is_append_only_in_the_database(api):
    from sqlalchemy.exc import DBAPIError

    api.invite("person-audit", areas=["basic_it"])
    for statement in ("UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"):
        with api.svc.write() as db, pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement))
            db.commit()
    entries = api.client.get("/v1/audit", headers=api.auth("admin")).json()["entries"]
    assert any(e["target"] == "person-audit" for e in entries)


def test_gdpr_export_and_erase(api):
    inv = _finished(api, "person-gdpr", areas=["communication"])
    cred = api.client.get(f"/v1/citizen/{inv['code']}/credential").text
    r = api.client.get("/v1/persons/person-gdpr/export", headers=api.auth("caseworker"))
    export = r.json()
    assert len(export["sessions"]) == 1 and len(export["certificates"]) == 1
    assert len(export["sessions"][0]["answers"]) == export["sessions"][0]["answered"] > 0
    erased = api.client.delete("/v1/persons/person-gdpr", headers=api.auth("admin")).json()["erased"]
    assert erased == {"sessions": 1, "answers": export["sessions"][0]["answered"], "certificates": 1}
    after = api.client.get("/v1/persons/person-gdpr/export", headers=api.auth("caseworker")).json()
    assert after["sessions"] == [] and after["certificates"] == []
    assert [e["action"] for e in after["audit"]][-2:] == ["erase_person", "export_person"]
    assert api.client.get(f"/v1/citizen/{inv['code']}").status_code == 404
    assert api.client.post("/v1/verify", content=cred).json()["valid"]  # the person's credential still verifies


def test_retention_deletes_response_logs_and_certificates_stay_verifiable(api):
    inv = _finished(api, "person-retention", areas=["workflows"])
    cred = api.client.get(f"/v1/citizen/{inv['code']}/credential").text
    from digiskill.service.assessments import apply_retention

    kept = dataclasses.replace(api.svc, settings=api.svc.settings.model_copy(update={"retention_days": 30}))
    assert apply_retention(kept, now=utcnow() + timedelta(days=29)) == 0
    assert apply_retention(kept, now=utcnow() + timedelta(days=31)) >= 1
    assert _count_answers(api, inv["session"]) == 0
    result = api.client.get(f"/v1/sessions/{inv['session']}/result", headers=api.auth("admin")).json()
    assert result["steps"] is None and result["areas"]
    assert api.client.get(f"/v1/citizen/{inv['code']}").status_code == 410
    assert api.client.post("/v1/verify", content=cred).json()["valid"]
    r = api.client.post("/v1/admin/retention", headers=api.auth("admin"))
    assert r.status_code == 409  # this instance has no retention setting


# ------------------------------------------------------------------------------------------------ OpenAPI
def test_openapi_document_is_3_1_and_the_committed_copy_is_current(api):
    served = api.client.get("/openapi.json").json()
    assert served["openapi"].startswith("3.1")
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == openapi_document() == served, (
        "docs/openapi.json is out of date: python -m digiskill.service.openapi > docs/openapi.json"
    )


def test_the_session_state_is_stored_with_lz4_on_postgresql(api):
    """Migration 0004: on PostgreSQL the state column compresses with lz4 (Debian's PostgreSQL has it); SQLite has
    no column compression, and the migration leaves it at the same head."""
    from sqlalchemy import text

    with api.svc.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
        if api.svc.engine.dialect.name == "postgresql":
            method = conn.execute(
                text(
                    "SELECT attcompression FROM pg_attribute "
                    "WHERE attrelid = 'test_sessions'::regclass AND attname = 'state'"
                )
            ).scalar()
            assert method == "l"


def test_the_answers_read_and_the_pause_run_alike_through_both_drivers(api):
    """``answered`` (every row) and ``pause_steps`` (a read, a versioned write and a read): on PostgreSQL the awaited
    driver gives the very rows the synchronous one gives, and its write moves the version once; the web result page
    and the pause buttons use them."""
    import asyncio

    from digiskill.service.assessments import answered, pause_steps
    from digiskill.service.steps import arun_steps, run_steps

    inv = api.invite("person-drivers", areas=["security_gdpr"])
    code, view = inv["code"], api.client.get(f"/v1/citizen/{inv['code']}").json()["item"]
    given = []
    for step in (1, 2, 3):
        given.append(view["item"])
        body = {"step": step, "item": view["item"], "answer": some_answer(view)}
        view = api.client.post(f"/v1/citizen/{code}/answers", json=body).json()["next"]
    rows = run_steps(api.svc, answered(inv["session"]))
    assert [(r.step, r.item) for r in rows] == list(zip((1, 2, 3), given, strict=True))
    assert all(r.response in (0, 1) and json.loads(r.answer) for r in rows)
    with api.svc.read() as db:
        before = db.get(SessionRow, inv["session"]).version

    async def awaited():  # one event loop, its pool closed at the end
        try:
            paused = await arun_steps(api.svc, pause_steps(api.svc, inv["session"], True))
            read = await arun_steps(api.svc, answered(inv["session"]))
            return paused, read, await arun_steps(api.svc, pause_steps(api.svc, inv["session"], False))
        finally:
            await api.svc.aclose()

    if api.svc.inline:  # SQLite: the steps run straight through
        paused = run_steps(api.svc, pause_steps(api.svc, inv["session"], True))
        read = run_steps(api.svc, answered(inv["session"]))
        resumed = run_steps(api.svc, pause_steps(api.svc, inv["session"], False))
    else:
        paused, read, resumed = asyncio.run(asyncio.wait_for(awaited(), 60))
    assert read == rows
    assert paused.status == "paused" and paused.n_steps == 3 and paused.version == before + 1
    assert resumed.status == "active" and resumed.version == before + 2
