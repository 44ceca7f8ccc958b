"""``digiskill loadtest``: N simulated persons take complete tests through the HTTP API, concurrently.

Phase 1 (the load): each person gets an invitation (``POST /v1/invitations``), opens it, and answers item after item
as a person of ability θ ~ N(0, 1) per area would (categories drawn from the item's response function, with a seeded
generator), until the server says the test has ended, then reads the result. Phase 2: every credential is downloaded.
Phase 3: every credential is verified here against the issuer key the service publishes (``GET /v1/issuer``).

Pacing (``think_seconds``): with 0 each person sends its next answer the moment the previous one is acknowledged, so
C persons keep C requests outstanding at all times (a stress test: latency then grows with C by Little's law). With
a mean think time m > 0 each person pauses a time drawn uniformly from [m/2, 3m/2] before each answer, and starts at a
time drawn uniformly from [0, 3m) (a ramp instead of C invitations in the same millisecond), like people reading an
item before they click; the pauses come from their own seeded generator, so the persons' answers are the same with
and without pacing. C persons with think time m then offer about C / m answers per second.

Each person talks over its own keep-alive HTTP/1.1 connection, as a browser does, with a small client on asyncio
streams (:class:`Connection`): the load generator runs on the same machine as the server, so its own CPU per request
counts, and a general-purpose client's connection pool costs more per request with every connection it holds.

Reported: throughput (answers/s in phase 1, and in the steady window while all C persons are taking their tests),
latency p50/p95/p99 per endpoint, errors, retries, the generator's own CPU time per answer, and whether any citizen
response carried a key, a score or an explanation (:mod:`~digiskill.service.leaks`). With ``retry_seconds`` > 0 a
request that fails in transport (the server was killed) is sent again, unchanged, until the server is back: answers
name their step, so a repeat is recorded once.

Bounded on purpose: loopback URLs only, at most 10,000 persons and 1,000 concurrent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..errors import InputError, Problem
from ..irt.sampling import draw_categories
from ..results.online import is_loopback_host
from .leaks import find_leaks

MAX_N = 10_000
MAX_CONCURRENCY = 1_000
MAX_THINK_SECONDS = 60.0
TRANSPORT_RETRIES = 2  # resends of a request that failed in transport, counted in the report
REQUEST_TIMEOUT = 120.0


class EndpointStats(FrozenModel):
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class SteadyState(FrozenModel):
    """Phase 1 while every one of the C persons was taking a test: after the last of them started, before the first
    finished (no ramp-up, no tail of the longest tests)."""

    window_s: float
    answers: int
    answers_per_s: float
    answer: EndpointStats | None = Field(description="latency of the answers acknowledged in the window")


class LoadReport(FrozenModel):
    url: str
    n: int
    concurrency: int
    seed: int
    think_seconds: float = Field(description="mean pause of a person before each answer (0: none)")
    completed: int = Field(description="tests taken to the end")
    answers: int = Field(description="answers acknowledged (2xx)")
    replayed: int = Field(description="answers the server recognised as repeats (after a retry)")
    duration_s: float = Field(description="phase 1: invitations, tests and results")
    answers_per_s: float
    steady: SteadyState | None = Field(description="the window in which all C persons were taking tests")
    client_cpu_ms_per_answer: float = Field(description="CPU time of this load generator in phase 1, per answer")
    credentials_verified: int
    credentials_invalid: int
    errors: int
    error_samples: list[str]
    retries: int
    key_leaks: int
    leak_samples: list[str]
    endpoints: dict[str, EndpointStats]
    sessions: list[dict[str, Any]] = Field(description="per person: session id, steps acknowledged")


class TransportError(Exception):
    """The request got no complete HTTP answer: connection refused, reset or closed, or no answer in time."""


@dataclass
class Reply:
    """One HTTP answer: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Connection:
    """One keep-alive HTTP/1.1 connection to the service, used for one request at a time (as a browser tab does);
    it connects on first use and again after a failure or a ``Connection: close``."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {self.host}:{self.port}\r\n"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request; ``json_body`` is sent as JSON, ``form`` as an HTML form (a list value repeats its field)."""
        head = [f"{method} {path} HTTP/1.1\r\n", self._host_header]
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            head.append(f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        elif form is not None:
            body = urlencode(form, doseq=True).encode()
            head.append(f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n")
        elif method in ("POST", "PUT", "PATCH"):
            head.append("Content-Length: 0\r\n")
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n")
        head.append("\r\n")
        try:
            async with asyncio.timeout(self.timeout):
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                self._writer.write("".join(head).encode("latin-1") + body)
                return await self._read_reply()
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
            self.close()
            raise TransportError(type(err).__name__) from err
        except TimeoutError as err:
            self.close()
            raise TransportError(f"no answer within {self.timeout:.0f} s") from err

    async def _read_reply(self) -> Reply:
        reader = self._reader
        assert reader is not None
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                key = name.strip().lower()
                if key == "set-cookie" and key in headers:  # one line per cookie: keep them all
                    headers[key] += "\n" + value.strip()
                else:
                    headers[key] = value.strip()
        if "content-length" in headers:
            content = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size + 2))
            await reader.readuntil(b"\r\n")
            content = b"".join(c[:-2] for c in chunks)
        else:
            content = await reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Reply(status, headers, content)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass
class _Run:
    url: str
    token: str
    retry_seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    replayed: int = 0
    leaks: list[str] = field(default_factory=list)
    answers: int = 0
    acknowledged: list[tuple[float, float]] = field(default_factory=list)  # (when, latency) of each answer
    active: list[tuple[float, int]] = field(default_factory=list)  # (time, +1 a person starts / -1 one ends)

    async def call(self, conn: Connection, name: str, method: str, path: str, **kw) -> Reply | None:
        """One request, timed; transport failures are retried for ``retry_seconds``; None after a failure."""
        deadline = time.monotonic() + self.retry_seconds
        attempts = 0
        while True:
            t0 = time.perf_counter()
            attempts += 1
            try:
                r = await conn.request(method, path, **kw)
            except TransportError as err:
                # a kept-alive connection closed by the server just as it was reused: resend (answers name their
                # step, so a resent answer is recorded once); longer outages only with retry_seconds
                if attempts <= TRANSPORT_RETRIES or time.monotonic() < deadline:
                    self.retries += 1
                    await asyncio.sleep(0.2)
                    continue
                self.errors.append(f"{name}: {err}")
                return None
            if r.status_code >= 500 and time.monotonic() < deadline:
                self.retries += 1
                await asyncio.sleep(0.2)
                continue
            self.latencies.setdefault(name, []).append(time.perf_counter() - t0)
            if r.status_code >= 400:
                self.errors.append(f"{name}: {r.status_code} {r.text[:200]}")
                return None
            return r


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not is_loopback_host(host):
        raise InputError(Problem(f"loadtest runs against this computer only (loopback), not {host!r}"))


def _choose(item, p: np.ndarray, rng: np.random.Generator) -> str | list[str]:
    """Option id(s) that score the category drawn from ``p``."""
    k = int(draw_categories(p, rng))
    options = [o.id for o in item.options]
    if item.format in ("single_choice", "true_false"):
        wrong = [o for o in options if o != item.key[0]]
        return item.key[0] if k == 1 else wrong[int(rng.integers(len(wrong)))]
    if item.format == "ordering":
        return list(item.key) if k == 1 else [item.key[1], item.key[0], *item.key[2:]]
    if k == 0:
        wrong = [o for o in options if o not in item.key]
        return [wrong[0]] if wrong else []
    return list(rng.permutation(item.key[:k]))


class _Pacer:
    """A person's pauses: uniform on [m/2, 3m/2] before each answer, a start in [0, 3m); none when m = 0."""

    def __init__(self, think_seconds: float, seed: int, person: int) -> None:
        self.mean = think_seconds
        self.rng = np.random.default_rng([seed, person, 1])  # apart from the answers' generator

    async def start(self) -> None:
        if self.mean > 0:
            await asyncio.sleep(float(self.rng.uniform(0.0, 3.0 * self.mean)))

    async def think(self) -> None:
        if self.mean > 0:
            await asyncio.sleep(float(self.rng.uniform(0.5 * self.mean, 1.5 * self.mean)))


async def _person(run: _Run, i: int, seed: int, sim, explanations, lang: str, areas, think: float) -> dict[str, Any]:
    rng = np.random.default_rng([seed, i])
    pacer = _Pacer(think, seed, i)
    theta = dict(zip(sim.areas, rng.normal(size=len(sim.areas)), strict=True))
    body: dict[str, Any] = {"person": f"loadtest-{seed}-{i}", "lang": lang}
    if areas:
        body["areas"] = areas
    await pacer.start()
    conn = Connection(run.url)
    run.active.append((time.perf_counter(), 1))
    try:
        return await _take(run, conn, i, rng, pacer, theta, sim, body, explanations)
    finally:
        run.active.append((time.perf_counter(), -1))
        conn.close()


async def _take(run: _Run, conn: Connection, i: int, rng, pacer: _Pacer, theta, sim, body, explanations):
    auth = {"Authorization": f"Bearer {run.token}"}
    probabilities = sim.probabilities(theta)
    r = await run.call(conn, "invite", "POST", "/v1/invitations", json_body=body, headers=auth)
    if r is None:
        return {"person": i, "session": None, "acknowledged": 0, "finished": False}
    inv = r.json()
    code, session = inv["code"], inv["session"]
    acknowledged = 0
    r = await run.call(conn, "open", "GET", f"/v1/citizen/{code}")
    if r is None:
        return {"person": i, "session": session, "acknowledged": 0, "finished": False}
    view = r.json()
    shown = view.get("item")
    run.leaks += find_leaks(view, explanations(shown))
    finished = view["finished"]
    while shown is not None:
        item_id = shown["item"]
        answer = _choose(sim.items[item_id], probabilities[item_id], rng)
        await pacer.think()
        r = await run.call(
            conn,
            "answer",
            "POST",
            f"/v1/citizen/{code}/answers",
            json_body={"step": shown["step"], "item": item_id, "answer": answer},
        )
        if r is None:
            break
        acknowledged += 1
        run.answers += 1
        run.acknowledged.append((time.perf_counter(), run.latencies["answer"][-1]))
        run.replayed += r.headers.get("x-digiskill-replayed") == "true"
        outcome = r.json()
        run.leaks += find_leaks(outcome, explanations(shown) + explanations(outcome.get("next")))
        finished = outcome["finished"]
        shown = outcome["next"]
    if finished:
        r = await run.call(conn, "result", "GET", f"/v1/citizen/{code}/result")
        if r is not None:
            run.leaks += find_leaks(r.json())
    return {"person": i, "session": session, "code": code, "acknowledged": acknowledged, "finished": finished}


class _Simulees:
    """What the simulated persons need of the bank: the items, and each person's response probabilities for every
    item at that person's abilities, computed once per person (one vectorised call over the bank instead of one call
    per answer; the same arithmetic, so the same draws)."""

    def __init__(self, bank) -> None:
        self.areas = bank.areas
        self.items = {it.id: it for it in bank.content.items}
        ids = [p.id for p in bank.params.items]
        self._arrays = bank.params.to_arrays(ids)
        self._position = {item_id: j for j, item_id in enumerate(ids)}
        self._area = [p.area for p in bank.params.items]

    def probabilities(self, theta: dict) -> dict[str, np.ndarray]:
        """Each item's ``P(X = k)``, ``k = 0 … n_cat − 1``, at the person's ability in the item's area."""
        from ..irt.response import category_terms_at

        at = np.array([theta[a] for a in self._area])
        prob = category_terms_at(at, self._arrays, np.arange(at.size), with_logp=False).prob
        n_cat = self._arrays.n_cat
        return {item_id: prob[j, : n_cat[j]] for item_id, j in self._position.items()}


def _stats(values: list[float]) -> EndpointStats:
    ms = np.asarray(values) * 1e3
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return EndpointStats(
        count=ms.size,
        p50_ms=round(float(p50), 2),
        p95_ms=round(float(p95), 2),
        p99_ms=round(float(p99), 2),
        max_ms=round(float(ms.max()), 2),
    )


def _steady(run: _Run, concurrency: int) -> SteadyState | None:
    """Phase 1 while ``concurrency`` persons were active at once (see :class:`SteadyState`)."""
    count, start, end = 0, None, None
    for t, change in sorted(run.active):
        count += change
        if start is None and count >= concurrency:
            start = t
        elif start is not None and count < concurrency:
            end = t
            break
    if start is None or end is None or end <= start:
        return None
    when, latency = np.asarray(run.acknowledged, dtype=float).reshape(-1, 2).T
    in_window = latency[(when >= start) & (when <= end)]
    answers = int(in_window.size)
    return SteadyState(
        window_s=round(end - start, 3),
        answers=answers,
        answers_per_s=round(answers / (end - start), 1),
        answer=_stats(list(in_window)) if in_window.size else None,
    )


async def _run(
    url: str,
    token: str,
    n: int,
    concurrency: int,
    seed: int,
    lang: str,
    areas,
    retry_seconds: float,
    think: float,
    progress=None,
    on_phase: Callable[[str], None] | None = None,
) -> LoadReport:
    from ..bank.default import load_default
    from ..results.signing import verify_credential

    sim = _Simulees(load_default())

    def explanations(view) -> list[str]:
        if not view:
            return []
        ex = sim.items[view["item"]].explanation
        return [ex.da, ex.en]

    run = _Run(url, token, retry_seconds)
    first = Connection(url)
    r = await run.call(first, "issuer", "GET", "/v1/issuer")
    first.close()
    if r is None:
        raise InputError(Problem(f"no digiskill service answers at {url}: {run.errors[-1]}"))
    issuer_key = r.json()["public_key_multikey"]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> dict[str, Any]:
        async with gate:
            out = await _person(run, i, seed, sim, explanations, lang, areas, think)
            if progress:
                progress(1)
            return out

    if on_phase:
        on_phase("load")
    cpu0, t0 = time.process_time(), time.perf_counter()
    sessions = await asyncio.gather(*(one(i) for i in range(n)))
    duration = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if on_phase:
        on_phase("credentials")

    credentials: list[str] = []

    async def fetch(s: dict[str, Any]) -> None:
        async with gate:
            if s["finished"]:
                conn = Connection(url)
                r = await run.call(conn, "credential", "GET", f"/v1/citizen/{s['code']}/credential")
                conn.close()
                if r is not None:
                    credentials.append(r.text)

    await asyncio.gather(*(fetch(s) for s in sessions))
    verified = invalid = 0
    for text in credentials:
        result = verify_credential(json.loads(text), issuer_key)
        verified += result.ok
        invalid += not result.ok
    return LoadReport(
        url=url,
        n=n,
        concurrency=concurrency,
        seed=seed,
        think_seconds=think,
        completed=sum(s["finished"] for s in sessions),
        answers=run.answers,
        replayed=run.replayed,
        duration_s=round(duration, 3),
        answers_per_s=round(run.answers / duration, 1) if duration > 0 else 0.0,
        steady=_steady(run, min(concurrency, n)),
        client_cpu_ms_per_answer=round(1e3 * cpu / max(run.answers, 1), 3),
        credentials_verified=verified,
        credentials_invalid=invalid,
        errors=len(run.errors),
        error_samples=run.errors[:10],
        retries=run.retries,
        key_leaks=len(run.leaks),
        leak_samples=run.leaks[:10],
        endpoints={name: _stats(v) for name, v in sorted(run.latencies.items())},
        sessions=[{k: s.get(k) for k in ("person", "session", "acknowledged", "finished")} for s in sessions],
    )


def run_loadtest(
    url: str,
    token: str,
    n: int,
    *,
    concurrency: int = 50,
    seed: int = 0,
    lang: str = "da",
    areas: list[str] | None = None,
    retry_seconds: float = 0.0,
    think_seconds: float = 0.0,
    progress=None,
    on_phase: Callable[[str], None] | None = None,
) -> LoadReport:
    """Run the load test (see the module notes) and return its report.

    ``on_phase`` is called with ``"load"`` as phase 1 starts and ``"credentials"`` as it ends (a benchmark reads the
    server's CPU time there). The event loop is uvloop's when uvloop is installed (less CPU per request)."""
    check_loopback(url)
    if not 1 <= n <= MAX_N:
        raise InputError(Problem(f"--n must be 1..{MAX_N}, got {n}"))
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(Problem(f"--concurrency must be 1..{MAX_CONCURRENCY}, got {concurrency}"))
    if not 0 <= think_seconds <= MAX_THINK_SECONDS:
        raise InputError(Problem(f"--think-seconds must be 0..{MAX_THINK_SECONDS:g}, got {think_seconds}"))
    if urlsplit(url).scheme != "http":
        raise InputError(Problem(f"loadtest speaks plain HTTP to this computer (http://…), not {url!r}"))
    main = _run(
        url.rstrip("/"), token, n, concurrency, seed, lang, areas, retry_seconds, think_seconds, progress, on_phase
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)


def _loop_factory():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
