"""Load benchmark of the service: ``digiskill serve`` on SQLite or PostgreSQL, ``digiskill loadtest`` against it.

    .venv/bin/python benchmarks/service_load.py --backend sqlite --workers 1 --n 300 --concurrency 300
    .venv/bin/python benchmarks/service_load.py --backend postgresql --workers 2 --n 300 --concurrency 300

Each simulated person pauses before each answer (``--think-seconds``, mean 0.9 s, uniform on [0.45, 1.35] s; 0 for
none), so that 300 persons offer about 330 answers/s (see benchmarks/README.md, "The service under load").
PostgreSQL: a throw-away cluster from Debian's binaries (as the postgres user when run as root), or the database
named by ``--pg-url``. Besides the load-test report it measures the CPU time of phase 1 (invitations, answers,
results) per acknowledged answer of the server (all its worker processes), of the PostgreSQL cluster and of the load
generator, from /proc. Writes the report to ``benchmarks/results/service-<backend>-<workers>w.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from local_server import free_port, wait_until_healthy  # beside this script

from digiskill.service.loadtest import run_loadtest
from digiskill.service.tokens import create_token

HERE = Path(__file__).resolve().parent
DIGISKILL = Path(sys.executable).with_name("digiskill")


def process_tree_cpu(*roots: int) -> float:
    """CPU seconds (user + system) of the processes ``roots`` and all their descendants, from /proc."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    keep, total = set(roots), 0
    for pid in sorted(parent):
        chain, p = [], pid
        while p > 1 and p not in keep and p in parent:
            chain.append(p)
            p = parent[p]
        if p in keep:
            keep.update(chain)
    total = sum(ticks.get(pid, 0) for pid in keep)
    return total / os.sysconf("SC_CLK_TCK")


def postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def start_postgres(tmp: Path) -> tuple[str, list[str], Path]:
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(tmp, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = tmp / "data", free_port()
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "-o", opts, "start"],
        check=True,
        capture_output=True,
    )
    return (
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
        data,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--think-seconds", type=float, default=0.9, help="mean pause before each answer (0: none)")
    ap.add_argument("--pg-url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="digiskill-bench-"))
    stop_pg = None
    pg_data = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    elif args.pg_url:
        url = args.pg_url
    else:
        url, stop_pg, pg_data = start_postgres(tmp)
    token = create_token(url, "system")
    port = free_port()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [str(DIGISKILL), "serve", "--database-url", url, "--port", str(port), "--workers", str(args.workers)],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, base, tmp / "server.log", 300)
        load = os.getloadavg()
        pg = [postmaster_pid(pg_data)] if pg_data is not None else []
        cpu: dict[str, tuple[float, float]] = {}

        def on_phase(name: str) -> None:
            cpu[name] = (process_tree_cpu(server.pid), process_tree_cpu(*pg) if pg else 0.0)

        report = run_loadtest(
            base,
            token,
            args.n,
            concurrency=args.concurrency,
            seed=args.seed,
            think_seconds=args.think_seconds,
            on_phase=on_phase,
        )
    finally:
        server.terminate()
        server.wait(60)
        if stop_pg:
            subprocess.run(stop_pg, capture_output=True)
        log.close()
        server_log = (tmp / "server.log").read_text(errors="replace")
        shutil.rmtree(tmp, ignore_errors=True)
    out = HERE / "results" / f"service-{args.backend}-{args.workers}w.json"
    out.parent.mkdir(exist_ok=True)
    answers = max(report.answers, 1)
    server_ms = 1e3 * (cpu["credentials"][0] - cpu["load"][0]) / answers
    pg_ms = 1e3 * (cpu["credentials"][1] - cpu["load"][1]) / answers
    document = json.loads(report.model_dump_json(exclude={"sessions"}))
    document["benchmark"] = {
        "backend": args.backend,
        "workers": args.workers,
        "load_average_at_start": round(load[0], 2),
        "server_cpu_ms_per_answer": round(server_ms, 3),
        "postgresql_cpu_ms_per_answer": round(pg_ms, 3) if pg_data is not None else None,
        "generator_cpu_ms_per_answer": report.client_cpu_ms_per_answer,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    a = report.endpoints["answer"]
    print(
        f"{args.backend}, {args.workers} worker(s), n={args.n}, concurrency={args.concurrency}, think "
        f"{args.think_seconds:g} s, load average at start {load[0]:.1f}: {report.completed}/{report.n} tests, "
        f"{report.answers} answers in {report.duration_s:.1f} s = {report.answers_per_s:.0f} answers/s; answer p50 "
        f"{a.p50_ms:.1f} ms, p95 {a.p95_ms:.1f} ms, p99 {a.p99_ms:.1f} ms; errors {report.errors}; credentials "
        f"verified {report.credentials_verified}; key leaks {report.key_leaks}"
    )
    if report.steady is not None and report.steady.answer is not None:
        st = report.steady
        print(
            f"steady window (all {args.concurrency} persons testing): {st.window_s:.1f} s, {st.answers} answers = "
            f"{st.answers_per_s:.0f} answers/s; answer p50 {st.answer.p50_ms:.1f} ms, p95 {st.answer.p95_ms:.1f} ms, "
            f"p99 {st.answer.p99_ms:.1f} ms"
        )
    if report.errors:  # what the server logged about them (the log is deleted with the temporary folder)
        logged = [line for line in server_log.splitlines() if "error" in line.lower() or "Error" in line]
        print("server log, error lines:", *logged[-20:], sep="\n  ")
    print(
        f"CPU per answer in phase 1: server {server_ms:.2f} ms"
        + (f", PostgreSQL {pg_ms:.2f} ms" if pg_data is not None else "")
        + f", load generator {report.client_cpu_ms_per_answer:.2f} ms"
    )


if __name__ == "__main__":
    main()
