"""Saved sessions as sealed files: an envelope with an HMAC-SHA256 over the session's canonical JSON.

File format ``digiskill.session-file/1``::

    {"format": "digiskill.session-file/1", "language": "da", "choices": [["B"], ...], "session": {...},
     "mac": "<64 hex digits>"}

The MAC is HMAC-SHA256 (RFC 2104, stdlib :mod:`hmac`) with this installation's secret
(:func:`digiskill.localstate.session_secret`, mode 0o600) over the canonical JSON of the envelope without ``mac``:
keys sorted, no spaces, UTF-8, floats as Python's shortest round-trip repr. Any edit of the file (a response, the
``finished`` flag, the configuration, the language, the options shown as the person's choices) changes the
canonical JSON and is refused, even where a replay could not tell; so is a file sealed on another installation.

:func:`read_session_file` checks, in order: size and JSON, the envelope schema, the MAC, then the replay
(:func:`digiskill.cat.replay.verify_session`); :func:`open_session_file` stops before the replay. Every failure is
a :class:`SessionRefused` (an :class:`~digiskill.errors.InputError`) whose ``reason`` says which check failed, so
a front end can explain it to the person in their language.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bank.frozen import FrozenModel
from ..bank.parameters import ParameterSet
from ..errors import InputError, Problem
from ..fileio import atomic_write_text
from ..localstate import session_secret
from .arrays import CatBank
from .replay import verify_session
from .session import Session

SESSION_FILE_FORMAT = "digiskill.session-file/1"
MAX_BYTES = 20_000_000  # a full session of the 252-item bank is well under 1 MB
Reason = Literal["unreadable", "not_a_session", "changed", "replay"]


class SessionRefused(InputError):
    """A session file that may not be resumed or certified; ``reason`` names the check that failed."""

    def __init__(self, reason: Reason, problems: list[Problem] | Problem | str, language: str | None = None) -> None:
        super().__init__(problems)
        self.reason = reason
        self.language = language


class SessionFile(FrozenModel):
    """The envelope of a saved session."""

    format: Literal["digiskill.session-file/1"] = SESSION_FILE_FORMAT
    language: Literal["da", "en"] | None = Field(None, description="the language the person takes the test in")
    choices: list[list[str]] = Field(
        default_factory=list, description="the option ids the person chose at each step, as shown at the end"
    )
    session: Session
    mac: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256 (hex) of the canonical JSON without mac")


class _Peek(BaseModel):
    model_config = ConfigDict(extra="ignore")
    language: Literal["da", "en"] | None = None


Choices = Sequence[Sequence[str]]


def canonical_json(session: Session, language: str | None = None, choices: Choices = ()) -> bytes:
    """The bytes the MAC covers: the envelope without ``mac``, keys sorted, no whitespace, UTF-8."""
    body = {
        "format": SESSION_FILE_FORMAT,
        "language": language,
        "choices": [list(c) for c in choices],
        "session": session.model_dump(mode="json"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def session_mac(
    session: Session, language: str | None = None, choices: Choices = (), *, secret: bytes | None = None
) -> str:
    """HMAC-SHA256 (hex) of :func:`canonical_json` with ``secret`` (default: this installation's)."""
    key = session_secret() if secret is None else secret
    return hmac.new(key, canonical_json(session, language, choices), hashlib.sha256).hexdigest()


def seal_session(
    session: Session, language: str | None = None, choices: Choices = (), *, secret: bytes | None = None
) -> str:
    """The session-file text (JSON, one line and a newline) of ``session``, sealed with the MAC."""
    mac = session_mac(session, language, choices, secret=secret)
    envelope = SessionFile(language=language, choices=[list(c) for c in choices], session=session, mac=mac)
    return envelope.model_dump_json() + "\n"


def write_session_file(
    path: str | Path,
    session: Session,
    language: str | None = None,
    choices: Choices = (),
    *,
    secret: bytes | None = None,
) -> None:
    """Seal ``session`` and write it to ``path`` atomically (a temporary file, then a rename)."""
    atomic_write_text(path, seal_session(session, language, choices, secret=secret))


def peek_language(data: bytes) -> str | None:
    """The ``language`` a session file claims (unverified; only for choosing the language of an error message)."""
    try:
        return _Peek.model_validate_json(data).language
    except ValidationError:
        return None


def read_session_file(
    source: str | Path | bytes,
    bank: CatBank | ParameterSet,
    *,
    secret: bytes | None = None,
) -> SessionFile:
    """Read, authenticate and replay a session file; returns its envelope (session, language, choices).

    Raises:
        SessionRefused: the file cannot be read, is not a session file, was changed (MAC), or does not replay.
    """
    envelope = open_session_file(source, secret=secret)
    try:
        verify_session(envelope.session, bank)
    except InputError as err:
        where = None if isinstance(source, bytes) else str(source)
        problems = [Problem(f"replay: {p.message}", where, item_id=p.item_id) for p in err.problems]
        raise SessionRefused("replay", problems, envelope.language) from err
    return envelope


def open_session_file(source: str | Path | bytes, *, secret: bytes | None = None) -> SessionFile:
    """Read and authenticate (MAC) a session file, without replaying it: enough to know what this installation
    saved (e.g. whether a folder holds an unfinished test); :func:`read_session_file` before going on with it.

    Raises:
        SessionRefused: the file cannot be read, is not a session file, or was changed (MAC).
    """
    where = None if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        data = source
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as err:
            raise SessionRefused("unreadable", Problem(f"cannot read the session: {err.strerror}", where)) from err
    language = peek_language(data) if len(data) <= MAX_BYTES else None
    if len(data) > MAX_BYTES:
        raise SessionRefused("not_a_session", Problem(f"larger than {MAX_BYTES} bytes: not a session file", where))
    try:
        envelope = SessionFile.model_validate_json(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        detail = f"{loc}: {first['msg']}" if loc else first["msg"]
        hint = ""
        if b'"digiskill.cat-session/1"' in data[:200] and b'"mac"' not in data:
            hint = " (a session saved without a seal, by an older digiskill)"
        raise SessionRefused(
            "not_a_session", Problem(f"not a digiskill session file{hint}: {detail}", where), language
        ) from None
    expected = session_mac(envelope.session, envelope.language, envelope.choices, secret=secret)
    if not hmac.compare_digest(expected, envelope.mac):
        raise SessionRefused(
            "changed",
            Problem(
                "the seal (MAC) does not match: the file was changed after it was saved, or saved elsewhere", where
            ),
            envelope.language,
        )
    if len(envelope.choices) > len(envelope.session.steps):
        n_choices, n_steps = len(envelope.choices), len(envelope.session.steps)
        raise SessionRefused(
            "replay", Problem(f"choices: {n_choices} for {n_steps} answered items", where), envelope.language
        )
    return envelope
