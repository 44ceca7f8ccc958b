"""Load benchmark of the service: ``digiskill serve`` on SQLite or PostgreSQL, ``digiskill loadtest`` against it.

    .venv/bin/python benchmarks/service_load.py --backend sqlite --workers 1 --n 300 --concurrency 300
    .venv/bin/python benchmarks/service_load.py --backend postgresql --workers 2 --n 300 --concurrency 300

PostgreSQL: a throw-away cluster from Debian's binaries (as the postgres user when run as root), or the database
named by ``--pg-url``. Writes the load-test report to ``benchmarks/results/service-<backend>-<workers>w.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from digiskill.service.loadtest import run_loadtest
from digiskill.service.tokens import create_token

HERE = Path(__file__).resolve().parent
DIGISKILL = Path(sys.executable).with_name("digiskill")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(tmp: Path) -> tuple[str, list[str], Path]:
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(tmp, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = tmp / "data", free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "-o", opts,
                    "start"], check=True, capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", [*as_user, str(bin_dir / "pg_ctl"), "-D",
                                                                        str(data), "-m", "fast", "stop"], data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pg-url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="digiskill-bench-"))
    stop_pg = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    elif args.pg_url:
        url = args.pg_url
    else:
        url, stop_pg, _ = start_postgres(tmp)
    token = create_token(url, "system")
    port = free_port()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [str(DIGISKILL), "serve", "--database-url", url, "--port", str(port), "--workers", str(args.workers)],
        cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{(tmp / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        load = os.getloadavg()
        report = run_loadtest(base, token, args.n, concurrency=args.concurrency, seed=args.seed)
    finally:
        server.terminate()
        server.wait(60)
        if stop_pg:
            subprocess.run(stop_pg, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    out = HERE / "results" / f"service-{args.backend}-{args.workers}w.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report.model_dump_json(indent=2, exclude={"sessions"}) + "\n")
    a = report.endpoints["answer"]
    print(f"{args.backend}, {args.workers} worker(s), n={args.n}, concurrency={args.concurrency}, "
          f"load average at start {load[0]:.1f}: {report.completed}/{report.n} tests, {report.answers} answers in "
          f"{report.duration_s:.1f} s = {report.answers_per_s:.0f} answers/s; answer p50 {a.p50_ms:.0f} ms, "
          f"p95 {a.p95_ms:.0f} ms, p99 {a.p99_ms:.0f} ms; errors {report.errors}; credentials verified "
          f"{report.credentials_verified}; key leaks {report.key_leaks}")


if __name__ == "__main__":
    main()
