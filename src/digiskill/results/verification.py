"""Verifying a credential and stating whom it is trusted to come from.

A valid signature only shows that the credential was not changed since someone signed it. Whether that someone is
the issuer the credential names is a separate question, answered by where the verifier got the key:

* ``--key``: the caller gives the issuer's public key (a Multikey or a PEM file);
* ``--trust FILE``: a trust list (issuer ids with their Multikeys) or an issuer's published controller document
  (``verificationMethod`` entries of type Multikey, referenced from ``assertionMethod``);
* a ``did:key`` issuer: the DID *is* the key, so the proof must be made with that very key.

Without any of these the key can only be read from the credential itself: the signature may be intact, but anyone can
sign with their own key under any issuer id, so the outcome is "signature intact, issuer not established", never
"valid".

Outcomes and exit codes of ``digiskill verify`` (:class:`Verdict`):

=====  ===============  =================================================================================
code   status           meaning
=====  ===============  =================================================================================
0      ``valid``        data model and signature valid, and the key is established as the issuer's
1      ``invalid``      something is wrong; every problem has a code (``signature-invalid``, …)
2      (bad input)      the file is unreadable, not UTF-8, not JSON, too large or too deeply nested; bad key
3      ``untrusted``    signature intact, signed by the key named in the credential, issuer not established
4      ``revoked``      valid, but the issuer has revoked it (status list)
=====  ===============  =================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, ValidationError, field_validator

from ..bank.frozen import FrozenModel
from ..bank.loading import parse_json, read_text_file
from ..errors import InputError, Problem
from .signing import (
    _DATETIME_STAMP,
    BASE58BTC_PREFIX,
    OB_V3_CONTEXT,
    VC_V2_CONTEXT,
    ProblemCode,
    SigningKeyError,
    VerificationProblem,
    VerificationResult,
    public_key_from_multikey,
    public_key_to_multikey,
    verify_credential,
)

MAX_INPUT_BYTES = 2_000_000
_ISSUER_ID = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^#\s]+$")

Status = Literal["valid", "invalid", "untrusted", "revoked"]
EXIT_CODES: dict[Status, int] = {"valid": 0, "invalid": 1, "untrusted": 3, "revoked": 4}
ESTABLISHED_BY = {
    "given": "the key given with --key",
    "did:key": "the issuer's did:key",
    "trust": "the trust file",
    "online": "the controller document published at the issuer id (--online)",
}


# ------------------------------------------------------------------------------------------------------ reading JSON


def read_json_object(path: str | Path, what: str, *, max_bytes: int = MAX_INPUT_BYTES) -> dict[str, Any]:
    """A JSON object from ``path`` through the model-file loader's reader and parser
    (:mod:`digiskill.bank.loading`), or :class:`InputError`: unreadable, larger than ``max_bytes``, not UTF-8, not
    JSON (with the line), a key twice in one object, ``NaN``/``Infinity``, nested more than
    :data:`~digiskill.bank.loading.MAX_DEPTH` levels, or not an object."""
    text = read_text_file(path, f"the {what}", max_bytes=max_bytes)
    value = parse_json(text, str(path))
    if not isinstance(value, dict):
        raise InputError(Problem(f"a {what} is a JSON object; the file holds a {type(value).__name__}", str(path)))
    return value


# ------------------------------------------------------------------------------------------------------- trust file


class TrustList(FrozenModel):
    """A trust file: the issuers a verifier trusts, each with its public key(s) as Multikeys."""

    issuers: dict[str, list[str]] = Field(description="issuer id -> its Multikey public keys (z6Mk…)")

    @field_validator("issuers", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


@dataclass(frozen=True)
class TrustStore:
    """Established keys: issuer id -> verification method id -> Multikey; ``origin`` says where they come from
    (``"trust"``: a file given with ``--trust``; ``"online"``: the controller document fetched from the issuer id)."""

    keys: Mapping[str, Mapping[str, str]]
    origin: Literal["trust", "online"] = "trust"

    def fetched(self) -> TrustStore:
        """The same keys, established by the controller document fetched from the issuer id."""
        return TrustStore(self.keys, "online")

    @classmethod
    def from_keys(cls, issuers: Mapping[str, list[str]]) -> TrustStore:
        for keys in issuers.values():
            for k in keys:
                public_key_from_multikey(k)  # SigningKeyError says what is wrong
        return cls({i: {f"{i}#{k}": k for k in keys} for i, keys in issuers.items()})

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str | None = None) -> TrustStore:
        """A trust list (``{"issuers": {...}}``) or a controller document (``id``, ``verificationMethod``,
        ``assertionMethod``) as published by ``digiskill keys publish`` (also a did:web ``did.json``)."""
        if "issuers" in doc:
            try:
                return cls.from_keys(TrustList.model_validate(doc).issuers)
            except ValidationError as err:
                raise InputError(
                    [Problem(".".join(map(str, e["loc"])) + ": " + e["msg"], source) for e in err.errors()]
                ) from err
        if "verificationMethod" in doc:
            return cls(_controller_keys(doc, source))
        raise InputError(
            Problem(
                "not a trust file: expected {'issuers': {issuer id: [Multikey, …]}} or a controller document", source
            )
        )

    def resolve(self, issuer_id: str | None, verification_method: str | None) -> tuple[str | None, str | None]:
        """``(multikey, problem)``: the trusted key for the proof's verification method; ``(None, None)`` when this
        store knows nothing about the issuer; ``(None, message)`` when it names other keys for the issuer."""
        if not isinstance(issuer_id, str) or issuer_id not in self.keys:
            return None, None
        known = self.keys[issuer_id]
        if isinstance(verification_method, str):
            if verification_method in known:
                return known[verification_method], None
            _, _, fragment = verification_method.partition("#")
            if fragment.startswith(BASE58BTC_PREFIX) and fragment in known.values():
                return fragment, None
        where = "the trust file" if self.origin == "trust" else "the issuer's published controller document"
        return None, (
            f"{where} gives key(s) {', '.join(sorted(set(known.values())))} for issuer {issuer_id!r}, "
            f"but the proof names {verification_method!r}"
        )


def _controller_keys(doc: Mapping[str, Any], source: str | None) -> dict[str, dict[str, str]]:
    controller = doc.get("id")
    if not isinstance(controller, str) or not controller:
        raise InputError(Problem("the controller document has no 'id'", source))
    methods = doc.get("verificationMethod")
    methods = methods if isinstance(methods, list) else [methods]
    by_id: dict[str, str] = {}
    problems = []
    for n, vm in enumerate(methods):
        if not isinstance(vm, Mapping) or not isinstance(vm.get("id"), str):
            problems.append(Problem(f"verificationMethod[{n}] must be an object with an 'id'", source))
            continue
        vm_id = vm["id"] if not vm["id"].startswith("#") else controller + vm["id"]
        if vm.get("type") != "Multikey" or vm.get("controller") != controller:
            problems.append(Problem(f"verificationMethod[{n}] must be a Multikey controlled by {controller!r}", source))
            continue
        try:
            public_key_from_multikey(vm.get("publicKeyMultibase"))  # type: ignore[arg-type]
        except SigningKeyError as err:
            problems.append(Problem(f"verificationMethod[{n}]: {err}", source))
            continue
        by_id[vm_id] = vm["publicKeyMultibase"]
    assertion = doc.get("assertionMethod", [])
    assertion = assertion if isinstance(assertion, list) else [assertion]
    allowed = {}
    for ref in assertion:
        ref_id = ref.get("id") if isinstance(ref, Mapping) else ref
        if isinstance(ref_id, str):
            ref_id = controller + ref_id if ref_id.startswith("#") else ref_id
            if ref_id in by_id:
                allowed[ref_id] = by_id[ref_id]
    if problems:
        raise InputError(problems)
    if not allowed:
        raise InputError(Problem("the controller document lists no Multikey under 'assertionMethod'", source))
    return {controller: allowed}


CID_CONTEXT = "https://www.w3.org/ns/cid/v1"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def controller_document(issuer_id: str, multikey: str) -> dict[str, Any]:
    """The document an issuer publishes at its id so that verifiers can establish its key: one ``Multikey``
    verification method (``issuer id#Multikey``), listed under ``assertionMethod`` (W3C Controlled Identifiers 1.0;
    for a ``did:web`` issuer the same content is its DID document, ``did.json``, with the DID contexts)."""
    public_key_from_multikey(multikey)
    vm_id = f"{issuer_id}#{multikey}"
    return {
        "@context": DID_CONTEXTS if issuer_id.startswith("did:") else [CID_CONTEXT],
        "id": issuer_id,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": issuer_id, "publicKeyMultibase": multikey}
        ],
        "assertionMethod": [vm_id],
    }


def did_web_url(did: str) -> str:
    """Where a ``did:web`` DID document is served: ``did:web:example.com:issuers:x`` ->
    ``https://example.com/issuers/x/did.json`` (``https://example.com/.well-known/did.json`` without a path)."""
    parts = did.removeprefix("did:web:").split(":")
    host = parts[0].replace("%3A", ":")
    path = "/".join(parts[1:])
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"


# ---------------------------------------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify_document`: ``status`` and its ``exit_code``, the problems, how the key was
    established (``established_by``), and the signing key (``signer``, a Multikey) when the signature is intact."""

    status: Status
    problems: tuple[VerificationProblem, ...]
    proof: VerificationResult | None
    signer: str | None = None
    established_by: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def codes(self) -> list[str]:
        return [str(p.code) for p in self.problems]

    def __str__(self) -> str:
        if self.status == "invalid":
            return "invalid credential:\n" + "\n".join(f"- {p}" for p in self.problems)
        assert self.proof is not None
        head = {
            "valid": f"valid {self.proof.cryptosuite} proof by {self.proof.verification_method} "
            f"(created {self.proof.created}); key established by {ESTABLISHED_BY.get(self.established_by or '', '')}",
            "untrusted": f"signature intact, signed by key {self.signer}, issuer not established: pass --key with "
            "the issuer's published key, --trust with its controller document / a trust list, or --online",
            "revoked": f"revoked: the signature is valid (key {self.signer}), but the issuer has revoked it",
        }[self.status]
        return "\n".join([head, *self.notes])


def issuer_id_of(doc: Mapping[str, Any]) -> str | None:
    """The credential's issuer id (``issuer`` as a string or ``issuer.id``), None when it has none."""
    issuer = doc.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) else None


def _first_vm(doc: Mapping[str, Any]) -> str | None:
    proof = doc.get("proof")
    proof = proof[0] if isinstance(proof, list) and proof else proof
    vm = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    return vm if isinstance(vm, str) else None


CREDENTIAL_TYPES = ("OpenBadgeCredential", "AchievementCredential")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _DATETIME_STAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def data_model_problems(doc: Mapping[str, Any], at: datetime) -> list[VerificationProblem]:
    """What makes ``doc`` not a VC 2.0 / OB 3.0 credential valid at time ``at``, before any proof is looked at."""
    out: list[VerificationProblem] = []

    def add(code: ProblemCode, message: str) -> None:
        out.append(VerificationProblem(code, message))

    ctx = doc.get("@context")
    ctx_list = ctx if isinstance(ctx, list) else [ctx]
    if not ctx_list or ctx_list[0] != VC_V2_CONTEXT:
        add(
            ProblemCode.CONTEXT_ORDER,
            f"the first @context must be {VC_V2_CONTEXT!r} (VC Data Model 2.0), got {ctx_list[0]!r}",
        )
    elif OB_V3_CONTEXT not in ctx_list:
        add(ProblemCode.CONTEXT_ORDER, f"the @context lacks the Open Badges 3.0 context {OB_V3_CONTEXT!r}")
    types = doc.get("type")
    types = types if isinstance(types, list) else [types]
    if "VerifiableCredential" not in types or not any(t in types for t in CREDENTIAL_TYPES):
        add(
            ProblemCode.WRONG_TYPE,
            "type must include 'VerifiableCredential' and 'OpenBadgeCredential' (or 'AchievementCredential'), "
            f"got {types}",
        )
    valid_from = _parse_time(doc.get("validFrom"))
    if valid_from is None:
        add(ProblemCode.MALFORMED_DATE, f"validFrom {doc.get('validFrom')!r} is not a dateTime with a time zone")
    elif at < valid_from:
        add(ProblemCode.NOT_YET_VALID, f"valid from {doc['validFrom']}, checked at {at.isoformat()}")
    if "validUntil" in doc:
        valid_until = _parse_time(doc["validUntil"])
        if valid_until is None:
            add(ProblemCode.MALFORMED_DATE, f"validUntil {doc['validUntil']!r} is not a dateTime with a time zone")
        elif valid_from is not None and valid_until < valid_from:
            add(ProblemCode.MALFORMED_DATE, f"validUntil {doc['validUntil']} is before validFrom {doc['validFrom']}")
        elif at > valid_until:
            add(ProblemCode.EXPIRED, f"valid until {doc['validUntil']}, checked at {at.isoformat()}")
    issuer = doc.get("issuer")
    issuer_id = issuer_id_of(doc)
    if issuer_id is None or not _ISSUER_ID.match(issuer_id):
        add(ProblemCode.MALFORMED_ISSUER, f"the issuer must have an id (a URL or DID), got {issuer!r:.100}")
    elif isinstance(issuer, Mapping) and "Profile" not in (
        issuer.get("type") if isinstance(issuer.get("type"), list) else [issuer.get("type")]
    ):
        add(ProblemCode.MALFORMED_ISSUER, "the issuer object must have type 'Profile'")
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping) or not (subject.get("id") or subject.get("identifier")):
        add(ProblemCode.MISSING_SUBJECT, "credentialSubject must be an object with an 'id' or an 'identifier'")
    return out


def verify_document(
    doc: Any,
    *,
    key: Ed25519PublicKey | str | None = None,
    trust: TrustStore | None = None,
    at: datetime | None = None,
    status_list: Mapping[str, Any] | None = None,
) -> Verdict:
    """Verify ``doc`` (a parsed credential) and state trust; never raises for a bad credential.

    The data model is checked first (:func:`data_model_problems`: context order, types, validity period at ``at``,
    default now; issuer; subject), then the proof; every problem found is reported.

    Args:
        doc: the credential as parsed JSON.
        key: the issuer's public key the caller trusts (Ed25519 key or Multikey).
        trust: keys established from a trust file or a published controller document.
        at: the time to check validity at (default: now).
        status_list: the issuer's signed ``BitstringStatusListCredential``: checked (same issuer, same established
            key, the list the credential names) and a set bit at the credential's index gives status ``revoked``.
    """
    at = at or datetime.now(UTC)
    established_by = "given" if key is not None else None
    extra: list[VerificationProblem] = []
    if isinstance(doc, Mapping):
        extra += data_model_problems(doc, at)
    if key is None and trust is not None and isinstance(doc, Mapping):
        multikey, problem = trust.resolve(issuer_id_of(doc), _first_vm(doc))
        if problem is not None:
            extra.append(VerificationProblem(ProblemCode.KEY_MISMATCH, problem))
        elif multikey is not None:
            key, established_by = multikey, trust.origin
    outcome = verify_credential(doc, key)
    problems = tuple(extra) + outcome.problems
    if problems:
        return Verdict("invalid", problems, outcome)
    if outcome.key_source == "did:key":
        established_by = "did:key"
    signer = None
    vm = outcome.verification_method or ""
    fragment = vm.partition("#")[2]
    if isinstance(key, Ed25519PublicKey):
        signer = public_key_to_multikey(key)
    elif isinstance(key, str):
        signer = key
    elif fragment.startswith(BASE58BTC_PREFIX):
        signer = fragment
    notes: list[str] = []
    revoked = False
    if status_list is not None:
        status_problems, revoked = _check_status(doc, status_list, key if key is not None else signer, at)
        if status_problems:
            return Verdict("invalid", tuple(status_problems), outcome, signer)
    elif isinstance(doc, Mapping) and "credentialStatus" in doc:
        notes.append(
            "note: the credential has a revocation entry; pass --status-list with the issuer's list (or --online) "
            "to check it"
        )
    if established_by is None:
        if revoked:
            notes.append("note: the status list (signed by the same key) marks the credential as revoked")
        return Verdict("untrusted", (), outcome, signer, notes=tuple(notes))
    if revoked:
        return Verdict("revoked", (), outcome, signer, established_by)
    return Verdict("valid", (), outcome, signer, established_by, tuple(notes))


def _check_status(
    doc: Mapping[str, Any], status_list: Mapping[str, Any], key: Ed25519PublicKey | str | None, at: datetime
) -> tuple[list[VerificationProblem], bool]:
    """Problems with the status list, and whether the credential's bit is set."""
    from .status import LIST_TYPE, decode_bits, entry_index

    def problem(message: str) -> tuple[list[VerificationProblem], bool]:
        return [VerificationProblem(ProblemCode.STATUS_LIST_MISMATCH, message)], False

    try:
        url, index = entry_index(doc)
    except ValueError as exc:
        return [VerificationProblem(ProblemCode.MALFORMED_STATUS, str(exc))], False
    if status_list.get("id") != url:
        return problem(f"the credential's status list is {url!r}, the list given is {status_list.get('id')!r}")
    types = status_list.get("type")
    if not isinstance(types, list) or LIST_TYPE not in types:
        return problem(f"the status list must have type {LIST_TYPE!r}")
    if issuer_id_of(status_list) != issuer_id_of(doc):
        return problem(f"the status list is issued by {issuer_id_of(status_list)!r}, not by {issuer_id_of(doc)!r}")
    proof = verify_credential(status_list, key)
    if not proof.ok:
        return [VerificationProblem(p.code, f"status list: {p.message}") for p in proof.problems], False
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("statusPurpose") != "revocation":
        return problem("the status list's credentialSubject must be a BitstringStatusList for 'revocation'")
    valid_until = _parse_time(status_list.get("validUntil")) if "validUntil" in status_list else None
    if valid_until is not None and at > valid_until:
        return problem(f"the status list expired on {status_list['validUntil']}; fetch the current one")
    try:
        bits = decode_bits(subject.get("encodedList"))  # type: ignore[arg-type]
    except ValueError as exc:
        return [VerificationProblem(ProblemCode.MALFORMED_STATUS, f"status list: {exc}")], False
    if index >= bits.size:
        return [
            VerificationProblem(ProblemCode.MALFORMED_STATUS, f"index {index} beyond the list ({bits.size})")
        ], False
    return [], bool(bits[index])


__all__ = [
    "EXIT_CODES",
    "TrustList",
    "TrustStore",
    "Verdict",
    "controller_document",
    "did_web_url",
    "issuer_id_of",
    "read_json_object",
    "verify_document",
]
