"""A published issuer: keys new --url, keys publish (controller document / did.json), verify --trust accepts it, and
the credential id and QR code are the verification URL."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.cli.main import app
from digiskill.results.batch import batch_results

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_published_controller_document_establishes_the_key(tmp_path: Path) -> None:
    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    (tmp_path / "r.json").write_text(res.dump_json())
    key, prof = tmp_path / "k.pem", tmp_path / "issuer.json"
    issuer_id = "https://jobcenter.example.dk/issuers/digiskill"
    args = ["--out", str(key), "--issuer-id", issuer_id, "--issuer-out", str(prof)]
    r = runner.invoke(app, ["keys", "new", *args, "--url", "https://jobcenter.example.dk/"])
    assert r.exit_code == 0, r.output
    multikey = r.stdout.strip()
    profile = json.loads(prof.read_text())
    assert profile["url"] == "https://jobcenter.example.dk/"
    assert profile["verify_url"] == "https://jobcenter.example.dk/verify/"

    controller = tmp_path / "controller.json"
    r = runner.invoke(app, ["keys", "publish", "--key", str(key), "--issuer", str(prof), "--out", str(controller)])
    assert r.exit_code == 0 and f"publish it at {issuer_id}" in r.stderr
    doc = json.loads(controller.read_text())
    assert doc["id"] == issuer_id and doc["assertionMethod"] == [f"{issuer_id}#{multikey}"]
    assert doc["verificationMethod"][0] == {
        "id": f"{issuer_id}#{multikey}",
        "type": "Multikey",
        "controller": issuer_id,
        "publicKeyMultibase": multikey,
    }
    cert = tmp_path / "c.json"
    r = runner.invoke(
        app, ["certify", str(tmp_path / "r.json"), "--key", str(key), "--issuer", str(prof), "--out", str(cert)]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(cert.read_text())["id"] == f"https://jobcenter.example.dk/verify/{res.result_id}"
    r = runner.invoke(app, ["verify", str(cert), "--trust", str(controller)])
    assert r.exit_code == 0 and "key established by the trust file" in r.stdout

    # did:web: the DID document and where it is served
    did_prof = tmp_path / "did-issuer.json"
    did_prof.write_text(json.dumps(profile | {"id": "did:web:jobcenter.example.dk:issuers:digiskill"}))
    did_json = tmp_path / "did.json"
    r = runner.invoke(app, ["keys", "publish", "--key", str(key), "--issuer", str(did_prof), "--out", str(did_json)])
    assert r.exit_code == 0 and "https://jobcenter.example.dk/issuers/digiskill/did.json" in r.stderr
    assert json.loads(did_json.read_text())["@context"][0] == "https://www.w3.org/ns/did/v1"
    # a URL that is not https is refused when the profile is made
    r = runner.invoke(
        app, ["keys", "new", "--out", str(tmp_path / "k2.pem"), "--issuer-id", issuer_id, "--url", "ftp://x"]
    )
    assert r.exit_code == 2 and not (tmp_path / "k2.pem").exists()
