"""``digiskill loadtest``: N simulated persons take complete tests through the HTTP API, concurrently.

Phase 1 (the load): each person gets an invitation (``POST /v1/invitations``), opens it, and answers item after item
as a person of ability θ ~ N(0, 1) per area would (categories drawn from the item's response function, with a seeded
generator), until the server says the test has ended, then reads the result. Phase 2: every credential is downloaded.
Phase 3: every credential is verified here against the issuer key the service publishes (``GET /v1/issuer``).

Reported: throughput (answers/s in phase 1), latency p50/p95/p99 per endpoint, errors, retries, and whether any
citizen response carried a key, a score or an explanation (:mod:`~digiskill.service.leaks`). With ``retry_seconds``
> 0 a request that fails in transport (the server was killed) is sent again, unchanged, until the server is back:
answers name their step, so a repeat is recorded once.

Bounded on purpose: loopback URLs only, at most 10,000 persons and 1,000 concurrent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..errors import InputError, Problem
from ..irt.sampling import draw_categories
from .leaks import find_leaks

MAX_N = 10_000
MAX_CONCURRENCY = 1_000
TRANSPORT_RETRIES = 2  # resends of a request that failed in transport, counted in the report


class EndpointStats(FrozenModel):
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class LoadReport(FrozenModel):
    url: str
    n: int
    concurrency: int
    seed: int
    completed: int = Field(description="tests taken to the end")
    answers: int = Field(description="answers acknowledged (2xx)")
    replayed: int = Field(description="answers the server recognised as repeats (after a retry)")
    duration_s: float = Field(description="phase 1: invitations, tests and results")
    answers_per_s: float
    credentials_verified: int
    credentials_invalid: int
    errors: int
    error_samples: list[str]
    retries: int
    key_leaks: int
    leak_samples: list[str]
    endpoints: dict[str, EndpointStats]
    sessions: list[dict[str, Any]] = Field(description="per person: session id, steps acknowledged")


@dataclass
class _Run:
    client: Any
    token: str
    retry_seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    replayed: int = 0
    leaks: list[str] = field(default_factory=list)
    answers: int = 0

    async def call(self, name: str, method: str, url: str, **kw):
        """One request, timed; transport failures are retried for ``retry_seconds``; None after a failure."""
        import httpx

        deadline = time.monotonic() + self.retry_seconds
        attempts = 0
        while True:
            t0 = time.perf_counter()
            attempts += 1
            try:
                r = await self.client.request(method, url, **kw)
            except httpx.TransportError as err:
                # a kept-alive connection closed by the server just as it was reused: resend (answers name their
                # step, so a resent answer is recorded once); longer outages only with retry_seconds
                if attempts <= TRANSPORT_RETRIES or time.monotonic() < deadline:
                    self.retries += 1
                    await asyncio.sleep(0.2)
                    continue
                self.errors.append(f"{name}: {type(err).__name__}")
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
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
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


async def _person(run: _Run, i: int, seed: int, bank, items, explanations, lang: str, areas) -> dict[str, Any]:
    from ..irt.response import probability

    rng = np.random.default_rng([seed, i])
    theta = dict(zip(bank.areas, rng.normal(size=len(bank.areas)), strict=True))
    body: dict[str, Any] = {"person": f"loadtest-{seed}-{i}", "lang": lang}
    if areas:
        body["areas"] = areas
    r = await run.call("invite", "POST", "/v1/invitations", json=body, headers={"Authorization": f"Bearer {run.token}"})
    if r is None:
        return {"person": i, "session": None, "acknowledged": 0, "finished": False}
    inv = r.json()
    code, session = inv["code"], inv["session"]
    acknowledged = 0
    r = await run.call("open", "GET", f"/v1/citizen/{code}")
    if r is None:
        return {"person": i, "session": session, "acknowledged": 0, "finished": False}
    view = r.json()
    shown = view.get("item")
    run.leaks += find_leaks(view, explanations(shown))
    finished = view["finished"]
    params = bank.params.items_by_id()
    while shown is not None:
        item = items[shown["item"]]
        p = probability(theta[params[item.id].area], bank.params.to_arrays([item.id]))[0]
        answer = _choose(item, p, rng)
        r = await run.call(
            "answer",
            "POST",
            f"/v1/citizen/{code}/answers",
            json={"step": shown["step"], "item": shown["item"], "answer": answer},
        )
        if r is None:
            break
        acknowledged += 1
        run.answers += 1
        run.replayed += r.headers.get("X-Digiskill-Replayed") == "true"
        outcome = r.json()
        run.leaks += find_leaks(outcome, explanations(shown) + explanations(outcome.get("next")))
        finished = outcome["finished"]
        shown = outcome["next"]
    if finished:
        r = await run.call("result", "GET", f"/v1/citizen/{code}/result")
        if r is not None:
            run.leaks += find_leaks(r.json())
    return {"person": i, "session": session, "code": code, "acknowledged": acknowledged, "finished": finished}


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


async def _run(
    url: str, token: str, n: int, concurrency: int, seed: int, lang: str, areas, retry_seconds: float, progress=None
) -> LoadReport:
    import httpx

    from ..bank.default import load_default
    from ..results.signing import verify_credential

    bank = load_default()
    items = {it.id: it for it in bank.content.items}

    def explanations(view) -> list[str]:
        if not view:
            return []
        ex = items[view["item"]].explanation
        return [ex.da, ex.en]

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(120.0)) as client:
        run = _Run(client, token, retry_seconds)
        r = await run.call("issuer", "GET", "/v1/issuer")
        if r is None:
            raise InputError(Problem(f"no digiskill service answers at {url}: {run.errors[-1]}"))
        issuer_key = r.json()["public_key_multikey"]
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                out = await _person(run, i, seed, bank, items, explanations, lang, areas)
                if progress:
                    progress(1)
                return out

        t0 = time.perf_counter()
        sessions = await asyncio.gather(*(one(i) for i in range(n)))
        duration = time.perf_counter() - t0

        credentials: list[str] = []

        async def fetch(s: dict[str, Any]) -> None:
            async with gate:
                if s["finished"]:
                    r = await run.call("credential", "GET", f"/v1/citizen/{s['code']}/credential")
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
        completed=sum(s["finished"] for s in sessions),
        answers=run.answers,
        replayed=run.replayed,
        duration_s=round(duration, 3),
        answers_per_s=round(run.answers / duration, 1) if duration > 0 else 0.0,
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
    progress=None,
) -> LoadReport:
    """Run the load test (see the module notes) and return its report."""
    check_loopback(url)
    if not 1 <= n <= MAX_N:
        raise InputError(Problem(f"--n must be 1..{MAX_N}, got {n}"))
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(Problem(f"--concurrency must be 1..{MAX_CONCURRENCY}, got {concurrency}"))
    return asyncio.run(_run(url.rstrip("/"), token, n, concurrency, seed, lang, areas, retry_seconds, progress))
