"""Making bearer tokens: ``digiskill serve token --role ROLE`` prints one, the database keeps only its hash."""

from __future__ import annotations

from .auth import ROLES, digest, new_token
from .db import ApiToken, make_engine, session_factories, utcnow
from .migrate import upgrade_database


def create_token(database_url: str, role: str, label: str = "", *, migrate: bool = True) -> str:
    """A new token of ``role``; returns the token (shown once)."""
    from ..errors import InputError, Problem

    if role not in ROLES:
        raise InputError(Problem(f"role must be one of {', '.join(ROLES)}, got {role!r}"))
    if migrate:
        upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        _read, write = session_factories(engine)
        token = new_token()
        with write() as db:
            db.add(ApiToken(token_hash=digest(token), role=role, label=label, created_at=utcnow()))
            db.commit()
        return token
    finally:
        engine.dispose()
