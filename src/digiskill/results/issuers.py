"""The issuer that signs a credential: its profile file and private key, or this installation's demo issuer.

* :func:`load_issuer_profile`: an issuer profile file (JSON, or YAML for ``.yaml``/``.yml``) through the one
  model-file loader (:func:`digiskill.bank.loading.load_model_file`): a missing file, a syntax error or a field that
  does not validate is an :class:`~digiskill.errors.InputError` naming the file and the line.
* :func:`load_signer`: the profile and the Ed25519 key that sign (``key`` and ``issuer`` together), or, with neither,
  the demo issuer of this installation, whose key is made on first use in the per-installation state folder
  (:func:`digiskill.localstate.demo_key_path`, never a result folder). A demo credential proves nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..bank.loading import load_model_file
from ..errors import InputError, Problem
from .credential import IssuerProfile

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEMO_ISSUER = IssuerProfile(
    id="https://digiskill.example/issuers/demo",
    name="digiskill demo issuer (not a real issuer)",
    description="A key made on this computer for trying digiskill; certificates signed with it prove nothing.",
)
"""The profile of the demo issuer of ``digiskill take`` without ``--key``."""


_OPTIONS = {
    "id": "--issuer-id",
    "name": "--issuer-name",
    "url": "--url",
    "verify_url": "--url",
    "key_expires": "--valid-days",
}
"""The option of ``digiskill keys new`` that sets each field of a new profile."""


def new_issuer_profile(
    issuer_id: str,
    *,
    name: str | None = None,
    valid_days: int | None = None,
    url: str | None = None,
    now: datetime | None = None,
) -> IssuerProfile:
    """A new issuer profile: ``name`` (default the id), a key that may sign for ``valid_days`` from ``now``, and with
    ``url`` the issuer's web site and its verification URL ``<url>/verify/``.

    Raises:
        InputError: one problem per field that does not validate, naming the option that set it.
    """
    from pydantic import ValidationError

    expires = None
    if valid_days is not None:
        expires = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(days=valid_days)
    verify_url = url.rstrip("/") + "/verify/" if url else None
    try:
        return IssuerProfile(id=issuer_id, name=name or issuer_id, key_expires=expires, url=url, verify_url=verify_url)
    except ValidationError as err:
        problems = {}
        for e in err.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            option = _OPTIONS.get(field, field)
            problems.setdefault(option, Problem(f"{option} {e.get('input')!r}: {e['msg']}"))
        raise InputError(list(problems.values())) from err


def load_issuer_profile(path: str | Path) -> IssuerProfile:
    """An issuer profile from ``path`` (JSON; YAML for ``.yaml``/``.yml``).

    Raises:
        InputError: the file cannot be read, is not JSON/YAML, or does not validate (file, line, field).
    """
    return load_model_file(path, IssuerProfile, what="the issuer profile")


@dataclass(frozen=True)
class Signer:
    """The issuer profile and private key that sign a credential; ``demo`` for this installation's demo key."""

    profile: IssuerProfile
    key: Ed25519PrivateKey
    demo: bool


def load_signer(key: str | Path | None, issuer: str | Path | None) -> Signer:
    """The signer of ``key`` (a PEM private key) and ``issuer`` (its profile), checked now: the profile validates
    and its key has not expired. With neither, the demo issuer (its key made on first use).

    Raises:
        InputError: one of ``key``/``issuer`` without the other, an unreadable key or profile, an expired key.
    """
    from ..localstate import demo_key_path
    from .signing import generate_key_pair, load_private_key, save_private_key

    if key is None:
        if issuer is not None:
            raise InputError(Problem("--issuer needs --key (the issuer's private key)"))
        path = demo_key_path()
        if not path.exists():
            with contextlib.suppress(InputError):  # made by another process at the same moment
                save_private_key(generate_key_pair()[0], path)
        return Signer(DEMO_ISSUER, load_private_key(path), demo=True)
    if issuer is None:
        raise InputError(Problem("--key needs --issuer (the issuer profile)"))
    private = load_private_key(key)
    profile = load_issuer_profile(issuer)
    profile.check_key_valid()
    return Signer(profile, private, demo=False)
