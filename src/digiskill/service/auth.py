"""Secrets handed out by the service: bearer tokens with a role, and invitation codes.

Both are random (``secrets``) with far more than 80 bits, so an unkeyed SHA-256 of the secret is enough to store:
the database never holds a token or a code, only its hash, and a lookup hashes what the client sent.

* a token: ``dsk_`` + 43 URL-safe characters (256 bits);
* an invitation code: 20 characters of Crockford's base32 (100 bits), shown in groups of four,
  ``7K3M-Q9TX-…``; reading it back ignores case, spaces and dashes and maps ``O→0``, ``I/L→1``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

Role = Literal["system", "caseworker", "admin"]
ROLES: tuple[Role, ...] = ("system", "caseworker", "admin")

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 20  # 20 × 5 = 100 random bits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "dsk_" + secrets.token_urlsafe(32)


def new_code() -> str:
    """A fresh invitation code, grouped for reading: ``XXXX-XXXX-XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalize_code(text: str) -> str | None:
    """The canonical code (20 base32 characters) in what a person typed, or None when it cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch not in " -").translate(_READ_AS)
    if len(raw) != CODE_CHARS or any(ch not in CROCKFORD for ch in raw):
        return None
    return raw


def code_digest(code: str) -> str | None:
    raw = normalize_code(code)
    return None if raw is None else digest(raw)
