"""SQLite's write transactions of one process pass a gate one at a time, first come first served (``WriteGate``):
hand-over order, the timeout (a 503 like SQLite's busy timeout), and that every way a transaction ends (commit,
rollback, an error inside it, a BEGIN IMMEDIATE that failed, an ORM session closed without commit) lets the next
writer in. Also: a process issues one certificate at a time (``Service.issuing``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from digiskill.service.db import WRITE, WriteGate, make_engine, session_factories

WAIT = 10.0  # seconds a test thread may take at most (never reached when the code is right)


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.002)


def _queued(gate: WriteGate) -> int:
    with gate._lock:
        return len(gate._waiting)


def _is_open(gate: WriteGate) -> bool:
    with gate._lock:
        return not gate._held and not gate._waiting


def test_the_gate_hands_over_in_arrival_order():
    gate = WriteGate(timeout=WAIT)
    gate.acquire()
    order: list[int] = []

    def writer(i: int) -> None:
        gate.acquire()
        order.append(i)
        gate.release()

    threads = []
    for i in range(5):  # arrive one after the other: each is queued before the next starts
        t = threading.Thread(target=writer, args=(i,))
        t.start()
        threads.append(t)
        _until(lambda i=i: _queued(gate) == i + 1, f"writer {i} queued")
    gate.release()
    for t in threads:
        t.join(WAIT)
    assert order == [0, 1, 2, 3, 4]
    assert _is_open(gate)


def test_a_writer_that_waits_too_long_gets_database_is_locked_and_leaves_the_queue():
    gate = WriteGate(timeout=0.05)
    gate.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        gate.acquire()  # the holder keeps it: this one gives up after 0.05 s
    assert _queued(gate) == 0
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (gate.acquire(), got.set()))
    gate.timeout = WAIT
    waiter.start()
    _until(lambda: _queued(gate) == 1, "the second writer queued")
    gate.release()  # straight to the waiting writer, past the one that gave up
    waiter.join(WAIT)
    assert got.is_set()
    gate.release()
    assert _is_open(gate)


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", busy_timeout=0.2)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.commit()
    yield engine
    engine.dispose()


def _gate(engine) -> WriteGate:
    with engine.connect() as conn:
        return conn.connection.driver_connection.gate


def _rows(engine) -> list[str]:
    with engine.connect() as conn:
        return [r.v for r in conn.execute(text("SELECT v FROM t ORDER BY id"))]


def test_a_second_writer_of_the_process_waits_at_the_gate_not_in_sqlite(engine):
    """The second writer waits longer than SQLite's busy timeout (0.2 s) and still succeeds: it waited at the gate
    (given a longer timeout here), and was let in when the first committed."""
    writes = engine.execution_options(**{WRITE: True})
    gate = _gate(engine)
    gate.timeout = WAIT
    done = threading.Event()

    def second() -> None:
        with writes.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('second')"))
        done.set()

    with writes.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('first')"))
        t = threading.Thread(target=second)
        t.start()
        _until(lambda: _queued(gate) == 1, "the second writer queued")
        time.sleep(0.5)  # longer than the busy timeout
        assert not done.is_set()
    t.join(WAIT)
    assert done.is_set() and _rows(engine) == ["first", "second"]
    assert _is_open(gate)


def test_every_end_of_a_write_transaction_opens_the_gate(engine, tmp_path):
    writes = engine.execution_options(**{WRITE: True})
    gate = _gate(engine)
    with writes.begin() as conn:  # commit
        conn.execute(text("INSERT INTO t (v) VALUES ('kept')"))
    assert _is_open(gate)
    with pytest.raises(ZeroDivisionError), writes.begin() as conn:  # an error inside: rollback
        conn.execute(text("INSERT INTO t (v) VALUES ('rolled back')"))
        raise ZeroDivisionError
    assert _is_open(gate)
    with writes.connect() as conn:  # an explicit rollback
        conn.execute(text("INSERT INTO t (v) VALUES ('rolled back too')"))
        conn.rollback()
    assert _is_open(gate)
    _read, write = session_factories(engine)
    with write() as db:  # an ORM session closed without commit
        db.execute(text("INSERT INTO t (v) VALUES ('never committed')"))
    assert _is_open(gate)
    other = sqlite3.connect(tmp_path / "gate.db", isolation_level=None)  # another process's writer, say
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(Exception, match="database is locked"), writes.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('blocked')"))  # BEGIN IMMEDIATE fails after the busy timeout
    assert _is_open(gate)
    other.rollback()
    other.close()
    with writes.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('after')"))
    assert _rows(engine) == ["kept", "after"]
    assert _is_open(gate)


def test_many_writers_at_once_all_commit(engine):
    writes = engine.execution_options(**{WRITE: True})
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for j in range(5):
                with writes.begin() as conn:
                    conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"{i}-{j}"})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert errors == []
    assert sorted(_rows(engine)) == sorted(f"{i}-{j}" for i in range(16) for j in range(5))
    assert _is_open(_gate(engine))
