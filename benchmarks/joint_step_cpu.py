"""CPU per step of the multidimensional test (`examples/multidim/joint.yaml`: `dprule`, MAP, the rule choosing the area)
on the default bank: five sessions answered to their end in-process (every third answer wrong), after one warm-up
session. A step is the joint MAP update after the answer and the choice of the next item; this is what the service
spends per answer of a joint test, beside HTTP and the database.

    .venv/bin/python benchmarks/joint_step_cpu.py
"""

from __future__ import annotations

import time
from pathlib import Path

from digiskill.bank.default import load_default
from digiskill.cat import answer, next_item, start_session
from digiskill.service.context import load_test_config, prepare_test

JOINT = Path(__file__).resolve().parents[1] / "examples" / "multidim" / "joint.yaml"


def main() -> None:
    config = load_test_config(JOINT)
    bank = prepare_test(load_default(), config)

    def run(seeds) -> int:
        steps = 0
        for seed in seeds:
            session = start_session(bank, config, seed=seed)
            while (item := next_item(session, bank)) is not None:
                session = answer(session, bank, item, int(steps % 3 > 0))
                steps += 1
        return steps

    run([0])
    cpu = time.process_time()
    steps = run(range(1, 6))
    print(f"{steps} joint steps: {1e3 * (time.process_time() - cpu) / steps:.2f} ms of CPU per step")


if __name__ == "__main__":
    main()
