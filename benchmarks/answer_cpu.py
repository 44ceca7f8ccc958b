"""The machine's speed at the moment, as the service sees it: CPU per answer of the service's own steps in-process.

A fresh SQLite service (`build_service`), 20 invitations on the default test, every test answered to its end through
`by_code` and `record_answer` (first option of every item; no HTTP, no load generator). The load benchmarks
(`service_load.py`, `web_pages.py`) name this figure beside each run, because this machine's speed varies several-fold
through the night and a latency is only comparable between runs taken in the same phase.

    .venv/bin/python benchmarks/answer_cpu.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from digiskill.service.assessments import by_code, create_invitation, record_answer
from digiskill.service.context import build_service
from digiskill.service.settings import Settings

TESTS = 20


def first_option(item) -> str | list[str]:
    if item.format == "ordering":
        return [o.id for o in item.options]
    first = item.options[0].id
    return [first] if item.format == "multiple_response" else first


def main() -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='digiskill-answer-cpu-')) / 'x.db'}"
    svc = build_service(Settings(database_url=url))
    active = [create_invitation(svc, "bench", "system", f"P{i}", None, None, "da")[1] for i in range(TESTS)]
    n, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
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
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"{n} answers: CPU {1e3 * cpu / n:.2f} ms per answer, wall {1e3 * wall / n:.2f} ms per answer")


if __name__ == "__main__":
    main()
