"""The per-process context of the service: settings, database, bank, issuer, rate limiter.

Nothing here is state of a test: every session lives in the database, so any number of processes with the same
settings and database serve the same tests.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .ratelimit import RateLimiter
from .settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import sessionmaker

    from ..bank.default import Bank
    from ..cat import CatBank, CatConfig, Session
    from ..results.credential import IssuerProfile
    from .statuslist import Published, StatusListCache

DEMO_ISSUER_ID = "https://digiskill.example/issuers/demo"
ISSUING_AT_ONCE = 1  # certificates a process issues at the same time (see Service.issuing)
PG_POOL_SIZE = 10  # PostgreSQL connections per process for the citizens' steps (a fixed pool, no growth under load)
OTHER_CONFIGS = 4  # banks kept for sessions of other configurations than the configured one (Service.cat_bank_for)


@dataclass
class Issuer:
    profile: IssuerProfile
    private_key: Ed25519PrivateKey
    demo: bool

    @cached_property
    def public_multikey(self) -> str:
        from ..results.signing import public_key_to_multikey

        return public_key_to_multikey(self.private_key)

    @cached_property
    def controller(self) -> Published:
        """The controller document verifiers fetch to establish this key as the issuer's
        (:func:`~digiskill.results.verification.controller_document`), as served."""
        from ..results.verification import controller_document
        from .statuslist import Published

        return Published.of(controller_document(self.profile.id, self.public_multikey))


def _status_list_cache() -> StatusListCache:
    from .statuslist import StatusListCache

    return StatusListCache()


class SessionCache:
    """The CAT sessions of the open tests this process served last, parsed: an answer reuses the session object its
    previous step stored instead of parsing and validating the stored JSON again, and with it the choice of the next
    item that the CAT engine keeps per session object (so each step chooses once).

    The database stays the truth: an entry is used only when the row read in this request holds the same ``version``
    *and* the same state text as when the entry was stored, so a session changed by another worker, a pause, a
    retention purge or anything else is parsed afresh. A session of another parameter set is refused by the CAT
    engine itself. Bounded (least recently used entries go first); shared by the request threads."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[int, str, Session]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str, version: int, state: str) -> Session | None:
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None or entry[0] != version or entry[1] != state:
                return None
            self._entries.move_to_end(session_id)
            return entry[2]

    def put(self, session_id: str, version: int, state: str, session: Session) -> None:
        with self._lock:
            self._entries[session_id] = (version, state, session)
            self._entries.move_to_end(session_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


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
    sessions: SessionCache = field(default_factory=SessionCache)
    status_list: StatusListCache = field(default_factory=_status_list_cache)  # the signed revocation list
    _pg_pools: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary, repr=False)
    # Issuing a certificate is ~100 ms of pure-Python CPU (recomputation, JSON-LD canonicalisation, the PDF) that holds
    # the interpreter lock, so two at once in one process take as long as one after the other. Run many at once and
    # every other thread (the event loop serving answers, a request inside a write transaction) waits for the lock
    # behind all of them: with 40 request threads issuing (the load test asks for all credentials at once) a write
    # transaction stayed open for long stretches while its thread waited. The requests beyond this many wait here.
    issuing: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(ISSUING_AT_ONCE))
    _other_banks: dict[str, CatBank] = field(default_factory=dict, repr=False)
    _other_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def write_engine(self) -> Engine:
        """The engine for Core write transactions (``BEGIN IMMEDIATE`` on SQLite), sharing the pool."""
        from .db import WRITE

        return self.engine.execution_options(**{WRITE: True})

    @cached_property
    def read_engine(self) -> Engine:
        """The engine for single-statement reads, outside an explicit transaction (one statement sees one
        snapshot anyway): on PostgreSQL in autocommit (one round trip instead of BEGIN, SELECT, ROLLBACK), on SQLite
        without the BEGIN the engine otherwise emits."""
        from .db import SINGLE_READ, is_sqlite

        if is_sqlite(self.settings.database_url):
            return self.engine.execution_options(**{SINGLE_READ: True})
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @cached_property
    def inline(self) -> bool:
        """Whether a citizen's steps run straight through on the event loop (SQLite: its database calls never wait on
        a network) rather than awaiting each statement (PostgreSQL: psycopg's asynchronous pool; see :mod:`.steps`)."""
        from .db import is_sqlite

        return is_sqlite(self.settings.database_url)

    async def pg_pool(self) -> AsyncConnectionPool:
        """The pool of asynchronous PostgreSQL connections (psycopg, autocommit, rows with named fields) of the
        running event loop, for a citizen's steps (:mod:`.steps`); psycopg directly, since SQLAlchemy's layer cost
        more CPU per statement than the statement itself (measured in benchmarks/README.md).

        A connection belongs to the loop that opened it, so each loop gets its own pool (a server process has one
        loop; a test client may start several); a pool goes with its loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        pool = self._pg_pools.get(loop)
        if pool is None:
            from psycopg.rows import namedtuple_row
            from psycopg_pool import AsyncConnectionPool

            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            kwargs = {"autocommit": True, "row_factory": namedtuple_row}
            pool = AsyncConnectionPool(url, kwargs=kwargs, min_size=PG_POOL_SIZE, max_size=PG_POOL_SIZE, open=False)
            await pool.open()
            other = self._pg_pools.setdefault(loop, pool)  # another request may have opened one meanwhile
            if other is not pool:
                await pool.close()
                pool = other
        return pool

    async def aclose(self) -> None:
        """Close this loop's PostgreSQL pool (at the app's shutdown)."""
        import asyncio

        pool = self._pg_pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    def cat_bank_for(self, config: CatConfig) -> CatBank:
        """The bank prepared for a session's configuration: :attr:`cat_bank` for the configured test; for a session
        started under another configuration (the service was restarted with another ``--config`` while the test was
        open), a bank prepared for that configuration, kept for the next steps (at most :data:`OTHER_CONFIGS`)."""
        if config is self.config or config == self.config:  # a cached session shares the configured object
            return self.cat_bank
        from ..cat import CatBank

        key = config.model_dump_json()
        with self._other_lock:
            cat_bank = self._other_banks.get(key)
            if cat_bank is None:
                cat_bank = CatBank.from_parameters(self.bank.params, config)
                if len(self._other_banks) >= OTHER_CONFIGS:
                    self._other_banks.pop(next(iter(self._other_banks)))
                self._other_banks[key] = cat_bank
            return cat_bank

    def session_of(self, session_id: str, version: int, state: str) -> Session:
        """The CAT session stored as ``state`` at ``version``: the parsed object from the cache, or parsed now."""
        from ..cat import Session

        session = self.sessions.get(session_id, version, state)
        if session is None:
            session = Session.model_validate_json(state)
            self.sessions.put(session_id, version, state, session)
        return session

    @cached_property
    def items(self) -> dict:
        return {it.id: it for it in self.bank.content.items}

    @cached_property
    def item_area(self) -> dict[str, str]:
        return {it.id: it.area for it in self.bank.params.items}

    def close(self) -> None:
        self.engine.dispose()


def build_service(settings: Settings) -> Service:
    """Connect, migrate (when ``settings.migrate``), load the bank, prepare the configured test, load the issuer."""
    from ..bank.default import load_default
    from .db import make_engine, session_factories
    from .migrate import upgrade_database

    if settings.migrate:
        upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    read, write = session_factories(engine)
    bank = load_default()
    config = configured_test(settings)
    cat_bank = prepare_test(bank, config)
    issuer = load_issuer(settings, write)
    return Service(settings, engine, read, write, bank, config, cat_bank, issuer)


def configured_test(settings: Settings) -> CatConfig:
    """The adaptive test of new invitations: ``settings.cat_config``, else the default test (the one ``digiskill
    take`` gives without ``--config``: SE ≤ 0.45, 4 to ``settings.max_items_per_area`` items per area)."""
    from ..cat.take_config import take_config

    return settings.cat_config if settings.cat_config is not None else take_config(settings.default_max_items_per_area)


def prepare_test(bank: Bank, config: CatConfig) -> CatBank:
    """The bank prepared for ``config``, after a trial start of a session over every area (so a configuration that
    cannot run on this bank fails when the service starts, not at the first invitation).

    Raises:
        InputError: e.g. a multidimensional configuration without a latent correlation for every area, or a first
            item or balancing target the bank does not have.
    """
    from ..cat import CatBank, start_session

    cat_bank = CatBank.from_parameters(bank.params, config)
    start_session(cat_bank, config)
    if config.dimensionality == "multidimensional":
        # each finished joint test's result draws quasi-random points with scipy.stats.qmc: import it now, so that
        # the first citizen to finish does not wait for it (the last answer took 0.8 s, now about 40 ms)
        import scipy.stats.qmc  # noqa: F401
    return cat_bank


def load_test_config(path: Path) -> CatConfig:
    """The configuration file of ``digiskill serve --config`` (JSON or YAML, as ``take --config``), checked against
    the installed bank.

    Raises:
        InputError: every problem, each naming the file.
    """
    import dataclasses

    from ..bank.default import load_default
    from ..bank.loading import load_model_file
    from ..cat import CatConfig
    from ..errors import InputError

    config = load_model_file(path, CatConfig, what="configuration")
    try:
        prepare_test(load_default(), config)
    except InputError as err:
        raise InputError([dataclasses.replace(p, path=p.path or str(path)) for p in err.problems]) from err
    return config


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
