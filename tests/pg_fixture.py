"""A throw-away PostgreSQL for the service tests, started from Debian's binaries (``initdb``/``pg_ctl`` under
``/usr/lib/postgresql/*/bin``), or the cluster named by ``DIGISKILL_TEST_PG_URL``.

initdb refuses to run as root (CI runs as root): then the cluster is made and run by the ``postgres`` user
(``runuser -u postgres --``), in a temporary folder that user owns. A missing PostgreSQL FAILS the tests that need
it, with the command that installs it; it is never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ENV = "DIGISKILL_TEST_PG_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A running cluster; ``url(db)`` is a SQLAlchemy URL, ``new_database()`` makes an empty database."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/").rsplit("/", 1)[0]

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        conninfo = self.url("postgres").replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if os.environ.get(PG_ENV):
        yield PgCluster(os.environ[PG_ENV])
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (or set DIGISKILL_TEST_PG_URL)")
    as_user: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="digiskill-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.fail("running as root needs runuser to start PostgreSQL as the postgres user")
        shutil.chown(tmp, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = tmp / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "-t", "60", "-o", options, "start")
    try:
        yield PgCluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(tmp, ignore_errors=True)
