"""The service as it runs: ``digiskill serve`` processes on loopback, the load-test client, a ``kill -9`` in the middle
of a run, the same step posted 20 times at once, and two servers sharing one PostgreSQL database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from digiskill.service.db import Answer, SessionRow, make_engine, session_factories
from digiskill.service.loadtest import run_loadtest
from digiskill.service.tokens import create_token

DIGISKILL = Path(sys.executable).with_name("digiskill")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``digiskill serve`` on a free loopback port (or the given one), until ``kill()`` or ``stop()``."""

    def __init__(self, database_url: str, cwd: Path, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(cwd / f"server-{self.port}-{time.monotonic_ns()}.log", "w")
        self.proc = subprocess.Popen(
            [str(DIGISKILL), "serve", "--database-url", database_url, "--port", str(self.port)],
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, Path(self.log.name).read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not start: {Path(self.log.name).read_text()}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _db_counts(url: str) -> dict[str, tuple[int, int, int]]:
    """Per session: (n_steps, answer rows, distinct steps among them, steps in the stored state)."""
    engine = make_engine(url)
    read, _ = session_factories(engine)
    try:
        with read() as db:
            rows = db.scalars(select(SessionRow)).all()
            out = {}
            for r in rows:
                n_rows = db.scalar(select(func.count()).select_from(Answer).where(Answer.session_id == r.id))
                n_distinct = db.scalar(select(func.count(func.distinct(Answer.step))).where(Answer.session_id == r.id))
                out[r.id] = (r.n_steps, n_rows, n_distinct, len(json.loads(r.state)["steps"]))
            return out
    finally:
        engine.dispose()


def _answers(url: str) -> int:
    return sum(c[1] for c in _db_counts(url).values())


def test_kill_9_loses_no_acknowledged_answer_and_the_same_step_20_times_records_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    token = create_token(url, "system")
    server = LiveServer(url, tmp_path)
    reports = []
    runner = threading.Thread(
        target=lambda: reports.append(
            run_loadtest(server.url, token, 4, concurrency=4, seed=3, areas=["basic_it"], retry_seconds=90)
        )
    )
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while _answers(url) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = _answers(url)
        server.kill()  # kill -9 in the middle of the run
        server = LiveServer(url, tmp_path, port=server.port)  # restart on the same database and port
        runner.join(240)
        assert not runner.is_alive()
        _same_step_twenty_times_then_alternate([server.url], token, url, "person-sqlite")
    finally:
        server.stop()
    (report,) = reports
    assert before >= 8 and report.retries > 0
    assert report.completed == 4 and report.errors == 0, report.error_samples
    assert report.credentials_verified == 4 and report.credentials_invalid == 0 and report.key_leaks == 0
    counts = _db_counts(url)
    for s in report.sessions:
        n_steps, n_rows, n_distinct, n_state = counts[s["session"]]
        # every acknowledged answer is in the database, and each step is recorded once
        assert s["acknowledged"] == n_steps == n_rows == n_distinct == n_state, (s, counts[s["session"]])
    assert sum(s["acknowledged"] for s in report.sessions) == report.answers


def _post_many(urls: list[str], code: str, body: dict, n: int) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def post(i: int) -> httpx.Response:
        barrier.wait()
        return httpx.post(f"{urls[i % len(urls)]}/v1/citizen/{code}/answers", json=body, timeout=60)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


def _first_answer(view: dict):
    ids = [o["id"] for o in view["options"]]
    if view["format"] in ("single_choice", "true_false"):
        return ids[0]
    return ids[:2] if view["format"] == "multiple_response" else ids


def _invite(url: str, token: str, person: str, areas: list[str]) -> dict:
    r = httpx.post(
        f"{url}/v1/invitations",
        json={"person": person, "areas": areas},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _same_step_twenty_times_then_alternate(urls: list[str], token: str, url: str, person: str) -> None:
    """The first step posted 20 times at once (spread over the servers) records one answer; then the servers take
    turns answering the session to its end, each agreeing with what the other recorded."""
    inv = _invite(urls[0], token, person, ["basic_it"])
    shown = httpx.get(f"{urls[-1]}/v1/citizen/{inv['code']}", timeout=60).json()["item"]
    body = {"step": 1, "item": shown["item"], "answer": _first_answer(shown)}
    replies = _post_many(urls, inv["code"], body, 20)
    assert [r.status_code for r in replies] == [200] * 20
    assert len({r.text for r in replies}) == 1
    assert sum(r.headers.get("X-Digiskill-Replayed") != "true" for r in replies) == 1
    assert _db_counts(url)[inv["session"]] == (1, 1, 1, 1)
    shown, step = replies[0].json()["next"], 2
    while shown is not None:
        r = httpx.post(
            f"{urls[step % len(urls)]}/v1/citizen/{inv['code']}/answers",
            json={"step": step, "item": shown["item"], "answer": _first_answer(shown)},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        view = httpx.get(f"{urls[(step + 1) % len(urls)]}/v1/citizen/{inv['code']}", timeout=60).json()
        assert view["item"] == r.json()["next"] and view["answered"] == step  # the other server agrees
        shown, step = r.json()["next"], step + 1
    n_steps, n_rows, n_distinct, n_state = _db_counts(url)[inv["session"]]
    assert n_steps == n_rows == n_distinct == n_state == step - 1


def test_two_servers_on_one_postgresql_database_serve_one_session(tmp_path, pg_cluster):
    url = pg_cluster.new_database()
    token = create_token(url, "system")
    servers = [LiveServer(url, tmp_path) for _ in range(2)]
    try:
        _same_step_twenty_times_then_alternate([s.url for s in servers], token, url, "person-postgresql")
    finally:
        for s in servers:
            s.stop()


def test_pacing_draws_seeded_pauses_apart_from_the_answers_and_a_paced_run_finishes(tmp_path):
    import asyncio

    import numpy as np
    import pytest

    from digiskill.errors import InputError
    from digiskill.service.loadtest import _Pacer

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    def pauses(think: float, seed: int, person: int) -> list[float]:
        slept.clear()
        pacer = _Pacer(think, seed, person)
        original = asyncio.sleep
        asyncio.sleep = fake_sleep
        try:
            asyncio.run(pacer.start())
            for _ in range(200):
                asyncio.run(pacer.think())
        finally:
            asyncio.sleep = original
        return list(slept)

    drawn = pauses(0.8, 7, 3)
    start, thinks = drawn[0], np.array(drawn[1:])
    assert 0 <= start < 2.4 and thinks.size == 200
    assert thinks.min() >= 0.4 and thinks.max() <= 1.2 and abs(thinks.mean() - 0.8) < 0.05
    assert pauses(0.8, 7, 3) == drawn and pauses(0.8, 7, 4) != drawn  # seeded per person
    assert pauses(0.0, 7, 3) == []  # no pacing: no pause at all
    # the pauses come from their own stream, not from the answers' generator (seeded by (seed, person))
    assert _Pacer(0.8, 7, 3).rng.random() != np.random.default_rng([7, 3]).random()
    with pytest.raises(InputError, match="think-seconds"):
        run_loadtest("http://127.0.0.1:9", "x", 1, think_seconds=-1)

    url = f"sqlite:///{tmp_path / 'paced.db'}"
    token = create_token(url, "system")
    server = LiveServer(url, tmp_path)
    try:
        t0 = time.perf_counter()
        report = run_loadtest(server.url, token, 3, concurrency=3, seed=5, areas=["basic_it"], think_seconds=0.05)
        elapsed = time.perf_counter() - t0
    finally:
        server.stop()
    assert report.think_seconds == 0.05 and report.completed == 3 and report.errors == 0, report.error_samples
    assert report.credentials_verified == 3 and report.key_leaks == 0
    # every person paused at least 0.025 s before each of its (at least 4) answers
    assert elapsed > 4 * 0.025 and report.answers >= 12
    assert report.steady is not None and 0 < report.steady.answers <= report.answers
    assert report.client_cpu_ms_per_answer > 0
