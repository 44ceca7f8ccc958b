"""Per-installation state: the folder for this computer's secrets (session MAC key, demo issuer key).

The folder is ``$DIGISKILL_HOME`` if set, else ``$XDG_DATA_HOME/digiskill``, else ``~/.local/share/digiskill``. It
is created with mode 0o700 on first use; every file in it is created with mode 0o600 from the start (never
readable by others, not even for a moment). Nothing here is a result: result folders never hold these files.

* :func:`session_secret`: 32 random bytes, made on first use, the HMAC-SHA256 key that seals saved sessions
  (:mod:`digiskill.cat.sessionfile`). A session saved on one installation is refused by another.
* :func:`demo_key_path`: where ``digiskill take`` keeps its demo issuer key (``demo-issuer-key.pem``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from .errors import InputError, Problem

SECRET_FILE = "session-secret"
DEMO_KEY_FILE = "demo-issuer-key.pem"
SECRET_BYTES = 32


def state_dir(*, create: bool = True) -> Path:
    """The per-installation state folder (created with mode 0o700 when ``create``).

    Raises:
        InputError: the folder cannot be created (e.g. the path is a file or not writable).
    """
    if home := os.environ.get("DIGISKILL_HOME"):
        path = Path(home)
    elif xdg := os.environ.get("XDG_DATA_HOME"):
        path = Path(xdg) / "digiskill"
    else:
        path = Path.home() / ".local" / "share" / "digiskill"
    if create:
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(
                Problem(f"cannot create digiskill's state folder: {err.strerror}; set DIGISKILL_HOME", str(path))
            ) from err
        if not path.is_dir():
            raise InputError(Problem("digiskill's state folder is not a folder; set DIGISKILL_HOME", str(path)))
    return path


def session_secret() -> bytes:
    """This installation's session-sealing secret (32 bytes), created with mode 0o600 on first use.

    Raises:
        InputError: the secret file cannot be created or read, or is not 32 bytes (damaged).
    """
    path = state_dir() / SECRET_FILE
    if not path.exists():
        create_once(path, secrets.token_bytes(SECRET_BYTES))
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(Problem(f"cannot read the session secret: {err.strerror}", str(path))) from err
    if len(data) != SECRET_BYTES:
        raise InputError(
            Problem(f"the session secret is damaged ({len(data)} bytes, expected {SECRET_BYTES})", str(path))
        )
    return data


def create_once(path: Path, data: bytes) -> None:
    """Create ``path`` (mode 0o600) holding ``data``, unless another process created it first (no torn reads)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp: mode 0o600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic and never replaces: the first writer wins
        finally:
            os.unlink(tmp)
    except OSError as err:
        raise InputError(Problem(f"cannot create {path.name}: {err.strerror}", str(path))) from err


def demo_key_path() -> Path:
    """Where the demo issuer key of this installation lives (the file may not exist yet)."""
    return state_dir() / DEMO_KEY_FILE
