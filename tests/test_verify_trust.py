"""``digiskill verify`` states trust: exit 0 only for a key established as the issuer's; hostile input gives exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from digiskill.bank.default import load_default
from digiskill.bank.responses import read_responses
from digiskill.cli.main import app
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile, open_badge_credential
from digiskill.results.signing import generate_key_pair, public_key_to_multikey, sign_credential
from digiskill.results.verification import TrustStore, verify_document

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://jobcenter.example.dk/issuers/digiskill"
runner = CliRunner()


@pytest.fixture(scope="module")
def unsigned() -> dict:
    bank = load_default()
    res = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    return open_badge_credential(res, bank, IssuerProfile(id=ISSUER, name="Jobcenter"))


@pytest.fixture(scope="module")
def keys():
    jobcenter, _ = generate_key_pair()
    mallory, _ = generate_key_pair()
    return jobcenter, mallory


def _verify(tmp_path: Path, doc: dict, *args: str):
    path = tmp_path / "cred.json"
    path.write_text(json.dumps(doc))
    return runner.invoke(app, ["verify", str(path), *args])


def test_exit_0_only_with_an_established_key(tmp_path: Path, unsigned: dict, keys) -> None:
    jobcenter, mallory = keys
    genuine = sign_credential(unsigned, jobcenter)
    forged = sign_credential(unsigned, mallory)  # someone else's key under the jobcenter's issuer id
    jc, ml = public_key_to_multikey(jobcenter), public_key_to_multikey(mallory)
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"issuers": {ISSUER: [jc]}}))

    for doc, signer in ((genuine, jc), (forged, ml)):  # no key: never 0
        r = _verify(tmp_path, doc)
        assert r.exit_code == 3, r.output
        assert f"signature intact, signed by key {signer}, issuer not established" in r.stdout

    r = _verify(tmp_path, genuine, "--key", jc)
    assert r.exit_code == 0 and "key established by the key given with --key" in r.stdout
    r = _verify(tmp_path, genuine, "--trust", str(trust))
    assert r.exit_code == 0 and "key established by the trust file" in r.stdout

    r = _verify(tmp_path, forged, "--key", jc)
    assert r.exit_code == 1 and "key-mismatch" in r.stdout
    r = _verify(tmp_path, forged, "--trust", str(trust))
    assert r.exit_code == 1 and "key-mismatch" in r.stdout and jc in r.stdout

    # a trust file that does not know the issuer establishes nothing
    other = tmp_path / "other-trust.json"
    other.write_text(json.dumps({"issuers": {"https://elsewhere.example/i": jc}}))
    assert _verify(tmp_path, genuine, "--trust", str(other)).exit_code == 3


def test_did_key_issuer_is_established_by_its_own_key_only(unsigned: dict, keys) -> None:
    jobcenter, mallory = keys
    did = "did:key:" + public_key_to_multikey(jobcenter)
    doc = dict(unsigned, issuer={"id": did, "type": ["Profile"], "name": "Jobcenter"})
    verdict = verify_document(sign_credential(doc, jobcenter))
    assert (verdict.status, verdict.exit_code, verdict.established_by) == ("valid", 0, "did:key")
    # a verification method whose fragment is not the DID's key: refused even though the signature is intact
    wrong_vm = f"{did}#{public_key_to_multikey(mallory)}"
    verdict = verify_document(sign_credential(doc, mallory, verification_method=wrong_vm))
    assert verdict.exit_code == 1 and verdict.codes == ["key-mismatch"]


def test_controller_document_establishes_its_assertion_keys(unsigned: dict, keys) -> None:
    jobcenter, _ = keys
    jc = public_key_to_multikey(jobcenter)
    controller = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": ISSUER,
        "verificationMethod": [
            {"id": f"{ISSUER}#{jc}", "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": jc}
        ],
        "assertionMethod": [f"{ISSUER}#{jc}"],
    }
    verdict = verify_document(sign_credential(unsigned, jobcenter), trust=TrustStore.from_document(controller))
    assert verdict.status == "valid" and verdict.established_by == "trust"
    not_asserting = dict(controller, assertionMethod=[])
    with pytest.raises(ValueError, match="no Multikey under 'assertionMethod'"):
        TrustStore.from_document(not_asserting)


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff\xfe binary garbage \x89PNG",
        '{"name": "caf\xe9"}'.encode("latin-1"),  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
        b"[1, 2, 3]",
        b"",
        b'{"x": "' + b"a" * 2_100_000 + b'"}',
    ],
    ids=["binary", "latin-1", "deep-array", "deep-object", "array", "empty", "huge"],
)
def test_hostile_files_give_exit_2_and_a_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    r = runner.invoke(app, ["verify", str(path)])
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit) and "hostile.json" in r.stderr


def test_bad_trust_file_is_bad_input(tmp_path: Path, unsigned: dict, keys) -> None:
    doc = sign_credential(unsigned, keys[0])
    trust = tmp_path / "t.json"
    trust.write_text(json.dumps({"issuers": {ISSUER: ["not-a-multikey"]}}))
    assert _verify(tmp_path, doc, "--trust", str(trust)).exit_code == 2
    trust.write_text(json.dumps({"something": 1}))
    r = _verify(tmp_path, doc, "--trust", str(trust))
    assert r.exit_code == 2 and "not a trust file" in r.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "@context": st.just(["https://www.w3.org/ns/credentials/v2"]),
                "proof": st.dictionaries(
                    st.sampled_from(["type", "cryptosuite", "verificationMethod", "proofValue", "created"]),
                    st.text(max_size=30),
                ),
            }
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.json"
    path.write_bytes(data)
    r = runner.invoke(app, ["verify", str(path)])
    assert r.exit_code in (1, 2), r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)


def test_data_model_is_checked_before_the_proof(tmp_path: Path, unsigned: dict, keys) -> None:
    jobcenter, _ = keys
    jc = public_key_to_multikey(jobcenter)
    signed = sign_credential(unsigned, jobcenter, proof_set=True)
    reversed_ctx = dict(signed, **{"@context": list(reversed(signed["@context"]))})
    r = _verify(tmp_path, reversed_ctx, "--key", jc)
    assert r.exit_code == 1 and "context-order" in r.stdout

    # validity period: signed with validUntil, checked at different times with --at
    dated = sign_credential(dict(unsigned, validUntil="2030-01-01T00:00:00Z"), jobcenter, proof_set=True)
    assert _verify(tmp_path, dated, "--key", jc, "--at", "2029-12-31T23:59:59Z").exit_code == 0
    r = _verify(tmp_path, dated, "--key", jc, "--at", "2030-01-02T00:00:00Z")
    assert r.exit_code == 1 and "expired" in r.stdout
    r = _verify(tmp_path, dated, "--key", jc, "--at", "2001-01-01T00:00:00+01:00")
    assert r.exit_code == 1 and "not-yet-valid" in r.stdout
    assert _verify(tmp_path, dated, "--key", jc, "--at", "2030-01-01").exit_code == 2  # no time zone

    for change, code in (
        ({"type": ["VerifiableCredential"]}, "wrong-type"),
        ({"validFrom": "yesterday"}, "malformed-date"),
        ({"issuer": {"name": "nobody"}}, "malformed-issuer"),
        ({"credentialSubject": {"type": ["AchievementSubject"]}}, "missing-subject"),
    ):
        verdict = verify_document(dict(signed, **change), key=jc)
        assert verdict.exit_code == 1 and verdict.codes[0] == code, verdict.codes
