"""Certificates end to end: keys, certify (signed Open Badges 3.0 + PDF + CV lines), verify and tampering."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.cli.main import app
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile, identity_matches, open_badge_credential
from digiskill.results.signing import canonicalize

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def result_json(tmp_path_factory) -> Path:
    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    path = tmp_path_factory.mktemp("r") / "result.json"
    path.write_text(res.dump_json())
    return path


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> tuple[Path, Path, str]:
    d = tmp_path_factory.mktemp("k")
    key, prof = d / "key.pem", d / "issuer.json"
    r = runner.invoke(
        app,
        [
            "keys",
            "new",
            "--out",
            str(key),
            "--issuer-id",
            "https://jobcenter.example.dk/i",
            "--issuer-name",
            "Jobcenter (example)",
            "--issuer-out",
            str(prof),
        ],
    )
    assert r.exit_code == 0, r.output
    return key, prof, r.stdout.strip()


def test_private_key_is_owner_only_and_public_key_is_a_multikey(issuer) -> None:
    key, _, multikey = issuer
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert multikey.startswith("z6Mk") and len(multikey) == 48


def test_certify_then_verify_and_every_kind_of_tampering(tmp_path: Path, result_json: Path, issuer) -> None:
    key, prof, multikey = issuer
    cert, pdf = tmp_path / "cert.json", tmp_path / "cert.pdf"
    r = runner.invoke(
        app,
        [
            "certify",
            str(result_json),
            "--key",
            str(key),
            "--issuer",
            str(prof),
            "--out",
            str(cert),
            "--pdf",
            str(pdf),
            "--lang",
            "en",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "DigComp 2.2 level" in r.stdout and "(provisional)" in r.stdout  # CV lines
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
    doc = json.loads(cert.read_text())
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    proof = doc["proof"][0]  # a proof set: an array, as the OB 3.0 JSON Schema requires
    assert proof["cryptosuite"] == "eddsa-rdfc-2022" and proof["verificationMethod"].endswith(multikey)
    assert "PROVISIONAL" in doc["name"]
    # data minimisation: no name unless asked, never the pseudonymous person reference, only its salted hash
    (ident,) = doc["credentialSubject"]["identifier"]
    assert ident["hashed"] is True and ident["identityHash"].startswith("sha256$") and "JC001" not in cert.read_text()
    assert identity_matches(doc, "JC001") and not identity_matches(doc, "JC002")

    ok = runner.invoke(app, ["verify", str(cert), "--key", multikey])
    assert ok.exit_code == 0 and ok.stdout.startswith("valid eddsa-rdfc-2022 proof")

    changed = json.loads(cert.read_text())
    res = changed["credentialSubject"]["result"][0]
    res["value"] = "6"
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    bad = runner.invoke(app, ["verify", str(tmp_path / "changed.json"), "--key", multikey])
    assert bad.exit_code == 1 and "signature-invalid" in bad.stdout

    other = runner.invoke(app, ["keys", "new", "--out", str(tmp_path / "other.pem")]).stdout.strip()
    bad = runner.invoke(app, ["verify", str(cert), "--key", other])
    assert bad.exit_code == 1 and "key-mismatch" in bad.stdout

    suite = json.loads(cert.read_text())
    suite["proof"][0]["cryptosuite"] = "eddsa-rdf-2022"
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    bad = runner.invoke(app, ["verify", str(tmp_path / "suite.json")])
    assert bad.exit_code == 1 and "unknown-cryptosuite" in bad.stdout

    unsigned = json.loads(cert.read_text())
    del unsigned["proof"]
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned))
    bad = runner.invoke(app, ["verify", str(tmp_path / "unsigned.json")])
    assert bad.exit_code == 1 and "missing-proof" in bad.stdout


def test_name_only_when_chosen_and_bad_inputs_write_nothing(tmp_path: Path, result_json: Path, issuer) -> None:
    key, prof, _ = issuer
    cert = tmp_path / "named.json"
    r = runner.invoke(
        app,
        [
            "certify",
            str(result_json),
            "--key",
            str(key),
            "--issuer",
            str(prof),
            "--out",
            str(cert),
            "--name",
            "Mette Hansen",
        ],
    )
    assert r.exit_code == 0, r.output
    ident = json.loads(cert.read_text())["credentialSubject"]["identifier"][1]
    assert ident["identityHash"] == "Mette Hansen" and ident["identityType"] == "name" and ident["hashed"] is False

    broken_key = tmp_path / "broken.pem"
    broken_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    out = tmp_path / "x.json"
    r = runner.invoke(
        app, ["certify", str(result_json), "--key", str(broken_key), "--issuer", str(prof), "--out", str(out)]
    )
    assert r.exit_code == 2 and not out.exists()

    other_bank = json.loads(result_json.read_text())
    other_bank["bank"]["parameter_set"] = "someone-elses-set"
    other = tmp_path / "other-result.json"
    other.write_text(json.dumps(other_bank))
    r = runner.invoke(app, ["certify", str(other), "--key", str(key), "--issuer", str(prof), "--out", str(out)])
    assert r.exit_code == 2 and "someone-elses-set" in r.stderr and not out.exists()

    expired = json.loads(prof.read_text()) | {"key_expires": "2020-01-01T00:00:00Z"}
    (tmp_path / "expired.json").write_text(json.dumps(expired))
    r = runner.invoke(
        app,
        ["certify", str(result_json), "--key", str(key), "--issuer", str(tmp_path / "expired.json"), "--out", str(out)],
    )
    assert r.exit_code == 2 and "expired on 2020-01-01" in r.stderr and not out.exists()

    notjson = tmp_path / "notjson.json"
    notjson.write_text("{")
    r = runner.invoke(app, ["verify", str(notjson)])
    assert r.exit_code == 2


def test_credential_uses_only_terms_of_the_pinned_contexts(result_json: Path) -> None:
    from digiskill.results.models import AssessmentResult

    bank = load_default()
    res = AssessmentResult.model_validate_json(result_json.read_text())
    doc = open_badge_credential(res, bank, IssuerProfile(id="https://x.example/i", name="X"))
    nquads = canonicalize(doc)  # safe mode: a term missing from the contexts would raise
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#RubricCriterionLevel" in nquads
    assert nquads.count("\n") > 300
