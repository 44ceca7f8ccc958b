"""The database: tables (SQLAlchemy 2 declarative) and the engine.

Tables (created by the Alembic migrations in ``migrations/``, never by ``create_all``):

* ``api_tokens``: bearer tokens of systems, caseworkers and admins, stored only as SHA-256 hashes.
* ``test_sessions``: one invitation and its adaptive test: the invitation-code hash, the pseudonymous person
  reference, the areas, the CAT session state (JSON), the current item, a ``version`` for optimistic locking, the
  result once finished.
* ``answers``: one row per answered step (unique per session and step: an answer is recorded once), with the
  outcome returned to the client, so that a repeat returns the same outcome.
* ``certificates``: issued credentials (the signed JSON and the PDF), their revocation, and their index on the
  revocation status list the service publishes (``status_index``: unique, drawn at random, never reused; NULL for
  certificates issued before migration 0003). Erasure and retention keep the row's id, index and revocation state.
* ``audit_log``: append-only (database triggers refuse UPDATE and DELETE): who read results, issued, revoked, exported
  or erased what and when.
* ``web_users``: caseworkers and admins of the web pages: a username and an argon2id password hash (never the
  password), a role, and when the account was disabled.
* ``web_sessions``: signed-in web sessions, stored only as SHA-256 hashes of the cookie value, with the role, who
  (``user:<id>`` or ``token:<id>``) and when they expire.
* ``demo_issuer``: the private key of the demo issuer (only when no issuer key is configured), so that every worker of
  an instance signs with the same demo key.

SQLite runs in WAL mode with a busy timeout; write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that two
writers queue instead of failing on a lock upgrade, and within one process they first pass a :class:`WriteGate` (one
write transaction of the process at a time), so that SQLite's lock is contended by one thread per process, not by
every request thread. PostgreSQL uses READ COMMITTED; the ``version`` column and the unique ``(session_id, step)``
constraint keep concurrent answers consistent on both.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

WRITE = "digiskill_write"  # execution option: this connection begins a write transaction
SINGLE_READ = "digiskill_single_read"  # execution option (SQLite): one SELECT, in SQLite's autocommit (no BEGIN)
BUSY_TIMEOUT_S = 30.0  # SQLite: how long a write waits for the database's write lock (then 503, see problems.py)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SessionRow(Base):
    __tablename__ = "test_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_ref: Mapped[str] = mapped_column(String(200), index=True)
    areas: Mapped[str] = mapped_column(Text)  # JSON list of area ids
    profile: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lang: Mapped[str] = mapped_column(String(2))
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # invited | active | paused | finished | purged
    state: Mapped[str | None] = mapped_column(Text, nullable=True)  # the CAT session JSON
    n_steps: Mapped[int] = mapped_column(Integer, default=0)
    current_item: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # AssessmentResult JSON once finished
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "step", name="uq_answers_session_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(36), ForeignKey("test_sessions.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(100))
    answer: Mapped[str] = mapped_column(Text)  # canonical JSON of what the person chose
    response: Mapped[int] = mapped_column(Integer)  # the scored category
    outcome: Mapped[str] = mapped_column(Text)  # the JSON body returned, returned again on a repeat
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        Index(
            "uq_certificates_active",
            "session_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("uq_certificates_status_index", "status_index", unique=True),
        Index("ix_certificates_revoked_at", "revoked_at"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the credential id (urn:uuid:…)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    person_ref: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    code: Mapped[str] = mapped_column(String(64))  # verification code printed on the PDF
    credential: Mapped[str | None] = mapped_column(Text, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_index: Mapped[int | None] = mapped_column(Integer, nullable=True)  # bit on the published status list


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # "token:<id>" or "citizen:<session id>" or "system"
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string format
    role: Mapped[str] = mapped_column(String(16))  # caseworker | admin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie value
    actor: Mapped[str] = mapped_column(String(100))  # "user:<id>" or "token:<id>"
    name: Mapped[str] = mapped_column(String(200))  # shown on the pages (username or token label)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DemoIssuer(Base):
    __tablename__ = "demo_issuer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class WriteGate:
    """The write transactions of one process on one SQLite database, one at a time, in the order they arrive.

    SQLite's own wait for its write lock is polling: a writer that finds the lock taken sleeps 1, 2, 5, … up to 100 ms
    and tries again, and whoever tries just after the lock is freed takes it. With ~80 request threads in 2 processes
    polling at once (all 300 credentials of the load test requested together), a writer that keeps losing waited past
    the 30 s busy timeout. Behind this gate only the thread at its head polls SQLite's lock, so the processes contend
    with one writer each; the threads of a process wait here, woken in turn (first come, first served) the moment the
    one before them commits or rolls back, not at their next poll.

    Only an ordering device: SQLite's lock stays what keeps writes apart (another process, the ``digiskill serve
    token`` command, a writer that did not pass the gate), so a gate released early changes no outcome. A writer that
    waits here longer than ``timeout`` seconds gets the driver's "database is locked" error (a 503, like SQLite's own
    busy timeout)."""

    def __init__(self, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()  # guards the two fields below
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def acquire(self) -> None:
        """Wait for this thread's turn (first come, first served); ``sqlite3.OperationalError`` after ``timeout``."""
        with self._lock:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self.timeout):
            return  # the writer before handed the gate over
        with self._lock:
            if turn.is_set():
                return  # handed over just as the wait ran out
            self._waiting.remove(turn)
        raise sqlite3.OperationalError(
            f"database is locked: waited {self.timeout:g} s behind this process's other write transactions"
        )

    def release(self) -> None:
        """Hand the gate to the writer that has waited longest, or open it."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False


class _GatedConnection(sqlite3.Connection):
    """The driver connection of a SQLite engine: a write transaction passes the engine's :class:`WriteGate` before
    ``BEGIN IMMEDIATE`` and leaves it when the transaction ends (commit, rollback, or close)."""

    gate: WriteGate  # set on the subclass made for each engine
    _holds_gate = False

    def begin_write(self) -> None:
        self.gate.acquire()
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.gate.release()
            raise
        self._holds_gate = True

    def _leave_gate(self) -> None:
        if self._holds_gate:
            self._holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_gate()


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``: SQLite in WAL mode (busy timeout ``busy_timeout`` seconds, ``BEGIN IMMEDIATE`` for writes
    behind the engine's :class:`WriteGate`, which waits as long), or PostgreSQL."""
    if not is_sqlite(url):
        # no ping before each checkout (a round trip per statement group, ~20 % of a step's round trips): a connection
        # the database closed fails its request once, and SQLAlchemy then replaces the whole pool (disconnect
        # detection); recycled hourly so that idle connections do not go stale
        return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=3600)
    gated = type("GatedConnection", (_GatedConnection,), {"gate": WriteGate(busy_timeout)})
    engine = create_engine(
        url,
        pool_size=20,
        max_overflow=30,
        connect_args={"timeout": busy_timeout, "check_same_thread": False, "factory": gated},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed answer survives a process crash
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # on the driver's connection: no statement machinery for one keyword
        options = conn.get_execution_options()
        if options.get(SINGLE_READ):
            return  # a single SELECT is atomic on its own; the closing ROLLBACK is then a no-op in the driver
        driver = conn.connection.driver_connection
        if options.get(WRITE):
            driver.begin_write()
        else:
            driver.execute("BEGIN")

    return engine


def session_factories(engine: Engine) -> tuple[sessionmaker, sessionmaker]:
    """(read, write) ORM session factories; the write one takes SQLite's write lock at BEGIN."""
    read = sessionmaker(bind=engine, expire_on_commit=False)
    write = sessionmaker(bind=engine.execution_options(**{WRITE: True}), expire_on_commit=False)
    return read, write
