"""Speed of the web pages: ``digiskill serve`` (SQLite) and C simulated citizens taking the test through the pages
(start page, the test's page, item page, answer post, result page) with httpx, all at once.

    .venv/bin/python benchmarks/web_pages.py --n 60 --concurrency 30

Reports per page the server's own time (the app's ``Server-Timing`` header: request to response headers) and the
time the client saw, p50/p95/max, and the first page's size (HTML + CSS + script, uncompressed). Writes
``benchmarks/results/web-pages.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
from local_server import free_port, wait_until_healthy  # beside this script

from digiskill.service.tokens import create_token

HERE = Path(__file__).resolve().parent
DIGISKILL = Path(sys.executable).with_name("digiskill")
HIDDEN = re.compile(r'<input type="hidden" name="(csrf|step|item)" value="([^"]*)">')
CHOICE = re.compile(r'name="answer" value="([^"]+)"')
SELECTED = re.compile(r'<option value="([^"]+)" selected>')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def citizen(client: httpx.AsyncClient, code: str, server_ms, client_ms) -> int:
    """One person through the pages (first option of each item); returns the answers given."""

    async def timed(kind: str, method: str, url: str, **kw) -> httpx.Response:
        t0 = time.perf_counter()
        r = await client.request(method, url, **kw)
        client_ms[kind].append((time.perf_counter() - t0) * 1000)
        server_ms[kind].append(float(r.headers["server-timing"].split("dur=")[1]))
        if r.status_code >= 400:
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:200]}")
        return r

    r = await timed("start page", "GET", "/")
    # the CSRF cookie is Secure: browsers keep it on http://127.0.0.1 (a secure context), httpx only on https
    client.cookies.set("dsk_csrf", r.cookies["dsk_csrf"], domain="127.0.0.1")
    await timed("test page", "GET", f"/t/{code}")
    answers = 0
    while True:
        r = await timed("item page", "GET", f"/t/{code}/item")
        if r.status_code == 303:
            break
        fields = dict(HIDDEN.findall(r.text))
        order = SELECTED.findall(r.text)
        choices = CHOICE.findall(r.text)
        data: dict = dict(fields)
        if order:
            data["order"] = order
        else:
            data["answer"] = choices[:2] if 'type="checkbox"' in r.text else choices[0]
        r = await timed("answer post", "POST", f"/t/{code}/answer", data=data)
        answers += 1
        if r.headers["location"].endswith("/result"):
            break
    await timed("result page", "GET", f"/t/{code}/result")
    return answers


async def run(url: str, codes: list[str], concurrency: int) -> tuple[dict, dict, int, float]:
    server_ms: dict[str, list[float]] = defaultdict(list)
    client_ms: dict[str, list[float]] = defaultdict(list)
    limits = httpx.Limits(max_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)

    async def one(code: str) -> int:
        async with sem, httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            return await citizen(client, code, server_ms, client_ms)

    t0 = time.perf_counter()
    answers = sum(await asyncio.gather(*(one(c) for c in codes)))
    return server_ms, client_ms, answers, time.perf_counter() - t0


def first_page_bytes(url: str) -> dict[str, int]:
    sizes = {}
    for path in ("/", "/static/site.css", "/static/site.js"):
        sizes[path] = len(httpx.get(url + path).content)
    sizes["total"] = sum(sizes.values())
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60, help="citizens (each takes one area's test: 4-10 items)")
    ap.add_argument("--concurrency", type=int, default=30)
    ap.add_argument("--area", default="basic_it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="digiskill-web-bench-"))
    db = f"sqlite:///{tmp / 'web.db'}"
    token = create_token(db, "system")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [str(DIGISKILL), "serve", "--database-url", db, "--port", str(port), "--code-failures-per-minute", "100000"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_healthy(server, url, tmp / "server.log", 120)
        auth = {"Authorization": f"Bearer {token}"}
        codes = [
            httpx.post(
                f"{url}/v1/invitations", json={"person": f"bench-{i}", "areas": [args.area]}, headers=auth
            ).json()["code"]
            for i in range(args.n)
        ]
        sizes = first_page_bytes(url)
        server_ms, client_ms, answers, wall = asyncio.run(run(url, codes, args.concurrency))
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    report = {
        "n": args.n,
        "concurrency": args.concurrency,
        "answers": answers,
        "wall_s": round(wall, 2),
        "pages_per_s": round(sum(len(v) for v in server_ms.values()) / wall, 1),
        "first_page_bytes": sizes,
        "pages": {
            kind: {
                "count": len(server_ms[kind]),
                "server_p50_ms": round(statistics.median(server_ms[kind]), 1),
                "server_p95_ms": round(percentile(server_ms[kind], 0.95), 1),
                "server_max_ms": round(max(server_ms[kind]), 1),
                "client_p50_ms": round(statistics.median(client_ms[kind]), 1),
                "client_p95_ms": round(percentile(client_ms[kind], 0.95), 1),
            }
            for kind in server_ms
        },
    }
    out = HERE / "results" / "web-pages.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
