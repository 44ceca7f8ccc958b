"""eddsa-rdfc-2022 Data Integrity proofs: the official Open Badges 3.0 test vector byte for byte, and every failure.

The vector (tests/data/ob3-vectors/README.md) is published by 1EdTech in the Open Badges 3.0 specification.
Its expected hashes, key, proofValue and Multikey are copied below; the canonical N-Quads files (vendored in
tests/data/ob3-vectors) are compared byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
import os
import socket
import stat
from pathlib import Path
from typing import Any

import base58
import pytest
from conftest import reference_data
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from digiskill.results import signing
from digiskill.results.signing import ProblemCode as P

VECTORS = reference_data("ob3-vectors")
CONTEXTS = Path(signing.__file__).resolve().parents[1] / "data" / "contexts"

PRIVATE_KEY_HEX = "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
DOCUMENT_HASH = "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"
PROOF_HASH = "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"
PROOF_VALUE = "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
MULTIKEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
CREATED = "2010-01-01T19:23:24Z"
VERIFICATION_METHOD = f"https://example.edu/issuers/565049#{MULTIKEY}"


def teamwork_badge() -> dict[str, Any]:
    """The unsigned example credential exactly as the vector README describes it."""
    return {
        "@context": [signing.VC_V2_CONTEXT, signing.OB_V3_CONTEXT],
        "id": "http://example.com/credentials/3527",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": "https://example.edu/issuers/565049",
            "type": ["Profile"],
            "url": "https://www.imsglobal.org",
            "name": "Example Corp",
        },
        "validFrom": "2010-01-01T00:00:00Z",
        "name": "Teamwork Badge",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.com/achievements/21st-century-skills/teamwork",
                "type": ["Achievement"],
                "criteria": {
                    "narrative": "Team members are nominated for this badge by their peers and recognized upon review "
                    "by Example Corp management."
                },
                "description": "This badge recognizes the development of the capacity to collaborate within a group "
                "environment.",
                "name": "Teamwork",
            },
        },
    }


def proof_options() -> dict[str, Any]:
    return {
        "type": "DataIntegrityProof",
        "created": CREATED,
        "verificationMethod": VERIFICATION_METHOD,
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
    }


@pytest.fixture(scope="module")
def vector_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(PRIVATE_KEY_HEX))


@pytest.fixture(scope="module")
def signed(vector_key: Ed25519PrivateKey) -> dict[str, Any]:
    return signing.sign_credential(
        teamwork_badge(), vector_key, verification_method=VERIFICATION_METHOD, created=CREATED
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _vector_file(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ the official vector


def test_document_canonical_nquads_match_the_vector_byte_for_byte() -> None:
    canon = signing.canonicalize(teamwork_badge())
    assert _sha256(canon) == DOCUMENT_HASH
    assert canon == _vector_file("document-canon.txt")


def test_proof_config_canonical_nquads_match_the_vector_byte_for_byte() -> None:
    canon = signing.canonicalize_proof_config(proof_options(), teamwork_badge()["@context"])
    assert _sha256(canon) == PROOF_HASH
    assert canon == _vector_file("proof-canon.txt")


def test_vector_files_agree_with_the_readme_hashes() -> None:
    for name, digest in (("document-canon.txt", DOCUMENT_HASH), ("proof-canon.txt", PROOF_HASH)):
        assert _sha256(_vector_file(name)) == digest


def test_signed_message_is_proof_hash_then_document_hash() -> None:
    data = signing.hash_data(
        signing.canonicalize_proof_config(proof_options(), teamwork_badge()["@context"]),
        signing.canonicalize(teamwork_badge()),
    )
    assert data == bytes.fromhex(PROOF_HASH) + bytes.fromhex(DOCUMENT_HASH)


def test_multikey_of_the_vector_key(vector_key: Ed25519PrivateKey) -> None:
    assert signing.public_key_to_multikey(vector_key.public_key()) == MULTIKEY
    assert signing.public_key_to_multikey(vector_key) == MULTIKEY
    decoded = signing.public_key_from_multikey(MULTIKEY)
    assert signing.public_key_to_multikey(decoded) == MULTIKEY
    assert signing.verification_method_for(teamwork_badge()["issuer"], vector_key) == VERIFICATION_METHOD


def test_proof_value_matches_the_vector(signed: dict[str, Any]) -> None:
    assert signed["proof"] == {**proof_options(), "proofValue": PROOF_VALUE}
    assert {k: v for k, v in signed.items() if k != "proof"} == teamwork_badge()


def test_default_verification_method_is_issuer_hash_multikey(vector_key: Ed25519PrivateKey) -> None:
    doc = signing.sign_credential(teamwork_badge(), vector_key, created=CREATED)
    assert doc["proof"]["verificationMethod"] == VERIFICATION_METHOD
    assert doc["proof"]["proofValue"] == PROOF_VALUE


def test_signing_does_not_change_the_input(vector_key: Ed25519PrivateKey) -> None:
    doc = teamwork_badge()
    signing.sign_credential(doc, vector_key, created=CREATED)
    assert doc == teamwork_badge()


def test_the_signed_vector_verifies(signed: dict[str, Any], vector_key: Ed25519PrivateKey) -> None:
    trusted = signing.verify_credential(signed, vector_key.public_key())
    assert trusted.ok, trusted
    assert trusted.problems == ()
    assert trusted.key_source == "given"
    assert trusted.document_hash == DOCUMENT_HASH
    assert signing.verify_credential(signed, MULTIKEY).ok
    embedded = signing.verify_credential(signed)
    assert embedded.ok and embedded.key_source == "verificationMethod"


def test_a_fresh_key_signs_and_verifies_with_created_as_datetime() -> None:
    from datetime import UTC, datetime

    private, public = signing.generate_key_pair()
    doc = signing.sign_credential(teamwork_badge(), private, created=datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=UTC))
    assert doc["proof"]["created"] == "2025-03-04T05:06:07Z"
    assert signing.verify_credential(doc, public).ok


# ------------------------------------------------------------------------------------------ what goes wrong


def _tampered(signed: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(signed)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "achievement", "name"), "Leadership"),
        (("name",), "Teamwork Badge (gold)"),
        (("validFrom",), "2011-01-01T00:00:00Z"),
        (("issuer", "name"), "Another Corp"),
        (("credentialSubject", "id"), "did:example:someone-else"),
        (("credentialSubject", "achievement", "criteria", "narrative"), "Anyone."),
        (("type",), ["VerifiableCredential"]),
    ],
)
def test_a_changed_field_makes_the_signature_invalid(
    signed: dict[str, Any], vector_key: Ed25519PrivateKey, path: tuple[str, ...], value: Any
) -> None:
    result = signing.verify_credential(_tampered(signed, path, value), vector_key.public_key())
    assert not result.ok
    assert result.codes == [P.SIGNATURE_INVALID]
    assert "changed after signing" in result.problems[0].message
    # the key in the proof gives the same answer
    assert signing.verify_credential(_tampered(signed, path, value)).codes == [P.SIGNATURE_INVALID]


def test_a_changed_proof_option_makes_the_signature_invalid(signed: dict[str, Any]) -> None:
    result = signing.verify_credential(_tampered(signed, ("proof", "created"), "2011-01-01T19:23:24Z"))
    assert result.codes == [P.SIGNATURE_INVALID]


def test_wrong_key(signed: dict[str, Any]) -> None:
    _, other = signing.generate_key_pair()
    result = signing.verify_credential(signed, other)
    assert result.codes == [P.KEY_MISMATCH]
    assert MULTIKEY in result.problems[0].message
    assert signing.public_key_to_multikey(other) in result.problems[0].message


def test_signature_by_another_key_under_the_vector_key_name(signed: dict[str, Any]) -> None:
    other, _ = signing.generate_key_pair()
    forged = signing.sign_credential(teamwork_badge(), other, created=CREATED)
    forged["proof"]["verificationMethod"] = VERIFICATION_METHOD
    assert signing.verify_credential(forged).codes == [P.SIGNATURE_INVALID]


@pytest.mark.parametrize("suite", ["eddsa-rdf-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", None])
def test_unknown_cryptosuite(signed: dict[str, Any], suite: str | None) -> None:
    result = signing.verify_credential(_tampered(signed, ("proof", "cryptosuite"), suite))
    assert result.codes == [P.UNKNOWN_CRYPTOSUITE]
    assert repr(suite) in result.problems[0].message
    if suite == "eddsa-rdf-2022":  # the misspelling in one example of the specification
        assert "did you mean 'eddsa-rdfc-2022'" in result.problems[0].message


@pytest.mark.parametrize("proof", [None, []])
def test_missing_proof(signed: dict[str, Any], proof: Any) -> None:
    doc = {k: v for k, v in signed.items() if k != "proof"}
    if proof is not None:
        doc["proof"] = proof
    result = signing.verify_credential(doc)
    assert result.codes == [P.MISSING_PROOF]
    assert not result.ok


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (PROOF_VALUE[1:], "starting with 'z'"),  # no multibase prefix
        ("u" + PROOF_VALUE[1:], "starting with 'z'"),  # another multibase
        ("z0OIl" + PROOF_VALUE[5:], "not valid base58btc"),  # characters outside the alphabet
        (PROOF_VALUE[:-5], "decodes to"),  # truncated
        (PROOF_VALUE + "zz", "decodes to"),  # too long
        (12345, "starting with 'z'"),
        ("z", "decodes to 0 bytes"),
    ],
)
def test_malformed_proof_value(signed: dict[str, Any], value: Any, words: str) -> None:
    result = signing.verify_credential(_tampered(signed, ("proof", "proofValue"), value))
    assert result.codes == [P.MALFORMED_PROOF_VALUE]
    assert words in result.problems[0].message


def test_missing_proof_value(signed: dict[str, Any]) -> None:
    doc = copy.deepcopy(signed)
    del doc["proof"]["proofValue"]
    assert signing.verify_credential(doc).codes == [P.MALFORMED_PROOF_VALUE]


def test_wrong_proof_type_and_purpose(signed: dict[str, Any]) -> None:
    doc = _tampered(signed, ("proof", "type"), "Ed25519Signature2020")
    doc["proof"]["proofPurpose"] = "authentication"
    result = signing.verify_credential(doc)
    assert result.codes == [P.WRONG_PROOF_TYPE, P.WRONG_PROOF_PURPOSE]


def test_verification_method_of_another_issuer(signed: dict[str, Any]) -> None:
    result = signing.verify_credential(_tampered(signed, ("issuer", "id"), "https://example.org/issuers/1"))
    assert result.codes == [P.ISSUER_MISMATCH]


def test_malformed_verification_method(signed: dict[str, Any]) -> None:
    bad = signing.verify_credential(_tampered(signed, ("proof", "verificationMethod"), VERIFICATION_METHOD[:-3]))
    assert bad.codes == [P.MALFORMED_VERIFICATION_METHOD]
    no_key = signing.verify_credential(
        _tampered(signed, ("proof", "verificationMethod"), "https://example.edu/issuers/565049#key-1")
    )
    assert no_key.codes == [P.MALFORMED_VERIFICATION_METHOD]
    assert "no Multikey" in no_key.problems[0].message


def test_not_a_credential() -> None:
    assert signing.verify_credential(["not", "an", "object"]).codes == [P.MALFORMED_DOCUMENT]
    assert signing.verify_credential({"proof": {}}).codes == [P.MALFORMED_DOCUMENT]


def test_result_prints_each_problem(signed: dict[str, Any]) -> None:
    doc = _tampered(signed, ("proof", "cryptosuite"), "eddsa-rdf-2022")
    doc["proof"]["proofValue"] = "nope"
    text = str(signing.verify_credential(doc))
    assert "unknown-cryptosuite" in text and "malformed-proof-value" in text


def test_signing_refuses_bad_requests(vector_key: Ed25519PrivateKey, signed: dict[str, Any]) -> None:
    with pytest.raises(signing.CredentialError, match="already has a 'proof'"):
        signing.sign_credential(signed, vector_key)
    with pytest.raises(signing.CredentialError, match="time zone"):
        signing.sign_credential(teamwork_badge(), vector_key, created="2010-01-01T19:23:24")
    other, _ = signing.generate_key_pair()
    with pytest.raises(signing.CredentialError, match="another key"):
        signing.sign_credential(teamwork_badge(), other, verification_method=VERIFICATION_METHOD)


# ------------------------------------------------------------------------------------------ safe JSON-LD


def test_an_undefined_property_is_refused_not_silently_unsigned(vector_key: Ed25519PrivateKey) -> None:
    doc = teamwork_badge()
    doc["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(signing.CanonicalizationError, match="favouriteColour"):
        signing.sign_credential(doc, vector_key)


def test_a_relative_iri_is_refused(vector_key: Ed25519PrivateKey) -> None:
    doc = teamwork_badge()
    doc["issuer"]["id"] = "issuers/565049"
    with pytest.raises(signing.CanonicalizationError, match="relative IRI"):
        signing.canonicalize(doc)


def test_an_undefined_property_added_after_signing_is_reported(signed: dict[str, Any]) -> None:
    doc = copy.deepcopy(signed)
    doc["credentialSubject"]["level"] = "expert"
    assert signing.verify_credential(doc).codes == [P.CANONICALIZATION_FAILED]


# ------------------------------------------------------------------------------------------ contexts, offline


def test_loader_serves_the_two_pinned_contexts() -> None:
    assert signing.allowed_contexts() == {signing.VC_V2_CONTEXT, signing.OB_V3_CONTEXT}
    for url in signing.allowed_contexts():
        remote = signing.document_loader(url)
        assert remote["documentUrl"] == url
        assert "@context" in remote["document"]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "https://evil.example/context.jsonld",
        "http://www.w3.org/ns/credentials/v2",  # http, not https: not the pinned URL
        "file:///etc/passwd",
    ],
)
def test_loader_refuses_any_other_url(url: str) -> None:
    with pytest.raises(signing.ContextNotAllowedError, match="never loads a context from the network"):
        signing.document_loader(url)


def test_a_credential_with_an_unknown_context_is_refused(signed: dict[str, Any]) -> None:
    doc = copy.deepcopy(signed)
    doc["@context"] = [*doc["@context"], "https://evil.example/context.jsonld"]
    with pytest.raises(signing.ContextNotAllowedError, match=r"evil\.example"):
        signing.canonicalize({k: v for k, v in doc.items() if k != "proof"})
    result = signing.verify_credential(doc)
    assert result.codes == [P.UNKNOWN_CONTEXT]


def test_signing_and_verifying_never_open_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    private, public = signing.generate_key_pair()
    doc = signing.sign_credential(teamwork_badge(), private)
    assert signing.verify_credential(doc, public).ok
    with pytest.raises(signing.ContextNotAllowedError):
        signing.canonicalize({**teamwork_badge(), "@context": ["https://example.com/ctx.jsonld"]})


def test_shipped_contexts_are_the_pinned_reference_copies() -> None:
    for name in ("credentials-v2.jsonld", "ob-context-3.0.3.json"):
        assert (CONTEXTS / name).read_bytes() == (VECTORS / name).read_bytes()


# ------------------------------------------------------------------------------------------ key files


def test_private_key_file_is_created_owner_only(tmp_path: Path) -> None:
    private, public = signing.generate_key_pair()
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        path = signing.save_private_key(private, tmp_path / "keys" / "issuer.pem")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = signing.load_private_key(path)
    assert signing.public_key_to_multikey(loaded) == signing.public_key_to_multikey(public)


def test_private_key_is_created_with_mode_0600_not_chmodded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    real_open = os.open

    def spy_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        calls.append((str(path), mode))
        return real_open(path, flags, mode, *args, **kwargs)

    def no_chmod(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the key file must be created 0o600, not chmodded afterwards")

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    private, _ = signing.generate_key_pair()
    signing.save_private_key(private, tmp_path / "issuer.pem")
    assert (str(tmp_path / "issuer.pem"), 0o600) in calls


def test_private_key_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    first, _ = signing.generate_key_pair()
    second, _ = signing.generate_key_pair()
    path = signing.save_private_key(first, tmp_path / "issuer.pem")
    with pytest.raises(signing.SigningKeyError, match="already there"):
        signing.save_private_key(second, path)
    assert signing.public_key_to_multikey(signing.load_private_key(path)) == signing.public_key_to_multikey(first)
    signing.save_private_key(second, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.public_key_to_multikey(signing.load_private_key(path)) == signing.public_key_to_multikey(second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["issuer.pem"]


def test_encrypted_private_key_round_trip(tmp_path: Path) -> None:
    private, _ = signing.generate_key_pair()
    path = signing.save_private_key(private, tmp_path / "issuer.pem", password=b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    with pytest.raises(signing.SigningKeyError):
        signing.load_private_key(path)
    with pytest.raises(signing.SigningKeyError):
        signing.load_private_key(path, password=b"wrong")
    loaded = signing.load_private_key(path, password=b"correct horse")
    assert signing.public_key_to_multikey(loaded) == signing.public_key_to_multikey(private)


def test_load_keys_report_bad_files(tmp_path: Path) -> None:
    with pytest.raises(signing.SigningKeyError, match="cannot read"):
        signing.load_private_key(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key\n")
    with pytest.raises(signing.SigningKeyError, match="not a readable PEM"):
        signing.load_private_key(junk)
    with pytest.raises(signing.SigningKeyError, match="neither a Multikey nor a PEM"):
        signing.load_public_key(junk)


def test_load_public_key_from_multikey_text_and_file(tmp_path: Path) -> None:
    assert signing.public_key_to_multikey(signing.load_public_key(MULTIKEY)) == MULTIKEY
    path = tmp_path / "issuer.pub"
    path.write_text(MULTIKEY + "\n")
    assert signing.public_key_to_multikey(signing.load_public_key(path)) == MULTIKEY


@pytest.mark.parametrize(
    ("multikey", "words"),
    [
        (MULTIKEY[1:], "must start with 'z'"),
        ("z0OIl" + MULTIKEY[5:], "not valid base58btc"),
        ("zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "not an Ed25519"),  # a secp256k1 Multikey
        ("z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(), "holds 31 key bytes"),
        ("", "non-empty"),
    ],
)
def test_malformed_multikey(multikey: str, words: str) -> None:
    with pytest.raises(signing.SigningKeyError, match=words):
        signing.public_key_from_multikey(multikey)
