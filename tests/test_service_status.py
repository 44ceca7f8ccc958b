"""The revocation status list and the controller document the service publishes (issue 13), on SQLite and on a
throw-away PostgreSQL through the service fixture of tests/test_service.py: credentials carry a status entry with a
random unique index, the signed list flips a bit at revocation, the CLI and Digital Bazaar's verifier read what the
service serves, allocation retries on a taken index, erasure keeps the index, a 0002 database upgrades, and the new
routes are public, rate-limited and answer problem+json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from test_independent_verifier import _run, node  # noqa: F401  (the Node verifier and its fixture)
from test_ob3_schema import _errors, validator  # noqa: F401  (the vendored OB 3.0 schema)
from test_service import Api, _finished, api  # noqa: F401  (the parametrised service fixture)

from digiskill.results.signing import verify_credential
from digiskill.results.status import MIN_ENTRIES, decode_bits
from digiskill.results.verification import DID_CONTEXTS, EXIT_CODES
from digiskill.service import statuslist
from digiskill.service.db import AuditEntry, Certificate
from digiskill.service.problems import PROBLEM_JSON
from digiskill.service.ratelimit import RateLimiter
from digiskill.service.settings import Limits

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`:UserWarning")

DIGISKILL = str(Path(sys.executable).with_name("digiskill"))


def _credential(service: Api, person: str) -> dict:
    inv = _finished(service, person, areas=["basic_it"])
    r = service.client.get(f"/v1/citizen/{inv['code']}/credential")
    assert r.status_code == 200, r.text
    return r.json()


def _index(credential: dict) -> int:
    return int(credential["credentialStatus"]["statusListIndex"])


def _stored_index(service: Api, cert_id: str) -> int | None:
    with service.svc.read() as db:
        return db.scalar(select(Certificate.status_index).where(Certificate.id == cert_id))


def _revoke(service: Api, cert_id: str) -> None:
    r = service.client.post(
        "/v1/revocations", json={"certificate": cert_id, "reason": "test"}, headers=service.auth("caseworker")
    )
    assert r.status_code == 200 and r.json()["revoked"], r.text


def _bits(listed: dict):
    return decode_bits(listed["credentialSubject"]["encodedList"])


def test_credentials_carry_distinct_indices_and_a_revocation_flips_only_its_bit(api, validator, monkeypatch):  # noqa: F811
    first, second = _credential(api, "status-a"), _credential(api, "status-b")
    list_url = api.svc.settings.public_url + "/v1/status/revocation"
    for cred in (first, second):
        entry = cred["credentialStatus"]
        assert entry == {
            "id": f"{list_url}#{entry['statusListIndex']}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": entry["statusListIndex"],
            "statusListCredential": list_url,
        }
        assert 0 <= _index(cred) < MIN_ENTRIES and _stored_index(api, cred["id"]) == _index(cred)
        assert _errors(validator, cred) == []  # still a valid OB 3.0 AchievementCredential
    assert _index(first) != _index(second)

    signings = []
    real = statuslist._signed_list
    monkeypatch.setattr(statuslist, "_signed_list", lambda svc: signings.append(1) or real(svc))
    before = api.client.get("/v1/status/revocation")
    assert before.status_code == 200 and before.headers["content-type"] == "application/json"
    assert before.headers["cache-control"] == "public, max-age=300"
    listed = before.json()
    key = api.client.get("/v1/issuer").json()["public_key_multikey"]
    assert verify_credential(listed, key).ok and listed["id"] == list_url
    assert listed["issuer"] == first["issuer"]["id"] and listed["credentialSubject"]["ttl"] == 300_000
    bits = _bits(listed)
    assert bits.size == MIN_ENTRIES and not bits[_index(first)] and not bits[_index(second)]
    with api.svc.read() as db:  # every set bit is a revoked certificate of this database, and no other
        revoked = db.scalars(select(Certificate.status_index).where(Certificate.revoked_at.is_not(None))).all()
    assert sorted(bits.nonzero()[0]) == sorted(i for i in revoked if i is not None)
    again = api.client.get("/v1/status/revocation")
    assert again.content == before.content and len(signings) == 1  # served from the process's cache
    etag = before.headers["etag"]
    cached = api.client.get("/v1/status/revocation", headers={"If-None-Match": f"W/{etag}"})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag

    _revoke(api, first["id"])
    after = api.client.get("/v1/status/revocation")
    bits = _bits(after.json())
    assert bits[_index(first)] and not bits[_index(second)] and len(signings) == 2
    assert after.headers["etag"] != etag and verify_credential(after.json(), key).ok
    assert api.client.get("/v1/status/revocation", headers={"If-None-Match": etag}).status_code == 200

    # another worker on the same database signs the same bytes: the document depends on the revocations alone
    from fastapi.testclient import TestClient

    from digiskill.service.app import create_app
    from digiskill.service.settings import Settings

    with TestClient(create_app(Settings(database_url=api.url))) as other:
        theirs = other.get("/v1/status/revocation")
    assert theirs.content == after.content and theirs.headers["etag"] == after.headers["etag"]


def test_the_cli_and_digital_bazaar_verify_what_the_service_serves_before_and_after_revocation(
    api,  # noqa: F811
    node,  # noqa: F811
    tmp_path,
):
    cred = _credential(api, "status-cli")
    (tmp_path / "cred.json").write_text(json.dumps(cred))
    (tmp_path / "controller.json").write_bytes(api.client.get("/v1/issuer/controller").content)
    (tmp_path / "before.json").write_bytes(api.client.get("/v1/status/revocation").content)
    _revoke(api, cred["id"])
    (tmp_path / "after.json").write_bytes(api.client.get("/v1/status/revocation").content)

    def cli(listed: str) -> subprocess.Popen:
        args = [DIGISKILL, "verify", str(tmp_path / "cred.json"), "--status-list", str(tmp_path / listed)]
        args += ["--trust", str(tmp_path / "controller.json")]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    running = {listed: cli(listed) for listed in ("before.json", "after.json")}  # both at once: ~1 s each
    done = {listed: (p.wait(60), p.communicate()[0]) for listed, p in running.items()}
    assert done["before.json"][0] == EXIT_CODES["valid"], done
    assert done["after.json"][0] == EXIT_CODES["revoked"] and "revoked" in done["after.json"][1], done
    multikey = api.client.get("/v1/issuer").json()["public_key_multikey"]
    for listed, expected in (("before.json", (0, False)), ("after.json", (4, True))):
        code, out = _run(node, cred, multikey, tmp_path, json.loads((tmp_path / listed).read_text()))
        assert (code, out["revoked"]) == expected, out


def test_a_taken_index_is_drawn_again_and_an_erased_certificate_keeps_its_index(api, monkeypatch):  # noqa: F811
    from digiskill.results import issue

    erased = _credential(api, "status-erased")
    _revoke(api, erased["id"])
    r = api.client.delete("/v1/persons/status-erased", headers=api.auth("admin"))
    assert r.status_code == 200 and r.json()["erased"]["certificates"] == 1
    taken = _index(erased)
    assert _stored_index(api, erased["id"]) == taken  # erasure keeps the index and the revocation
    assert _bits(api.client.get("/v1/status/revocation").json())[taken]
    assert api.client.post("/v1/verify", json=erased).json()["revoked"]

    # the random draw hits the erased certificate's index first: it is never given again
    with api.svc.read() as db:
        used = set(db.scalars(select(Certificate.status_index).where(Certificate.status_index.is_not(None))))
    fresh = next(i for i in range(MIN_ENTRIES - 1, 0, -1) if i not in used)
    draws = iter([taken, fresh])
    monkeypatch.setattr(statuslist, "draw_index", lambda n: next(draws))
    assert _index(_credential(api, "status-redraw")) == fresh
    # a list filling up: after BLIND_DRAWS taken draws in a row, the draw is among the free indices, listed
    draws = iter([taken] * statuslist.BLIND_DRAWS + [0])
    assert statuslist.free_index(api.svc) == min(set(range(MIN_ENTRIES)) - used - {fresh})

    # another worker took the drawn index between the check and the insert: the unique index refuses the insert,
    # and the credential is signed again with a new index
    used.add(fresh)
    second = next(i for i in range(MIN_ENTRIES - 1, 0, -1) if i not in used)
    offered = iter([taken, second])
    monkeypatch.setattr(statuslist, "free_index", lambda svc: next(offered))
    signed = []
    real_issue = issue.issue_certificate  # ensure_certificate imports it from its module when it issues
    monkeypatch.setattr(issue, "issue_certificate", lambda *a, **k: signed.append(1) or real_issue(*a, **k))
    cred = _credential(api, "status-race")
    assert _index(cred) == second and len(signed) == 2
    with api.svc.read() as db:
        issued = db.scalars(
            select(AuditEntry.action).where(
                AuditEntry.target == "status-race", AuditEntry.action == "issue_certificate"
            )
        ).all()
    assert len(issued) == 1  # the refused insert left no audit entry


def test_the_new_routes_are_public_rate_limited_and_answer_problems(api, monkeypatch):  # noqa: F811
    controller = api.client.get("/v1/issuer/controller")  # no token
    assert controller.status_code == 200 and controller.headers["content-type"] == "application/json"
    doc, issuer = controller.json(), api.client.get("/v1/issuer").json()
    assert doc["id"] == issuer["profile"]["id"] and doc["assertionMethod"] == [doc["verificationMethod"][0]["id"]]
    assert doc["verificationMethod"][0]["publicKeyMultibase"] == issuer["public_key_multikey"]
    assert issuer["controller_document"].endswith("/v1/issuer/controller")
    assert issuer["status_list"].endswith("/v1/status/revocation")
    etag = controller.headers["etag"]
    assert api.client.get("/v1/issuer/controller", headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    for method, path, status in (
        ("POST", "/v1/status/revocation", 405),
        ("DELETE", "/v1/issuer/controller", 405),
        ("GET", "/v1/status/suspension", 404),
    ):
        r = api.client.request(method, path)
        assert r.status_code == status and r.headers["content-type"] == PROBLEM_JSON, (method, path)
    limited = api.svc.settings.model_copy(update={"limits": Limits(public_per_minute=3)})
    monkeypatch.setattr(api.svc, "settings", limited)
    monkeypatch.setattr(api.svc, "limiter", RateLimiter())
    for path in ("/v1/status/revocation", "/v1/issuer/controller"):
        api.svc.limiter = RateLimiter()
        codes = [api.client.get(path).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429], path
        r = api.client.get(path)
        assert r.headers["content-type"] == PROBLEM_JSON and r.headers["retry-after"] == "60"
        assert r.json()["code"] == "rate-limited"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_0002_database_with_a_certificate_upgrades_and_the_old_credential_still_verifies(backend, request, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from digiskill.bank.default import load_default
    from digiskill.bank.responses import read_responses
    from digiskill.results.batch import batch_results
    from digiskill.results.credential import IssuerProfile
    from digiskill.results.issue import issue_certificate
    from digiskill.results.signing import generate_key_pair
    from digiskill.service.app import create_app
    from digiskill.service.context import DEMO_ISSUER_ID
    from digiskill.service.db import utcnow
    from digiskill.service.migrate import current_revision, upgrade_database
    from digiskill.service.settings import Settings
    from digiskill.service.tokens import create_token

    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_cluster").new_database()
    )
    upgrade_database(url, "0002")
    key, _ = generate_key_pair()
    bank = load_default()
    result = next(batch_results(read_responses(Path("examples/jobcenter/responses.csv").resolve(), bank.params), bank))
    old = issue_certificate(result, bank, IssuerProfile(id=DEMO_ISSUER_ID, name="demo"), key)  # no status entry
    credential = json.loads(old.credential_json)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    engine = create_engine(url)
    with engine.begin() as conn:  # what a 0002 service held: its demo key and one issued certificate
        conn.execute(
            text("INSERT INTO demo_issuer (id, private_key_pem, created_at) VALUES (1, :pem, :t)"),
            {"pem": pem, "t": utcnow()},
        )
        conn.execute(
            text(
                "INSERT INTO certificates (id, session_id, person_ref, code, credential, issued_at, issued_by) "
                "VALUES (:id, 's-old', 'p-old', :code, :cred, :t, 'token:1')"
            ),
            {"id": credential["id"], "code": old.code, "cred": old.credential_json, "t": utcnow()},
        )
    engine.dispose()

    app = create_app(Settings(database_url=url))  # migrates on start
    assert current_revision(url) == "0004"
    token = create_token(url, "caseworker")
    with TestClient(app) as client:
        svc = app.state.service
        with svc.read() as db:
            assert db.scalar(select(Certificate.status_index).where(Certificate.id == credential["id"])) is None
        assert "credentialStatus" not in credential
        assert client.post("/v1/verify", json=credential).json()["valid"]
        before = client.get("/v1/status/revocation")
        listed = before.json()  # no revocation yet: valid since the list began, never from a time to come
        assert not _bits(listed).any() and listed["validFrom"] == statuslist.LIST_EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert statuslist.LIST_EPOCH <= utcnow()
        r = client.post(
            "/v1/revocations",
            json={"certificate": credential["id"], "reason": "old"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200
        checked = client.post("/v1/verify", json=credential).json()
        assert checked["revoked"] and not checked["valid"]  # only this service knows: the old credential has no entry
        assert client.get("/v1/status/revocation").content == before.content


def test_the_controller_document_is_also_served_where_the_issuer_id_resolves(tmp_path):
    from fastapi.testclient import TestClient

    from digiskill.results.signing import generate_key_pair, save_private_key
    from digiskill.service.app import create_app, openapi_document
    from digiskill.service.settings import Settings

    path = statuslist.controller_path
    base = "https://jc.example.dk"
    assert path(base, "did:web:jc.example.dk") == "/.well-known/did.json"
    assert path(base + "/", "did:web:jc.example.dk:issuers:digiskill") == "/issuers/digiskill/did.json"
    assert path(base, base + "/issuers/digiskill") == "/issuers/digiskill"
    assert path(base, "https://digiskill.example/issuers/demo") is None  # not this service's address
    assert path(base, base + "/") is None and path("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000") is None
    from digiskill.cli.serve import _published_note

    note = _published_note(base, "did:web:jc.example.dk")  # what `digiskill serve` says at start
    assert f"{base}/v1/status/revocation (cached up to 300 s)" in note and note.endswith(f"{base}/.well-known/did.json")

    key, _ = generate_key_pair()
    save_private_key(key, tmp_path / "key.pem")
    profile = tmp_path / "issuer.json"
    profile.write_text(json.dumps({"id": "did:web:jc.example.dk", "name": "Jobcenter"}))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'did.db'}",
        issuer_key=tmp_path / "key.pem",
        issuer_profile=profile,
        public_url=base,
    )
    with TestClient(create_app(settings)) as client:
        did = client.get("/.well-known/did.json")
        assert did.status_code == 200 and did.content == client.get("/v1/issuer/controller").content
        assert did.json()["id"] == "did:web:jc.example.dk" and did.json()["@context"] == DID_CONTEXTS
        assert "/.well-known/did.json" not in openapi_document()["paths"]
