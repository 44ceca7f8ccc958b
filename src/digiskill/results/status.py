"""Revocation with the W3C Bitstring Status List v1.0.

The issuer keeps a *status list*: a bitstring of at least 131,072 entries (herd privacy: one list hides which of many
credentials a verifier asks about), one bit per issued credential, 1 = revoked. Two files:

* the issuer's register (``digiskill.status-list/1``, :class:`StatusRegister`): the list's URL, its size, which indices
  are allocated and which are revoked (both as bitstrings). Indices are drawn at random among the unallocated ones
  (so an index says nothing about the order of issue), never reused, and every change is made under an exclusive lock
  (``REGISTER.lock``, ``fcntl.flock``) and written atomically, so two processes issuing at once never get the same
  index and a restart continues where the last process stopped;
* the published list, a signed ``BitstringStatusListCredential`` (eddsa-rdfc-2022) whose ``credentialSubject`` is a
  ``BitstringStatusList`` with ``statusPurpose: revocation`` and ``encodedList`` = multibase base64url (``'u'``,
  no padding) of the GZIP-compressed bitstring; bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8`` (the first index is
  the left-most bit), as the specification says.

Every credential issued with a register gets a ``credentialStatus`` of type ``BitstringStatusListEntry``
(``statusPurpose: revocation``, ``statusListIndex`` as a string, ``statusListCredential`` = the list's URL).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import gzip
import io
import os
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bank.loading import load_model_file
from ..errors import InputError, Problem
from ..fileio import atomic_write_text
from .signing import VC_V2_CONTEXT, sign_credential

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MIN_ENTRIES = 131_072
REGISTER_SCHEMA = "digiskill.status-list/1"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusListCredential"


# ------------------------------------------------------------------------------------------------------- bitstrings


def encode_bits(bits: np.ndarray) -> str:
    """``encodedList`` of a boolean array: multibase base64url (no padding) of the GZIP-compressed bitstring."""
    packed = np.packbits(np.asarray(bits, dtype=bool), bitorder="big").tobytes()
    raw = gzip.compress(packed, mtime=0)
    return "u" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_bits(encoded: str, *, max_entries: int = 16 * 1024 * 1024) -> np.ndarray:
    """The boolean array of an ``encodedList``; ValueError if it is not multibase base64url of a GZIP bitstring."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be a multibase base64url string starting with 'u'")
    body = encoded[1:]
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            packed = fh.read(max_entries // 8 + 1)  # bounded: a GZIP bomb cannot exhaust memory
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"encodedList is not base64url GZIP data ({exc})") from exc
    if not packed:
        raise ValueError("encodedList holds an empty bitstring")
    if len(packed) * 8 > max_entries:
        raise ValueError(f"the status list has more than {max_entries:,} entries")
    return np.unpackbits(np.frombuffer(packed, dtype=np.uint8), bitorder="big").astype(bool)


# -------------------------------------------------------------------------------------------------------- register


class StatusRegister(BaseModel):
    """The issuer's record of one status list (the file given to ``digiskill status``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_id: Literal["digiskill.status-list/1"] = Field(REGISTER_SCHEMA, alias="schema")
    url: str = Field(pattern=r"^https?://\S+$", description="where the signed list is published (its id)")
    purpose: Literal["revocation"] = "revocation"
    size: int = Field(ge=MIN_ENTRIES, le=16 * 1024 * 1024, description="number of entries (multiple of 8)")
    allocated: str = Field(description="encoded bitstring: indices given to credentials")
    revoked: str = Field(description="encoded bitstring: indices revoked")
    n_allocated: int = Field(ge=0)

    def bits(self, which: Literal["allocated", "revoked"]) -> np.ndarray:
        return decode_bits(getattr(self, which))


def new_register(path: Path, url: str, size: int = MIN_ENTRIES) -> StatusRegister:
    """Create a register at ``path`` (refused if it exists)."""
    if size < MIN_ENTRIES or size % 8:
        raise InputError(Problem(f"a status list has at least {MIN_ENTRIES:,} entries, a multiple of 8; got {size}"))
    empty = encode_bits(np.zeros(size, dtype=bool))
    try:
        register = StatusRegister(url=url, size=size, allocated=empty, revoked=empty, n_allocated=0)
    except ValidationError as err:
        raise InputError([Problem(f"{'.'.join(map(str, e['loc']))}: {e['msg']}") for e in err.errors()]) from err
    with _locked(path):
        if path.exists():
            raise InputError(Problem("the status register exists already; not overwritten", str(path)))
        atomic_write_text(path, register.model_dump_json(by_alias=True, indent=1) + "\n")
    return register


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path.lock`` for the duration of the block (blocks until the other process is done)."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise InputError(Problem(f"cannot lock the status register: {err.strerror}", str(lock))) from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def load_register(path: Path) -> StatusRegister:
    """The register at ``path``, read through the one model-file loader and checked for consistency.

    Raises:
        InputError: unreadable, not JSON, not a register (file, line, field), a bitstring that does not decode, or
            sizes and counts that disagree.
    """
    register = load_model_file(path, StatusRegister, what="the status register", fmt="json")
    try:
        allocated, revoked = register.bits("allocated"), register.bits("revoked")
    except ValueError as err:
        raise InputError(Problem(f"not a status register: {err}", str(path))) from err
    if allocated.size != register.size or revoked.size != register.size or int(allocated.sum()) != register.n_allocated:
        raise InputError(Problem("the status register is inconsistent (sizes or counts differ)", str(path)))
    if (revoked & ~allocated).any():
        raise InputError(Problem("the status register revokes indices that were never allocated", str(path)))
    return register


def _save(path: Path, register: StatusRegister, allocated: np.ndarray, revoked: np.ndarray) -> StatusRegister:
    new = register.model_copy(
        update={
            "allocated": encode_bits(allocated),
            "revoked": encode_bits(revoked),
            "n_allocated": int(allocated.sum()),
        }
    )
    atomic_write_text(path, new.model_dump_json(by_alias=True, indent=1) + "\n")
    return new


def allocate_index(path: Path) -> tuple[StatusRegister, int]:
    """Draw an unused index at random (cryptographic RNG), record it, and return it; never reused."""
    with _locked(path):
        register = load_register(path)
        allocated, revoked = register.bits("allocated"), register.bits("revoked")
        free = np.flatnonzero(~allocated)
        if free.size == 0:
            raise InputError(Problem("the status list is full; make a new one with 'digiskill status new'", str(path)))
        index = int(free[secrets.randbelow(free.size)])
        allocated[index] = True
        return _save(path, register, allocated, revoked), index


def status_entry(list_url: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` of a credential with index ``index`` on the revocation list published at
    ``list_url`` (a register's ``url``, or the list a service publishes)."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def entry_index(credential: Mapping[str, Any]) -> tuple[str, int]:
    """``(statusListCredential, index)`` of a credential's revocation entry; ValueError saying what is wrong."""
    status = credential.get("credentialStatus")
    entries = status if isinstance(status, list) else [status]
    for entry in entries:
        if (
            isinstance(entry, Mapping)
            and entry.get("type") == ENTRY_TYPE
            and entry.get("statusPurpose") == "revocation"
        ):
            raw, url = entry.get("statusListIndex"), entry.get("statusListCredential")
            if not isinstance(raw, str) or not raw.isdigit() or not isinstance(url, str):
                raise ValueError(f"malformed BitstringStatusListEntry: index {raw!r}, list {url!r}")
            return url, int(raw)
    raise ValueError("the credential has no BitstringStatusListEntry with statusPurpose 'revocation'")


def revoke(path: Path, index: int) -> StatusRegister:
    """Mark ``index`` revoked (it must have been allocated); revoking twice is harmless."""
    with _locked(path):
        register = load_register(path)
        allocated, revoked = register.bits("allocated"), register.bits("revoked")
        if not 0 <= index < register.size or not allocated[index]:
            raise InputError(Problem(f"index {index} was never given to a credential of this list", str(path)))
        revoked[index] = True
        return _save(path, register, allocated, revoked)


def signed_status_list(
    list_url: str,
    encoded_list: str,
    issuer_id: str,
    key: Ed25519PrivateKey,
    *,
    valid_from: datetime | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` (eddsa-rdfc-2022, a proof set) of :func:`status_list_credential`;
    the proof's ``created`` is ``valid_from`` when given (so the same list and time always give the same bytes:
    Ed25519 signatures are deterministic), else now."""
    unsigned = status_list_credential(list_url, encoded_list, issuer_id, valid_from=valid_from, ttl_ms=ttl_ms)
    return sign_credential(unsigned, key, proof_set=True, created=unsigned["validFrom"])


def status_list_credential(
    list_url: str,
    encoded_list: str,
    issuer: Mapping[str, Any] | str,
    *,
    valid_from: datetime | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` published at ``list_url`` whose revocation bits are
    ``encoded_list`` (:func:`encode_bits`; a register's ``revoked``); sign it with ``sign_credential``.

    ``valid_from`` (default now, whole seconds, UTC) is the list's ``validFrom``; ``ttl_ms`` adds the
    specification's optional ``ttl``: how many milliseconds a verifier may keep the list before fetching it again."""
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": encoded_list,
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    return {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": issuer_id,
        "validFrom": (valid_from or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": subject,
    }


__all__ = [
    "MIN_ENTRIES",
    "StatusRegister",
    "allocate_index",
    "decode_bits",
    "encode_bits",
    "entry_index",
    "load_register",
    "new_register",
    "revoke",
    "signed_status_list",
    "status_entry",
    "status_list_credential",
]
