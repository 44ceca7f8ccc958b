"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC Data Integrity EdDSA Cryptosuites v1.0).

Signing a JSON-LD credential (an Open Badges 3.0 ``OpenBadgeCredential``, a W3C Verifiable Credential 2.0):

1. *transform*: the unsigned document is canonicalized with RDFC-1.0 (URDNA2015) into canonical N-Quads;
2. *proof configuration*: the proof options (``type``, ``created``, ``verificationMethod``, ``cryptosuite``,
   ``proofPurpose``) with the document's ``@context`` are canonicalized the same way;
3. *hashing*: SHA-256 of each; the signed message is ``sha256(proof config) || sha256(document)`` (64 bytes);
4. *signature*: Ed25519; ``proofValue`` is its multibase base58btc encoding (``'z'`` prefix).

Public keys are written as Multikey: ``'z' + base58btc(0xed 0x01 + raw 32-byte key)``; the verification method of a
digiskill credential is ``issuer id + '#' + Multikey``.

JSON-LD contexts are served by :func:`document_loader` from copies shipped in ``digiskill/data/contexts/`` (their
SHA-256 is checked against the index there); any other URL is refused, so nothing is ever fetched from the network.
Canonicalization runs in a *safe mode*: a property that no context defines, or a relative IRI, would silently drop out
of the canonical form (and so out of what is signed), so it is an error instead.

Not handled: proof chains (``previousProof``), other cryptosuites, resolving a verification method over the network
(a key is either given to :func:`verify_credential` or read from the Multikey in the verification method itself).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdError, JsonLdProcessor

from ..errors import DigiskillError, InputError
from ..fileio import atomic_write_bytes

__all__ = [
    "CRYPTOSUITE",
    "OB_V3_CONTEXT",
    "PROOF_PURPOSE",
    "PROOF_TYPE",
    "VC_V2_CONTEXT",
    "CanonicalizationError",
    "ContextNotAllowedError",
    "CredentialError",
    "ProblemCode",
    "SigningKeyError",
    "VerificationProblem",
    "VerificationResult",
    "allowed_contexts",
    "canonicalize",
    "canonicalize_proof_config",
    "document_loader",
    "generate_key_pair",
    "hash_data",
    "load_private_key",
    "load_public_key",
    "public_key_from_multikey",
    "public_key_to_multikey",
    "save_private_key",
    "sign_credential",
    "verification_method_for",
    "verify_credential",
]

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
PROOF_PURPOSE = "assertionMethod"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
DID_KEY_PREFIX = "did:key:"
OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#: multicodec prefix of an Ed25519 public key (varint of 0xed), used in Multikey
ED25519_PUB_MULTICODEC = b"\xed\x01"
#: multibase prefix of base58btc
BASE58BTC_PREFIX = "z"
_SIGNATURE_BYTES = 64
_RAW_KEY_BYTES = 32
# an XML Schema dateTimeStamp (a dateTime with a time zone), as Data Integrity requires for ``created``
_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# --------------------------------------------------------------------------------------------------------- errors


class ContextNotAllowedError(DigiskillError, ValueError):
    """A JSON-LD context URL that digiskill does not ship a pinned copy of (nothing is fetched from the network)."""

    def __init__(self, url: str) -> None:
        self.url = url
        allowed = ", ".join(sorted(allowed_contexts()))
        super().__init__(
            f"JSON-LD context {url!r} is not one of the pinned local contexts ({allowed}); "
            "digiskill never loads a context from the network"
        )


class CanonicalizationError(DigiskillError, ValueError):
    """A document that cannot be canonicalized safely (invalid JSON-LD, undefined terms, relative IRIs)."""


class CredentialError(InputError):
    """A credential (or signing request) that cannot be signed as given."""


class SigningKeyError(InputError):
    """A key or key file that is missing, malformed or not Ed25519."""


# ------------------------------------------------------------------------------------------------ document loader


@cache
def _context_index() -> dict[str, dict[str, Any]]:
    folder = resources.files("digiskill") / "data" / "contexts"
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    contexts: dict[str, dict[str, Any]] = {}
    for url, entry in index["contexts"].items():
        raw = (folder / entry["file"]).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != entry["sha256"]:
            raise DigiskillError(
                f"the shipped copy of JSON-LD context {url!r} ({entry['file']}) does not match its pinned SHA-256 "
                f"(expected {entry['sha256']}, got {digest}): the installation is damaged"
            )
        contexts[url] = json.loads(raw)
    return contexts


def allowed_contexts() -> frozenset[str]:
    """The context URLs that :func:`document_loader` serves from the package's pinned copies."""
    return frozenset(_context_index())


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves only the pinned contexts shipped with digiskill.

    Raises :class:`ContextNotAllowedError` for any other URL; it never touches the network.
    """
    contexts = _context_index()
    if url not in contexts:
        raise ContextNotAllowedError(url)
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(contexts[url])}


# ------------------------------------------------------------------------------------------------ canonicalization


def _find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kind):
            return e
        stack.extend([e.__cause__, e.__context__, getattr(e, "cause", None)])
        details = getattr(e, "details", None)
        if isinstance(details, Mapping):
            stack.extend(v for v in details.values() if isinstance(v, BaseException))
    return None


def _jsonld_options() -> dict[str, Any]:
    # a fresh resolver cache per call: pyld's module-wide cache is shared with any other pyld user in the process,
    # and could then hold contexts that did not come from our loader. base=None keeps relative IRIs relative
    # (pyld would otherwise resolve them against http://example.org/base/), so the safe-mode check can see them.
    return {
        "base": None,
        "documentLoader": document_loader,
        "contextResolver": ContextResolver({}, document_loader),
        "processingMode": "json-ld-1.1",
    }


def _relative_iris(node: Any, path: str = "$") -> list[str]:
    """Paths of ``@id``/``@type`` values in an expanded document that are not absolute IRIs or blank nodes."""
    found: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_relative_iris(item, f"{path}[{i}]"))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("@id", "@type"):
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, str) and ":" not in v and not v.startswith("@"):
                        found.append(f"{path}.{key} = {v!r}")
            elif key != "@value":
                found.extend(_relative_iris(value, f"{path}[{key!r}]"))
    return found


def canonicalize(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document, with pinned contexts only, in safe mode.

    Raises :class:`ContextNotAllowedError` for a context that is not shipped, and :class:`CanonicalizationError` for
    invalid JSON-LD, a property no context defines, or a relative IRI (each would silently drop out of the signed
    data).
    """
    dropped: list[str] = []
    processor = JsonLdProcessor(on_property_dropped=lambda prop: dropped.append(str(prop)))
    try:
        expanded = processor.expand(copy.deepcopy(dict(document)), _jsonld_options())
    except JsonLdError as exc:
        not_allowed = _find_cause(exc, ContextNotAllowedError)
        if not_allowed is not None:
            raise ContextNotAllowedError(not_allowed.url) from exc  # type: ignore[attr-defined]
        raise CanonicalizationError(f"not valid JSON-LD: {exc}") from exc
    if dropped:
        names = ", ".join(repr(p) for p in sorted(set(dropped)))
        raise CanonicalizationError(
            f"properties not defined by the document's JSON-LD contexts: {names}; they would not be covered by the "
            "signature, so they are refused"
        )
    relative = _relative_iris(expanded)
    if relative:
        raise CanonicalizationError(
            "relative IRIs (they would drop out of the signed data): " + "; ".join(relative[:10])
        )
    options = _jsonld_options()
    options.update(algorithm="URDNA2015", format="application/n-quads")
    try:
        return processor.normalize(expanded, options)
    except JsonLdError as exc:
        raise CanonicalizationError(f"RDFC-1.0 canonicalization failed: {exc}") from exc


def canonicalize_proof_config(proof_options: Mapping[str, Any], context: Any) -> str:
    """Canonical N-Quads of the proof configuration: the proof options (without ``proofValue``) with ``context``."""
    config = {k: copy.deepcopy(v) for k, v in proof_options.items() if k not in ("proofValue", "@context")}
    return canonicalize({"@context": copy.deepcopy(context), **config})


def hash_data(proof_config_canon: str, document_canon: str) -> bytes:
    """The 64 bytes that are signed: SHA-256 of the canonical proof configuration, then of the canonical document."""
    return (
        hashlib.sha256(proof_config_canon.encode("utf-8")).digest()
        + hashlib.sha256(document_canon.encode("utf-8")).digest()
    )


# ------------------------------------------------------------------------------------------------------------ keys


def generate_key_pair() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    """A new Ed25519 key pair."""
    private = Ed25519PrivateKey.generate()
    return private, private.public_key()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_to_multikey(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The Multikey form of an Ed25519 public key: ``'z' + base58btc(0xed 0x01 + raw key)``."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return BASE58BTC_PREFIX + base58.b58encode(ED25519_PUB_MULTICODEC + _raw_public(key)).decode("ascii")


def public_key_from_multikey(multikey: str) -> Ed25519PublicKey:
    """Decode a Multikey Ed25519 public key (``z6Mk...``); :class:`SigningKeyError` says exactly what is wrong."""
    if not isinstance(multikey, str) or not multikey:
        raise SigningKeyError(f"a Multikey must be a non-empty string, got {multikey!r}")
    if not multikey.startswith(BASE58BTC_PREFIX):
        raise SigningKeyError(f"Multikey {multikey!r} is not multibase base58btc (it must start with 'z')")
    try:
        raw = base58.b58decode(multikey[1:])
    except ValueError as exc:
        raise SigningKeyError(f"Multikey {multikey!r} is not valid base58btc: {exc}") from exc
    if not raw.startswith(ED25519_PUB_MULTICODEC):
        raise SigningKeyError(f"Multikey {multikey!r} is not an Ed25519 public key (multicodec prefix is not 0xed01)")
    if len(raw) != len(ED25519_PUB_MULTICODEC) + _RAW_KEY_BYTES:
        raise SigningKeyError(
            f"Multikey {multikey!r} holds {len(raw) - len(ED25519_PUB_MULTICODEC)} key bytes, expected {_RAW_KEY_BYTES}"
        )
    return Ed25519PublicKey.from_public_bytes(raw[len(ED25519_PUB_MULTICODEC) :])


def verification_method_for(issuer: str | Mapping[str, Any], key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``issuer id + '#' + Multikey``: the verification method digiskill writes into a proof."""
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id or "#" in issuer_id:
        raise CredentialError(f"the issuer needs an id (a URL or DID without '#'), got {issuer_id!r}")
    return f"{issuer_id}#{public_key_to_multikey(key)}"


def save_private_key(
    key: Ed25519PrivateKey, path: str | Path, *, password: bytes | None = None, overwrite: bool = False
) -> Path:
    """Write ``key`` as PKCS#8 PEM to a file created with owner-only permissions (0o600) from the start.

    The file is never world- or group-readable, not even for a moment: it is created with mode 0o600 (the umask can
    only narrow that). An existing file is refused unless ``overwrite``; then the key is written to a new 0o600 file
    in the same folder that atomically replaces the old one. With ``password`` the PEM is encrypted.
    """
    path = Path(path)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        atomic_write_bytes(path, pem, private=True)
        return path
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise SigningKeyError(f"{path}: a file is already there; refusing to overwrite a key") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def load_private_key(path: str | Path, *, password: bytes | None = None) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from a PEM file (as written by :func:`save_private_key`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the private key file: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a readable PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the key is {type(key).__name__}, expected an Ed25519 private key")
    return key


def load_public_key(source: str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a Multikey string, or from a file holding a Multikey or a PEM public key."""
    if isinstance(source, str) and source.startswith(BASE58BTC_PREFIX + "6Mk"):
        return public_key_from_multikey(source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the public key file: {exc.strerror or exc}") from exc
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith(BASE58BTC_PREFIX):
        return public_key_from_multikey(text)
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(f"{path}: neither a Multikey nor a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: the key is {type(key).__name__}, expected an Ed25519 public key")
    return key


# --------------------------------------------------------------------------------------------------------- signing


def _format_created(created: datetime | str | None) -> str:
    if created is None:
        created = datetime.now(UTC)
    if isinstance(created, datetime):
        if created.tzinfo is None:
            raise CredentialError("'created' must carry a time zone (a naive datetime is ambiguous)")
        return created.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(created, str) or not _valid_datetime_stamp(created):
        raise CredentialError(f"'created' must be an XML Schema dateTime with a time zone, got {created!r}")
    return created


def _valid_datetime_stamp(value: str) -> bool:
    if not _DATETIME_STAMP.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def sign_credential(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    verification_method: str | None = None,
    created: datetime | str | None = None,
    proof_purpose: str = PROOF_PURPOSE,
    proof_set: bool = False,
) -> dict[str, Any]:
    """Sign an unsigned JSON-LD credential; returns a copy with a ``DataIntegrityProof`` (``eddsa-rdfc-2022``).

    ``proof_set=True`` writes ``proof`` as an array of one proof (what 1EdTech's OB 3.0 JSON Schema requires); the
    signature is the same either way, since the proof is not part of what is signed.

    ``verification_method`` defaults to ``issuer id + '#' + Multikey`` of the key; if given and it ends in a Multikey,
    that must be the key's own. ``created`` defaults to now (UTC, whole seconds); a string is used verbatim.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyError(f"expected an Ed25519 private key, got {type(private_key).__name__}")
    if not isinstance(document, Mapping):
        raise CredentialError(f"a credential must be a JSON object, got {type(document).__name__}")
    if "@context" not in document:
        raise CredentialError("the credential has no '@context'")
    if "proof" in document:
        raise CredentialError("the credential already has a 'proof'; sign the unsigned credential")
    if verification_method is None:
        verification_method = verification_method_for(document.get("issuer"), private_key)  # type: ignore[arg-type]
    else:
        _, _, fragment = verification_method.partition("#")
        if fragment.startswith(BASE58BTC_PREFIX + "6Mk") and fragment != public_key_to_multikey(private_key):
            raise CredentialError(
                f"verification method {verification_method!r} names another key than the signing key "
                f"({public_key_to_multikey(private_key)})"
            )
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "created": _format_created(created),
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": proof_purpose,
    }
    unsigned = copy.deepcopy(dict(document))
    document_canon = canonicalize(unsigned)
    proof_canon = canonicalize_proof_config(proof, unsigned["@context"])
    signature = private_key.sign(hash_data(proof_canon, document_canon))
    proof["proofValue"] = BASE58BTC_PREFIX + base58.b58encode(signature).decode("ascii")
    unsigned["proof"] = [proof] if proof_set else proof
    return unsigned


# ---------------------------------------------------------------------------------------------------- verification


class ProblemCode(StrEnum):
    """What can be wrong with a signed credential."""

    MALFORMED_DOCUMENT = "malformed-document"
    MISSING_PROOF = "missing-proof"
    MALFORMED_PROOF = "malformed-proof"
    WRONG_PROOF_TYPE = "wrong-proof-type"
    UNKNOWN_CRYPTOSUITE = "unknown-cryptosuite"
    WRONG_PROOF_PURPOSE = "wrong-proof-purpose"
    MALFORMED_CREATED = "malformed-created"
    MALFORMED_PROOF_VALUE = "malformed-proof-value"
    MALFORMED_VERIFICATION_METHOD = "malformed-verification-method"
    ISSUER_MISMATCH = "issuer-mismatch"
    KEY_MISMATCH = "key-mismatch"
    CONTEXT_MISMATCH = "context-mismatch"
    UNKNOWN_CONTEXT = "unknown-context"
    CANONICALIZATION_FAILED = "canonicalization-failed"
    SIGNATURE_INVALID = "signature-invalid"
    # the data model (checked by digiskill.results.verification before the proof)
    CONTEXT_ORDER = "context-order"
    WRONG_TYPE = "wrong-type"
    MALFORMED_DATE = "malformed-date"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    MALFORMED_ISSUER = "malformed-issuer"
    MISSING_SUBJECT = "missing-subject"
    MALFORMED_STATUS = "malformed-status"
    STATUS_LIST_MISMATCH = "status-list-mismatch"


@dataclass(frozen=True)
class VerificationProblem:
    """One thing wrong with a credential: a stable ``code`` and a message saying what, where, expected and got."""

    code: ProblemCode
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify_credential`: ``ok`` only if there is no problem at all.

    ``key_source`` is ``"given"`` when the signature was checked with a key the caller trusts, ``"did:key"`` when the
    issuer is a ``did:key`` DID and the proof was made with the DID's own key (the DID establishes the key), and
    ``"verificationMethod"`` when the key was read from the credential itself: then a valid signature proves that the
    credential was not changed, but not who made it.
    """

    ok: bool
    problems: tuple[VerificationProblem, ...] = ()
    verification_method: str | None = None
    key_source: str | None = None
    created: str | None = None
    cryptosuite: str | None = None
    document_hash: str | None = field(default=None, repr=False)

    @property
    def codes(self) -> list[ProblemCode]:
        return [p.code for p in self.problems]

    def __str__(self) -> str:
        if self.ok:
            return f"valid {self.cryptosuite} proof by {self.verification_method} (created {self.created})"
        return "invalid credential:\n" + "\n".join(f"- {p}" for p in self.problems)


def _key_from_verification_method(vm: str) -> tuple[str, str | None]:
    controller, sep, fragment = vm.partition("#")
    return controller, (fragment if sep and fragment.startswith(BASE58BTC_PREFIX) else None)


def _check_proof(
    document: Mapping[str, Any],
    proof: Any,
    public_key: Ed25519PublicKey | None,
    expected_purpose: str,
    label: str,
) -> tuple[list[VerificationProblem], dict[str, Any]]:
    problems: list[VerificationProblem] = []
    info: dict[str, Any] = {}

    def add(code: ProblemCode, message: str) -> None:
        problems.append(VerificationProblem(code, f"{label}{message}"))

    if not isinstance(proof, Mapping):
        add(ProblemCode.MALFORMED_PROOF, f"the proof must be a JSON object, got {type(proof).__name__}")
        return problems, info

    ptype = proof.get("type")
    if ptype != PROOF_TYPE:
        add(ProblemCode.WRONG_PROOF_TYPE, f"proof type is {ptype!r}, expected {PROOF_TYPE!r}")
    suite = proof.get("cryptosuite")
    info["cryptosuite"] = suite
    if suite != CRYPTOSUITE:
        hint = ""
        if isinstance(suite, str) and difflib.get_close_matches(suite, [CRYPTOSUITE], n=1, cutoff=0.8):
            hint = f" (did you mean {CRYPTOSUITE!r}? the suite name must be exact)"
        add(ProblemCode.UNKNOWN_CRYPTOSUITE, f"unknown cryptosuite {suite!r}, only {CRYPTOSUITE!r} is supported{hint}")
    purpose = proof.get("proofPurpose")
    if purpose != expected_purpose:
        add(ProblemCode.WRONG_PROOF_PURPOSE, f"proof purpose is {purpose!r}, expected {expected_purpose!r}")
    created = proof.get("created")
    info["created"] = created
    if created is not None and not (isinstance(created, str) and _valid_datetime_stamp(created)):
        add(ProblemCode.MALFORMED_CREATED, f"'created' is {created!r}, not an XML Schema dateTime with a time zone")

    signature: bytes | None = None
    proof_value = proof.get("proofValue")
    if proof_value is None:
        add(ProblemCode.MALFORMED_PROOF_VALUE, "the proof has no 'proofValue'")
    elif not isinstance(proof_value, str) or not proof_value.startswith(BASE58BTC_PREFIX):
        add(
            ProblemCode.MALFORMED_PROOF_VALUE,
            f"proofValue must be a multibase base58btc string starting with 'z', got {str(proof_value)[:20]!r}",
        )
    else:
        try:
            decoded = base58.b58decode(proof_value[1:])
        except ValueError as exc:
            add(ProblemCode.MALFORMED_PROOF_VALUE, f"proofValue is not valid base58btc ({exc})")
        else:
            if len(decoded) != _SIGNATURE_BYTES:
                add(
                    ProblemCode.MALFORMED_PROOF_VALUE,
                    f"proofValue decodes to {len(decoded)} bytes, an Ed25519 signature has {_SIGNATURE_BYTES}",
                )
            else:
                signature = decoded

    vm = proof.get("verificationMethod")
    info["verification_method"] = vm
    key: Ed25519PublicKey | None = None
    if not isinstance(vm, str) or not vm:
        add(ProblemCode.MALFORMED_VERIFICATION_METHOD, f"verificationMethod must be a URL string, got {vm!r}")
    else:
        controller, multikey = _key_from_verification_method(vm)
        issuer = document.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if issuer_id is not None and controller != issuer_id:
            add(
                ProblemCode.ISSUER_MISMATCH,
                f"verificationMethod {vm!r} does not belong to the issuer {issuer_id!r} (expected '{issuer_id}#...')",
            )
        named_key: Ed25519PublicKey | None = None
        if multikey is not None:
            try:
                named_key = public_key_from_multikey(multikey)
            except SigningKeyError as exc:
                add(ProblemCode.MALFORMED_VERIFICATION_METHOD, f"verificationMethod {vm!r}: {exc}")
        if public_key is not None:
            key = public_key
            info["key_source"] = "given"
            if named_key is not None and _raw_public(named_key) != _raw_public(public_key):
                add(
                    ProblemCode.KEY_MISMATCH,
                    f"the proof was made with key {multikey} but the expected key is "
                    f"{public_key_to_multikey(public_key)}",
                )
        elif isinstance(issuer_id, str) and issuer_id.startswith(DID_KEY_PREFIX):
            # a did:key issuer *is* its key: the verification method must be did:key:z6Mk…#z6Mk…, the DID's own key
            did_key = issuer_id[len(DID_KEY_PREFIX) :]
            if multikey != did_key:
                add(
                    ProblemCode.KEY_MISMATCH,
                    f"a did:key issuer signs with the key of its DID: expected verification method "
                    f"'{issuer_id}#{did_key}', got {vm!r}",
                )
            elif named_key is not None:
                key = named_key
                info["key_source"] = "did:key"
        elif named_key is not None:
            key = named_key
            info["key_source"] = "verificationMethod"
        elif multikey is None:
            add(
                ProblemCode.MALFORMED_VERIFICATION_METHOD,
                f"verificationMethod {vm!r} holds no Multikey and no public key was given to check it with",
            )

    # the unsecured document: all proofs removed; a proof @context must be a prefix of the document's @context
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    doc_ctx = document.get("@context")
    proof_ctx = proof.get("@context")
    if proof_ctx is not None:
        doc_list = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
        proof_list = proof_ctx if isinstance(proof_ctx, list) else [proof_ctx]
        if doc_list[: len(proof_list)] != proof_list:
            add(ProblemCode.CONTEXT_MISMATCH, "the proof's @context is not the start of the credential's @context")
        else:
            unsecured["@context"] = proof_ctx

    if problems or key is None or signature is None:
        return problems, info

    try:
        document_canon = canonicalize(unsecured)
        proof_canon = canonicalize_proof_config(proof, unsecured["@context"])
    except ContextNotAllowedError as exc:
        add(ProblemCode.UNKNOWN_CONTEXT, str(exc))
        return problems, info
    except CanonicalizationError as exc:
        add(ProblemCode.CANONICALIZATION_FAILED, str(exc))
        return problems, info
    info["document_hash"] = hashlib.sha256(document_canon.encode("utf-8")).hexdigest()
    try:
        key.verify(signature, hash_data(proof_canon, document_canon))
    except InvalidSignature:
        add(
            ProblemCode.SIGNATURE_INVALID,
            "the signature does not match: the credential or its proof options were changed after signing",
        )
    return problems, info


def verify_credential(
    document: Any,
    public_key: Ed25519PublicKey | str | None = None,
    *,
    expected_purpose: str = PROOF_PURPOSE,
) -> VerificationResult:
    """Check the ``eddsa-rdfc-2022`` Data Integrity proof(s) of a signed JSON-LD credential.

    ``public_key`` (an Ed25519 public key or a Multikey) is the key the caller trusts for the issuer; without it the
    key is read from the Multikey in the proof's verification method (integrity only, see
    :class:`VerificationResult`). Never raises for a bad credential: every problem found is in the result.
    """
    if not isinstance(document, Mapping):
        problem = VerificationProblem(
            ProblemCode.MALFORMED_DOCUMENT, f"a credential must be a JSON object, got {type(document).__name__}"
        )
        return VerificationResult(ok=False, problems=(problem,))
    if isinstance(public_key, str):
        try:
            public_key = public_key_from_multikey(public_key)
        except SigningKeyError as exc:
            raise SigningKeyError(f"the expected public key is not usable: {exc}") from exc
    if "@context" not in document:
        problem = VerificationProblem(ProblemCode.MALFORMED_DOCUMENT, "the credential has no '@context'")
        return VerificationResult(ok=False, problems=(problem,))
    proofs = document.get("proof")
    if proofs is None or proofs == []:
        problem = VerificationProblem(ProblemCode.MISSING_PROOF, "the credential has no 'proof': it is not signed")
        return VerificationResult(ok=False, problems=(problem,))
    many = isinstance(proofs, list) and len(proofs) > 1
    proof_list = proofs if isinstance(proofs, list) else [proofs]
    problems: list[VerificationProblem] = []
    info: dict[str, Any] = {}
    for i, proof in enumerate(proof_list):
        found, info_i = _check_proof(document, proof, public_key, expected_purpose, f"proof[{i}]: " if many else "")
        problems.extend(found)
        info = info or info_i
    return VerificationResult(
        ok=not problems,
        problems=tuple(problems),
        verification_method=info.get("verification_method"),
        key_source=info.get("key_source"),
        created=info.get("created"),
        cryptosuite=info.get("cryptosuite"),
        document_hash=info.get("document_hash"),
    )
