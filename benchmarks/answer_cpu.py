"""The machine's speed at the moment, as the service sees it: CPU per answer of the service's own steps in-process.

A fresh SQLite service (`build_service`), 20 invitations on the default test, every test answered to its end through
`by_code` and `record_answer` (first option of every item; no HTTP, no load generator), after one whole test that is
not timed. The load benchmarks
(`service_load.py`, `web_pages.py`) name this figure beside each run, because this machine's speed varies several-fold
through the night and a latency is only comparable between runs taken in the same phase. ``--config FILE`` gives the
invitations another test, as ``digiskill serve --config`` does (e.g. the multidimensional one).

    .venv/bin/python benchmarks/answer_cpu.py
    .venv/bin/python benchmarks/answer_cpu.py --config examples/multidim/joint.yaml
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from digiskill.service.assessments import by_code, create_invitation, record_answer
from digiskill.service.context import build_service, load_test_config
from digiskill.service.settings import Settings

TESTS = 20


def first_option(item) -> str | list[str]:
    if item.format == "ordering":
        return [o.id for o in item.options]
    first = item.options[0].id
    return [first] if item.format == "multiple_response" else first


def answer_all(svc, persons: list[str]) -> int:
    """Invite ``persons`` and answer their tests to the end, round-robin; the number of answers."""
    active = [create_invitation(svc, "bench", "system", person, None, None, "da")[1] for person in persons]
    n = 0
    while active:
        still = []
        for code in active:
            row = by_code(svc, code, "bench")
            done = record_answer(
                svc, row.id, row.n_steps + 1, row.current_item, first_option(svc.items[row.current_item]), row
            )
            n += 1
            if not done.outcome["finished"]:
                still.append(code)
        active = still
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--config", type=Path, help="the test of the invitations (default: the standard test)")
    args = ap.parse_args()
    config = None if args.config is None else load_test_config(args.config)
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='digiskill-answer-cpu-')) / 'x.db'}"
    svc = build_service(Settings(database_url=url, cat_config=config))
    answer_all(svc, ["warm-up"])  # one whole test first: what a running service has loaded (e.g. scipy.stats)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    n = answer_all(svc, [f"P{i}" for i in range(TESTS)])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"{n} answers: CPU {1e3 * cpu / n:.2f} ms per answer, wall {1e3 * wall / n:.2f} ms per answer")


if __name__ == "__main__":
    main()
