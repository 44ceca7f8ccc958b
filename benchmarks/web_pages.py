"""Speed of the web pages under the service issue's load: ``digiskill serve`` (SQLite or PostgreSQL, W workers) and
N simulated citizens taking the whole test through the pages, C at once, each pausing before each answer.

    .venv/bin/python benchmarks/web_pages.py --backend sqlite --workers 2 --n 300 --concurrency 300
    .venv/bin/python benchmarks/web_pages.py --backend postgresql --workers 2 --n 300 --concurrency 300

A citizen opens the start page, the test's page, then for every item: the item page, a pause (``--think-seconds``,
mean 0.9 s, uniform on [m/2, 3m/2], starts spread over [0, 3m), as in ``service_load.py``), the answer form's POST
(the server records the answer and redirects) and the next item page, until the result page. So 300 citizens give
about 330 answers/s, as the API's load test, but two page requests per answer instead of one API call.

Reports per page the server's own time (the app's ``Server-Timing`` header: request to response headers) and the
time the client saw, p50/p95/p99/max, over the whole run and in the steady window (from the last citizen's start to
the first citizen's end, when all C are taking their tests), and the first page's size (HTML + CSS + script,
uncompressed). Each citizen has its own keep-alive connection (the load test's small client, which costs the
generator little CPU on the same cores). PostgreSQL: a throw-away cluster as in ``service_load.py``. Writes
``benchmarks/results/web-pages-<backend>-<workers>w.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
from local_server import free_port, wait_until_healthy  # beside this script
from service_load import start_postgres  # beside this script

from digiskill.service.loadtest import Connection
from digiskill.service.tokens import create_token

HERE = Path(__file__).resolve().parent
DIGISKILL = Path(sys.executable).with_name("digiskill")
HIDDEN = re.compile(r'<input type="hidden" name="(csrf|step|item)" value="([^"]*)">')
CHOICE = re.compile(r'name="answer" value="([^"]+)"')
SELECTED = re.compile(r'<option value="([^"]+)" selected>')
CSRF_COOKIE = re.compile(r"dsk_csrf=([^;]+)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Timings:
    """(when it ended, server ms, client ms) of every page request, by kind of page."""

    def __init__(self) -> None:
        self.pages: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        self.starts: list[float] = []
        self.ends: list[float] = []

    def summary(self, since: float = -1.0, until: float = float("inf")) -> dict[str, dict[str, float]]:
        out = {}
        for kind, rows in self.pages.items():
            chosen = [(s, c) for t, s, c in rows if since <= t <= until]
            if not chosen:
                continue
            server = [s for s, _ in chosen]
            client = [c for _, c in chosen]
            out[kind] = {
                "count": len(chosen),
                "server_p50_ms": round(statistics.median(server), 1),
                "server_p95_ms": round(percentile(server, 0.95), 1),
                "server_p99_ms": round(percentile(server, 0.99), 1),
                "server_max_ms": round(max(server), 1),
                "client_p50_ms": round(statistics.median(client), 1),
                "client_p95_ms": round(percentile(client, 0.95), 1),
                "client_p99_ms": round(percentile(client, 0.99), 1),
            }
        return out


async def citizen(url: str, code: str, i: int, think: float, timings: Timings, t0: float) -> int:
    """One person through the pages (first option of each item, both options of a multiple response); returns the
    answers given."""
    rng = np.random.default_rng([7, i])
    conn = Connection(url)
    cookie: dict[str, str] = {}

    async def timed(kind: str, method: str, path: str, **kw):
        start = time.perf_counter()
        r = await conn.request(method, path, headers=cookie, **kw)
        end = time.perf_counter()
        timings.pages[kind].append((end - t0, float(r.headers["server-timing"].split("dur=")[1]), 1e3 * (end - start)))
        if r.status_code >= 400:
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:200]}")
        return r

    if think > 0:
        await asyncio.sleep(float(rng.uniform(0.0, 3.0 * think)))
    timings.starts.append(time.perf_counter() - t0)
    r = await timed("start page", "GET", "/")
    # the CSRF cookie is Secure: browsers keep it on http://127.0.0.1 (a secure context)
    cookie["Cookie"] = "dsk_csrf=" + CSRF_COOKIE.search(r.headers["set-cookie"]).group(1)
    await timed("test page", "GET", f"/t/{code}")
    answers = 0
    r = await timed("item page", "GET", f"/t/{code}/item")
    while r.status_code == 200:
        fields = dict(HIDDEN.findall(r.text))
        order = SELECTED.findall(r.text)
        choices = CHOICE.findall(r.text)
        data: dict = dict(fields)
        if order:
            data["order"] = order
        else:
            data["answer"] = choices[:2] if 'type="checkbox"' in r.text else choices[0]
        if think > 0:
            await asyncio.sleep(float(rng.uniform(0.5 * think, 1.5 * think)))
        r = await timed("answer post", "POST", f"/t/{code}/answer", form=data)
        answers += 1
        if r.headers["location"].endswith("/result"):
            break
        r = await timed("item page", "GET", f"/t/{code}/item")
    await timed("result page", "GET", f"/t/{code}/result")
    timings.ends.append(time.perf_counter() - t0)
    conn.close()
    return answers


async def run(url: str, codes: list[str], concurrency: int, think: float) -> tuple[Timings, int, float]:
    timings = Timings()
    sem = asyncio.Semaphore(concurrency)
    t0 = time.perf_counter()

    async def one(i: int, code: str) -> int:
        async with sem:
            return await citizen(url, code, i, think, timings, t0)

    answers = sum(await asyncio.gather(*(one(i, c) for i, c in enumerate(codes))))
    return timings, answers, time.perf_counter() - t0


def first_page_bytes(url: str) -> dict[str, int]:
    sizes = {}
    for path in ("/", "/static/site.css", "/static/site.js"):
        sizes[path] = len(httpx.get(url + path).content)
    sizes["total"] = sum(sizes.values())
    return sizes


def main() -> None:
    import uvloop

    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--n", type=int, default=300, help="citizens, each taking the whole six-area test")
    ap.add_argument("--concurrency", type=int, default=300)
    ap.add_argument("--think-seconds", type=float, default=0.9, help="mean pause before each answer (0: none)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="digiskill-web-bench-"))
    stop_pg = None
    if args.backend == "sqlite":
        db = f"sqlite:///{tmp / 'web.db'}"
    else:
        db, stop_pg, _data = start_postgres(tmp)
    token = create_token(db, "system")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [
            str(DIGISKILL),
            "serve",
            "--database-url",
            db,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--code-failures-per-minute",
            "100000",
        ],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_healthy(server, url, tmp / "server.log", 300)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=auth) as client:
            codes = [
                client.post("/v1/invitations", json={"person": f"bench-{i}"}).json()["code"] for i in range(args.n)
            ]
        sizes = first_page_bytes(url)
        load = os.getloadavg()
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            timings, answers, wall = runner.run(run(url, codes, args.concurrency, args.think_seconds))
    finally:
        server.terminate()
        server.wait(60)
        if stop_pg:
            subprocess.run(stop_pg, capture_output=True)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    since, until = max(timings.starts), min(timings.ends)
    steady = [t for t, _, _ in timings.pages["answer post"] if since <= t <= until]
    report = {
        "backend": args.backend,
        "workers": args.workers,
        "n": args.n,
        "concurrency": args.concurrency,
        "think_seconds": args.think_seconds,
        "load_average_at_start": round(load[0], 2),
        "answers": answers,
        "wall_s": round(wall, 2),
        "answers_per_s": round(answers / wall, 1),
        "pages_per_s": round(sum(len(v) for v in timings.pages.values()) / wall, 1),
        "first_page_bytes": sizes,
        "pages": timings.summary(),
        "steady": {
            "window_s": round(max(until - since, 0.0), 1),
            "answers_per_s": round(len(steady) / (until - since), 1) if until > since else None,
            "pages": timings.summary(since, until),
        },
    }
    out = HERE / "results" / f"web-pages-{args.backend}-{args.workers}w.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
