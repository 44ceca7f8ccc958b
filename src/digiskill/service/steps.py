"""A citizen's request as database steps, written once and run two ways.

The logic of a request that reads and writes sessions (:func:`~.assessments.session_by_code`,
:func:`~.assessments.answer_steps`, :func:`~.assessments.pause_steps`) is a generator: it yields each database call it
needs (a :class:`Read`, an :class:`Execute`, or a write object with the same two methods) and receives
the call's result back, so it never waits for a database itself.

* :func:`run_steps` runs the calls one after another in the calling thread: the synchronous callers
  (:func:`~.assessments.by_code` and :func:`~.assessments.record_answer`: the downloads, the command line and the
  tests) and every
  citizen request on SQLite (its calls never wait on a network, so they run on the event loop itself).
* :func:`arun_steps` awaits each call on the event loop (PostgreSQL through psycopg's asynchronous pool, the
  statements compiled once from the same SQLAlchemy Core statements): while one request waits for the database
  server the loop serves others, and the CPU work of a step (the CAT step, the JSON) runs on the loop as on SQLite,
  with no worker thread. With worker threads every database wait handed the interpreter lock back and forth between
  the loop and up to 40 threads, and the answers queued behind those hand-overs (measured in benchmarks/README.md,
  "The service under load").
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .context import Service

T = TypeVar("T")


class DbCall(Protocol):
    def run(self, svc: Service) -> Any: ...

    async def arun(self, svc: Service) -> Any: ...


Steps = Generator[DbCall, Any, T]
"""Database steps that end with a ``T``."""


@dataclass(frozen=True)
class Read:
    """One single-statement read; its result is the first row or None, or with ``many`` every row (a list)
    (autocommit on PostgreSQL, no BEGIN on SQLite: one statement sees one snapshot anyway)."""

    statement: Any
    params: dict[str, Any]
    many: bool = False

    def run(self, svc: Service) -> Any:
        with svc.read_engine.connect() as conn:
            result = conn.execute(self.statement, self.params)
            return result.all() if self.many else result.first()

    async def arun(self, svc: Service) -> Any:
        pool = await svc.pg_pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(postgresql_sql(self.statement), self.params)
            return await (cursor.fetchall() if self.many else cursor.fetchone())


@dataclass(frozen=True)
class Execute:
    """One single-statement write, committed by itself; its result is the number of rows it changed."""

    statement: Any
    params: dict[str, Any]

    def run(self, svc: Service) -> int:
        with svc.write_engine.begin() as conn:
            return conn.execute(self.statement, self.params).rowcount

    async def arun(self, svc: Service) -> int:
        pool = await svc.pg_pool()
        async with pool.connection() as conn:  # autocommit
            return (await conn.execute(postgresql_sql(self.statement), self.params)).rowcount


@functools.cache
def postgresql_sql(statement: Any) -> str:
    """The SQL text of a Core statement for psycopg on PostgreSQL (named ``%(name)s`` parameters), compiled once."""
    from sqlalchemy.dialects.postgresql import psycopg

    return str(statement.compile(dialect=psycopg.dialect()))


def run_steps(svc: Service, steps: Steps[T]) -> T:
    """Run ``steps``, each database call in this thread."""
    try:
        call = next(steps)
        while True:
            call = steps.send(call.run(svc))
    except StopIteration as done:
        return done.value


async def arun_steps(svc: Service, steps: Steps[T]) -> T:
    """Run ``steps`` on the event loop, awaiting each database call."""
    try:
        call = next(steps)
        while True:
            call = steps.send(await call.arun(svc))
    except StopIteration as done:
        return done.value


async def serve_steps(svc: Service, steps: Steps[T]) -> T:
    """Run a request's ``steps`` the way the service's database wants: on SQLite straight through (inline), on
    PostgreSQL awaiting each call."""
    return run_steps(svc, steps) if svc.inline else await arun_steps(svc, steps)
