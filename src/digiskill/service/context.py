"""The per-process context of the service: settings, database, bank, issuer, rate limiter.

Nothing here is state of a test: every session lives in the database, so any number of processes with the same
settings and database serve the same tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .ratelimit import RateLimiter
from .settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import sessionmaker

    from ..bank.default import Bank
    from ..cat import CatBank, CatConfig
    from ..results.credential import IssuerProfile

DEMO_ISSUER_ID = "https://digiskill.example/issuers/demo"


@dataclass
class Issuer:
    profile: IssuerProfile
    private_key: Ed25519PrivateKey
    demo: bool

    @cached_property
    def public_multikey(self) -> str:
        from ..results.signing import public_key_to_multikey

        return public_key_to_multikey(self.private_key)


@dataclass
class Service:
    settings: Settings
    engine: Engine
    read: sessionmaker
    write: sessionmaker
    bank: Bank
    config: CatConfig
    cat_bank: CatBank
    issuer: Issuer
    limiter: RateLimiter = field(default_factory=RateLimiter)

    @cached_property
    def items(self) -> dict:
        return {it.id: it for it in self.bank.content.items}

    @cached_property
    def item_area(self) -> dict[str, str]:
        return {it.id: it.area for it in self.bank.params.items}

    def close(self) -> None:
        self.engine.dispose()


def build_service(settings: Settings) -> Service:
    """Connect, migrate (when ``settings.migrate``), load the bank and the issuer."""
    from ..bank.default import load_default
    from ..cat import CatBank, CatConfig
    from ..cat.config import StoppingRules
    from .db import make_engine, session_factories
    from .migrate import upgrade_database

    if settings.migrate:
        upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    read, write = session_factories(engine)
    bank = load_default()
    config = CatConfig(
        stopping=StoppingRules(se_target=0.45, min_items_per_area=4, max_items_per_area=settings.max_items_per_area)
    )
    cat_bank = CatBank.from_parameters(bank.params, config)
    issuer = load_issuer(settings, write)
    return Service(settings, engine, read, write, bank, config, cat_bank, issuer)


def load_issuer(settings: Settings, write) -> Issuer:
    """The configured issuer (key + profile files), or the demo issuer whose key is kept in the database."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from ..errors import InputError, Problem
    from ..results.credential import IssuerProfile
    from ..results.issuers import load_issuer_profile
    from ..results.signing import generate_key_pair, load_private_key
    from .db import DemoIssuer

    if settings.issuer_key is not None:
        if settings.issuer_profile is None:
            raise InputError(Problem("an issuer key needs an issuer profile (--issuer)"))
        return Issuer(load_issuer_profile(settings.issuer_profile), load_private_key(settings.issuer_key), demo=False)
    from cryptography.hazmat.primitives import serialization

    profile = IssuerProfile(
        id=DEMO_ISSUER_ID,
        name="digiskill demo issuer (not a real issuer)",
        url=settings.public_url.rstrip("/"),
        description="A key made by this digiskill service for trying it; certificates signed with it prove nothing.",
    )
    for _ in range(2):
        with write() as db:
            row = db.scalar(select(DemoIssuer).where(DemoIssuer.id == 1))
            if row is not None:
                key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=None)
                return Issuer(profile, key, demo=True)  # type: ignore[arg-type]
            private, _ = generate_key_pair()
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            db.add(DemoIssuer(id=1, private_key_pem=pem))
            try:
                db.commit()
            except IntegrityError:  # another worker made it first: read theirs
                db.rollback()
                continue
            return Issuer(profile, private, demo=True)
    raise RuntimeError("could not create or read the demo issuer key")
