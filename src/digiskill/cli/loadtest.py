"""``digiskill loadtest``: simulated persons take complete tests against a running service (loopback only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .common import fail_on_bad_input, progress_bar


def loadtest_command(
    url: Annotated[str, typer.Option("--url", help="the service, e.g. http://127.0.0.1:8000 (loopback only)")],
    token: Annotated[str, typer.Option("--token", envvar="DIGISKILL_TOKEN", help="a system/caseworker/admin token")],
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="tests to take")] = 100,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1000, help="persons at once")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="seed of the simulated abilities and answers")] = 0,
    areas: Annotated[str | None, typer.Option("--areas", help="comma-separated areas (default: all)")] = None,
    retry_seconds: Annotated[
        float, typer.Option("--retry-seconds", min=0, help="resend a request that failed in transport for this long")
    ] = 0.0,
    think_seconds: Annotated[
        float,
        typer.Option(
            "--think-seconds",
            min=0,
            max=60,
            help="mean pause of each person before an answer (uniform on [m/2, 3m/2], seeded); 0: none, every person "
            "answers the moment the last answer is acknowledged",
        ),
    ] = 0.0,
    out: Annotated[Path | None, typer.Option("--out", help="write the full report (JSON) here")] = None,
) -> None:
    """Take N tests through the HTTP API, verify every credential, report throughput, latency, errors and leaks.

    Exit 0 when every test finished with 0 errors, 0 leaks and every credential verified; 1 otherwise.
    """
    from ..fileio import atomic_write_text, check_output_paths
    from ..service.loadtest import run_loadtest

    chosen = [a.strip() for a in areas.split(",") if a.strip()] if areas else None
    try:
        check_output_paths({"--out": out})  # before the tests are taken
        with progress_bar("tests", n) as advance:
            report = run_loadtest(
                url,
                token,
                n,
                concurrency=concurrency,
                seed=seed,
                areas=chosen,
                retry_seconds=retry_seconds,
                think_seconds=think_seconds,
                progress=advance,
            )
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if out is not None:
        atomic_write_text(out, report.model_dump_json(indent=2) + "\n")
    typer.echo(
        f"{report.completed}/{report.n} tests finished, {report.answers} answers in {report.duration_s:.1f} s "
        f"({report.answers_per_s:.0f} answers/s), {report.errors} errors, {report.retries} retries, "
        f"{report.credentials_verified} credentials verified ({report.credentials_invalid} invalid), "
        f"{report.key_leaks} key leaks"
    )
    if report.steady is not None:
        typer.echo(
            f"  steady window ({report.concurrency} persons at once): {report.steady.answers} answers in "
            f"{report.steady.window_s:.1f} s ({report.steady.answers_per_s:.0f} answers/s); load generator CPU "
            f"{report.client_cpu_ms_per_answer:.2f} ms per answer"
        )
    for name, st in report.endpoints.items():
        typer.echo(
            f"  {name:<11} n={st.count:<6} p50 {st.p50_ms:7.1f} ms  p95 {st.p95_ms:7.1f} ms  p99 {st.p99_ms:7.1f} ms"
        )
    ok = (
        report.completed == report.n
        and report.errors == 0
        and report.key_leaks == 0
        and report.credentials_verified == report.completed
        and report.credentials_invalid == 0
    )
    raise typer.Exit(0 if ok else 1)
