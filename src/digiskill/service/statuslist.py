"""The service's revocation list and its published issuer, for verifiers that are not this service.

Every credential the service issues carries a ``BitstringStatusListEntry`` (W3C Bitstring Status List v1.0, built by
:func:`digiskill.results.status.status_entry`) on one list of :data:`LIST_SIZE` entries published at
``{public_url}/v1/status/revocation``. An employer's Open Badges verifier fetches that list and reads the
credential's bit (1 = revoked); it also needs the issuer's key, which the service publishes as a controller document.

* **Indices** (:func:`free_index`): drawn uniformly at random (``secrets``) among the unused indices, so an index says
  nothing about the order of issue. The certificates table is the register: ``certificates.status_index`` is unique,
  and a certificate row is never deleted (erasure and retention keep its id, index and revocation state), so an index
  is never given twice. Workers and hosts keep no allocation state: a draw that another worker took between the check
  and the insert fails the insert on the unique index, and the issuer draws again (``ensure_certificate``).
* **The list** (:class:`StatusListCache`): the bits are the certificates with an index whose ``revoked_at`` is set.
  Signing takes tens of milliseconds, so each process keeps the signed document keyed by a fingerprint of the
  revocations (their count and latest ``revoked_at``, one indexed query per request): a revocation changes the
  fingerprint, and the next request signs the new list. Revocations are only ever added, so the fingerprint
  identifies the bits. The document is a function of the bits alone (``validFrom`` and the proof's ``created`` are
  the latest revocation, Ed25519 signatures are deterministic), so every worker serves the same bytes with the same
  ``ETag``.
* **Caching by verifiers**: ``Cache-Control: max-age=300`` and the list's ``ttl`` (300,000 ms): a revocation
  reaches a verifier that caches the list at most :data:`MAX_AGE_S` seconds later (plus whatever a proxy in front
  adds); this process's own cache never delays it.
* **The controller document** (:func:`digiskill.results.verification.controller_document` of the issuer id and its
  Multikey): at ``GET /v1/issuer/controller`` always, and at the path the issuer id resolves to when that is under
  ``public_url`` (:func:`controller_path`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..results.status import MIN_ENTRIES
from .db import Certificate
from .problems import ProblemError

if TYPE_CHECKING:
    from .context import Service

LIST_PATH = "/v1/status/revocation"
CONTROLLER_PATH = "/v1/issuer/controller"
LIST_SIZE = MIN_ENTRIES  # entries of the list (131,072: herd privacy, and room for that many credentials)
MAX_AGE_S = 300  # how long verifiers and proxies may cache the list (Cache-Control, ttl)
BLIND_DRAWS = 16  # draws checked one by one before the free indices are listed (a list more than ~half full)
# validFrom of a list with no revocation: the day the service began to publish its list (migration 0003); no
# credential of the service carried a status entry before, so an all-zero list has been true since then
LIST_EPOCH = datetime(2026, 12, 6, tzinfo=UTC)

CERTS = Certificate.__table__
_INDEXED_REVOKED = (CERTS.c.revoked_at.is_not(None), CERTS.c.status_index.is_not(None))
_FINGERPRINT = select(func.count(), func.max(CERTS.c.revoked_at)).where(*_INDEXED_REVOKED)
_REVOKED = select(CERTS.c.status_index, CERTS.c.revoked_at).where(*_INDEXED_REVOKED)


def list_url(public_url: str) -> str:
    """Where the service's revocation list is published (its ``id``, named by every credential's status entry)."""
    return public_url.rstrip("/") + LIST_PATH


# ------------------------------------------------------------------------------------------------------ indices
def draw_index(n: int) -> int:
    """A uniform draw from ``0 … n-1`` (cryptographic: an index must not be predictable or tell the order of issue)."""
    return secrets.randbelow(n)


def free_index(svc: Service) -> int:
    """An index of the list that no certificate holds, uniform among the unused ones: a uniform draw, kept when no
    row holds it (rejection sampling is uniform over the rest); when :data:`BLIND_DRAWS` draws in a row were taken
    (the list is filling up), a draw among the free indices listed from the table. The insert of the certificate
    decides (unique index): a worker that took the same index meanwhile makes the caller draw again.

    Raises:
        ProblemError: 503 when every index is taken (the service then cannot issue revocable credentials).
    """
    with svc.read_engine.connect() as conn:
        for _ in range(BLIND_DRAWS):
            index = draw_index(LIST_SIZE)
            if conn.execute(select(CERTS.c.id).where(CERTS.c.status_index == index)).first() is None:
                return index
        used = conn.execute(select(CERTS.c.status_index).where(CERTS.c.status_index.is_not(None))).scalars().all()
    import numpy as np

    taken = np.zeros(LIST_SIZE, dtype=bool)
    taken[np.asarray(used, dtype=np.int64)] = True
    free = np.flatnonzero(~taken)
    if free.size == 0:
        raise ProblemError(
            503,
            f"all {LIST_SIZE:,} entries of the revocation list are taken; no certificate can be issued",
            code="status-list-full",
        )
    return int(free[draw_index(free.size)])


# --------------------------------------------------------------------------------------------------- the list
def _utc_seconds(value: datetime | None) -> str | None:
    """A stored time as UTC whole seconds (SQLite gives naive UTC, PostgreSQL an aware time)."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Published:
    """A public JSON document as served: its bytes and their ``ETag`` (a strong one: the same bytes in every
    worker)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, document: dict[str, Any]) -> Published:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


class StatusListCache:
    """The signed list of one process, kept with the fingerprint of the revocations it shows (see the module)."""

    def __init__(self) -> None:
        self._current: tuple[tuple[int, str | None], Published] | None = None
        self._lock = threading.Lock()  # one signing at a time; the others then find it done

    def get(self, svc: Service) -> Published:
        """The current signed ``BitstringStatusListCredential``: from the cache while the revocations are unchanged,
        else built and signed now."""
        with svc.read_engine.connect() as conn:
            count, latest = conn.execute(_FINGERPRINT).one()
        fingerprint = (count, _utc_seconds(latest))
        with self._lock:
            if self._current is None or self._current[0] != fingerprint:
                self._current = _signed_list(svc)
            return self._current[1]


def _signed_list(svc: Service) -> tuple[tuple[int, str | None], Published]:
    """The list signed with the issuer key, and the fingerprint of the revocations read for it (one statement: the
    bits and the fingerprint come from the same rows)."""
    import numpy as np

    from ..results.status import encode_bits, signed_status_list

    with svc.read_engine.connect() as conn:
        rows = conn.execute(_REVOKED).all()
    bits = np.zeros(LIST_SIZE, dtype=bool)
    bits[np.asarray([r.status_index for r in rows], dtype=np.int64)] = True
    latest = max((r.revoked_at.replace(tzinfo=r.revoked_at.tzinfo or UTC) for r in rows), default=None)
    document = signed_status_list(
        list_url(svc.settings.public_url),
        encode_bits(bits),
        svc.issuer.profile.id,
        svc.issuer.private_key,
        valid_from=latest or LIST_EPOCH,
        ttl_ms=MAX_AGE_S * 1000,
    )
    return (len(rows), _utc_seconds(latest)), Published.of(document)


# ------------------------------------------------------------------------------------------- the issuer's key
def controller_path(public_url: str, issuer_id: str) -> str | None:
    """The path of this service at which ``issuer_id`` resolves, if it does: a ``did:web`` DID's ``did.json``
    (``did:web:host`` → ``/.well-known/did.json``, ``did:web:host:issuers:x`` → ``/issuers/x/did.json``) or an
    ``https`` id itself, when the URL lies under ``public_url``; None otherwise (e.g. the demo issuer, whose id is
    not a real address) and for the root path, which is the start page."""
    from ..results.verification import did_web_url

    url = did_web_url(issuer_id) if issuer_id.startswith("did:web:") else issuer_id
    base = public_url.rstrip("/")
    if not url.startswith(base + "/") or url == base + "/":
        return None
    return url[len(base) :]
