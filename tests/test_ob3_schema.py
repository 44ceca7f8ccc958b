"""Schema-valid by construction: every credential digiskill issues passes 1EdTech's OB 3.0 JSON Schema, zero errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft201909Validator

from digiskill.bank.default import load_default
from digiskill.bank.responses import ResponseTable, read_responses
from digiskill.cat import CatConfig, answer, next_item, prepare, start_session
from digiskill.results.batch import batch_results
from digiskill.results.credential import IssuerProfile, hashed_identity, identity_matches
from digiskill.results.issue import issue_certificate
from digiskill.results.models import result_from_session
from digiskill.results.signing import generate_key_pair
from digiskill.results.status import new_register

ROOT = Path(__file__).resolve().parent
SCHEMA = ROOT / "data" / "ob3" / "ob_v3p0_achievementcredential_schema.json"
SCHEMA_SHA256 = "859e405b592d93c3261fe899362f4128801140d4d20c01502a066b3540483d95"
ISSUER = IssuerProfile(
    id="https://jobcenter.example.dk/issuers/digiskill", name="Jobcenter", url="https://jc.example.dk"
)


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    raw = SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256  # the vendored copy is 1EdTech's, unchanged
    return Draft201909Validator(json.loads(raw), format_checker=Draft201909Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def bank():
    return load_default()


def _errors(validator: Draft201909Validator, doc: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def _batch(bank, codes_by_area: dict[str, int]):
    """A batch result of one person who answered every item of each area with the given category."""
    ids = [it.id for it in bank.params.items if it.area in codes_by_area]
    n_cat = bank.params.to_arrays(ids).n_cat
    by_id = bank.params.items_by_id()
    row = np.array([min(codes_by_area[by_id[i].area], int(k) - 1) for i, k in zip(ids, n_cat, strict=True)])
    table = ResponseTable(path="t.csv", person_ids=["P-1"], item_ids=ids, codes=row[None, :].astype(np.int16))
    return next(batch_results(table, bank))


def test_the_schema_finds_the_violations_it_is_meant_to_find(validator) -> None:
    bad = {"type": ["VerifiableCredential"], "proof": {"type": "DataIntegrityProof"}}
    assert len(_errors(validator, bad)) >= 3  # a test that could not fail would prove nothing


@pytest.mark.parametrize("holder_name", [None, "Mette Hansen"])
def test_certify_and_batch_credentials_are_schema_valid(validator, bank, holder_name, tmp_path: Path) -> None:
    key, _ = generate_key_pair()
    res = next(batch_results(read_responses(ROOT.parent / "examples/jobcenter/responses.csv", bank.params), bank))
    register = None
    if holder_name:  # and revocable: with a BitstringStatusListEntry
        register = tmp_path / "register.json"
        new_register(register, "https://jc.example.dk/status/1")
    cert = issue_certificate(res, bank, ISSUER, key, holder_name=holder_name, status_register=register)
    doc = json.loads(cert.credential_json)
    assert ("credentialStatus" in doc) == bool(holder_name)
    assert _errors(validator, doc) == []
    assert isinstance(doc["proof"], list) and doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    types = {
        a["targetType"] for rd in doc["credentialSubject"]["achievement"]["resultDescription"] for a in rd["alignment"]
    }
    assert types == {"ext:DigCompCompetence"}
    assert doc["credentialSubject"]["achievement"]["alignment"][0]["targetType"] == "ext:DigCompFramework"
    idents = doc["credentialSubject"]["identifier"]
    assert all(i["type"] == "IdentityObject" for i in idents) and len(idents) == (2 if holder_name else 1)
    assert identity_matches(doc, res.person)


def test_every_level_outcome_is_schema_valid(validator, bank) -> None:
    key, _ = generate_key_pair()
    lowest = _batch(bank, {"basic_it": 0, "workflows": 0})
    highest = _batch(bank, {"communication": 9})
    assert {a.certified_level for a in lowest.areas} == {None}  # "no level confirmed"
    assert all(a.certified_level is not None and a.certified_level >= 5 for a in highest.areas)
    for res in (lowest, highest):
        doc = json.loads(issue_certificate(res, bank, ISSUER, key, lang="en").credential_json)
        assert _errors(validator, doc) == []
        values = {r["value"] for r in doc["credentialSubject"]["result"]}
        assert values == ({"no level confirmed"} if res is lowest else {str(a.certified_level) for a in res.areas})


def test_adaptive_session_credential_is_schema_valid(validator, bank) -> None:
    config = CatConfig()
    cat = prepare(bank.params, config)
    s = start_session(cat, config, seed=1, areas=["information_data"])
    while (item := next_item(s, cat)) is not None:
        s = answer(s, cat, item, 1)
    key, _ = generate_key_pair()
    cert = issue_certificate(result_from_session(s, bank, "session-1"), bank, ISSUER, key, holder_name="Åse Øberg")
    assert _errors(validator, json.loads(cert.credential_json)) == []


def test_hashed_identity_follows_the_ob3_identity_hash_rule() -> None:
    # the example of the OB 3.0 specification: 'a@example.com' salted with 'Kosher'
    ident = hashed_identity("a@example.com", "Kosher")
    assert ident["identityHash"] == "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    assert ident["hashed"] is True and ident["salt"] == "Kosher"
