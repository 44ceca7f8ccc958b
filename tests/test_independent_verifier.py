"""A second, independent implementation verifies digiskill credentials: Digital Bazaar's VC 2.0 stack on Node.js
(verifier/verify.mjs, packages pinned by verifier/package-lock.json, installed by .ci/run with ``npm ci``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile
from digiskill.results.issue import issue_certificate
from digiskill.results.signing import generate_key_pair, public_key_to_multikey, sign_credential
from digiskill.results.status import load_register, new_register, revoke, status_list_credential

ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "verifier"


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed (Debian: apt-get install nodejs npm; .ci/run installs it)"
    if not (VERIFIER / "node_modules" / "@digitalbazaar" / "vc").is_dir():  # install exactly the locked versions
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to install the verifier's packages (cd verifier && npm ci)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=VERIFIER, check=True, timeout=600)
    return node


def _run(
    node: str, credential: dict, multikey: str, tmp_path: Path, status_list: dict | None = None
) -> tuple[int, dict]:
    cred = tmp_path / "cred.json"
    cred.write_text(json.dumps(credential))
    args = [node, str(VERIFIER / "verify.mjs"), str(cred), multikey]
    if status_list is not None:
        (tmp_path / "list.json").write_text(json.dumps(status_list))
        args.append(str(tmp_path / "list.json"))
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_digital_bazaar_verifies_ours_and_refuses_changes_and_revoked(node: str, tmp_path: Path) -> None:
    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    issuer = IssuerProfile(id="https://jobcenter.example.dk/issuers/digiskill", name="Jobcenter")
    key, _ = generate_key_pair()
    multikey = public_key_to_multikey(key)
    register = tmp_path / "register.json"
    new_register(register, "https://jobcenter.example.dk/status/1")
    cert = json.loads(
        issue_certificate(res, bank, issuer, key, holder_name="Mette", status_register=register).credential_json
    )

    def signed_list() -> dict:
        listed = load_register(register)
        return sign_credential(status_list_credential(listed.url, listed.revoked, issuer.id), key, proof_set=True)

    code, out = _run(node, cert, multikey, tmp_path, signed_list())
    assert (code, out["verified"], out["revoked"]) == (0, True, False), out

    changed = json.loads(json.dumps(cert))
    changed["credentialSubject"]["result"][0]["value"] = "6"  # a changed level
    code, out = _run(node, changed, multikey, tmp_path, signed_list())
    assert code == 1 and out["verified"] is False

    reversed_ctx = dict(cert, **{"@context": list(reversed(cert["@context"]))})
    code, out = _run(node, reversed_ctx, multikey, tmp_path, signed_list())
    assert code == 1 and out["verified"] is False

    other, _ = generate_key_pair()  # the right document, checked against another key
    code, out = _run(node, cert, public_key_to_multikey(other), tmp_path, signed_list())
    assert code == 1 and out["verified"] is False

    revoke(register, int(cert["credentialStatus"]["statusListIndex"]))
    code, out = _run(node, cert, multikey, tmp_path, signed_list())
    assert (code, out["verified"], out["revoked"]) == (4, True, True), out
