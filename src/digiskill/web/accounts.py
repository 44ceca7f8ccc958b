"""Caseworkers and admins of the web pages: users with argon2id password hashes, and server-side sessions.

A signed-in browser holds a random session id in the ``dsk_staff`` cookie (HttpOnly, Secure, SameSite=Strict, path
``/staff``); the database keeps only its SHA-256 (``web_sessions``), the actor (``user:<id>`` or ``token:<id>``), the
role and the expiry. Signing in with a bearer token (role caseworker or admin) works the same way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import delete, select

from ..errors import InputError, Problem
from ..service.auth import digest
from ..service.context import Service
from ..service.db import ApiToken, WebSession, WebUser, utcnow

STAFF_COOKIE = "dsk_staff"
SESSION_HOURS = 8
WEB_ROLES = ("caseworker", "admin")


@lru_cache(maxsize=1)
def hasher():
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(database_url: str, username: str, password: str, role: str, *, migrate: bool = True) -> int:
    """A new caseworker or admin of the web pages; returns its id. The password is kept only as an argon2id hash."""
    from sqlalchemy.exc import IntegrityError

    from ..service.db import make_engine, session_factories
    from ..service.migrate import upgrade_database

    if role not in WEB_ROLES:
        raise InputError(Problem(f"role must be one of {', '.join(WEB_ROLES)}, got {role!r}"))
    if not 1 <= len(username) <= 100 or not username.isprintable() or username.strip() != username:
        raise InputError(Problem(f"a username has 1–100 printable characters without outer spaces, got {username!r}"))
    if len(password) < 12:
        raise InputError(Problem("a password has at least 12 characters"))
    if migrate:
        upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        _read, write = session_factories(engine)
        user = WebUser(username=username, password_hash=hash_password(password), role=role, created_at=utcnow())
        with write() as db:
            db.add(user)
            try:
                db.commit()
            except IntegrityError as err:
                raise InputError(Problem(f"a user {username!r} exists already")) from err
            return user.id
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Staff:
    actor: str
    name: str
    role: str


def login_password(svc: Service, username: str, password: str) -> tuple[str, Staff] | None:
    """A new session for a right username and password (same work for an unknown user: no timing oracle)."""
    with svc.read() as db:
        user = db.scalar(select(WebUser).where(WebUser.username == username))
    if user is None or user.disabled_at is not None:
        check_password(_dummy_hash(), password)
        return None
    if not check_password(user.password_hash, password):
        return None
    return _new_session(svc, Staff(f"user:{user.id}", user.username, user.role))


def login_token(svc: Service, token: str) -> tuple[str, Staff] | None:
    """A new session for a valid caseworker or admin bearer token."""
    with svc.read() as db:
        row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or row.role not in WEB_ROLES:
        return None
    return _new_session(svc, Staff(f"token:{row.id}", row.label or f"token {row.id}", row.role))


def _new_session(svc: Service, staff: Staff) -> tuple[str, Staff]:
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    with svc.write() as db:
        db.execute(delete(WebSession).where(WebSession.expires_at < now))
        db.add(
            WebSession(
                id_hash=digest(sid),
                actor=staff.actor,
                name=staff.name,
                role=staff.role,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
        db.commit()
    return sid, staff


def current_staff(svc: Service, sid: str | None) -> Staff | None:
    if not sid or len(sid) > 100:
        return None
    with svc.read() as db:
        row = db.get(WebSession, digest(sid))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires < utcnow():
        return None
    return Staff(row.actor, row.name, row.role)


def logout(svc: Service, sid: str | None) -> None:
    if sid:
        with svc.write() as db:
            db.execute(delete(WebSession).where(WebSession.id_hash == digest(sid)))
            db.commit()
