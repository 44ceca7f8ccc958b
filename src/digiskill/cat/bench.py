"""Time one adaptive step (choose the next item + update the estimate) on a large synthetic bank.

Run ``python -m digiskill.cat.bench [--items 10000] [--answered 20] [--rule mfi] [--repeat 2000]``. The step timed is
:func:`digiskill.cat.select.choose`: Kingsbury–Zara area choice, the area's estimate from its answers (EAP on the
precomputed grid), the criterion over every item of the bank, the argmax and the candidate log. Building the bank
(once per parameter set) is not timed.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np

from ..bank.parameters import DichotomousItem, ParameterSet
from .arrays import CatBank
from .config import RULES, CatConfig, SelectionRule, StoppingRules
from .select import History, choose


def synthetic_bank(n_items: int, seed: int = 1) -> ParameterSet:
    """A 2PL bank: a ~ lognormal(0, 0.25), b ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    a = np.exp(rng.normal(0.0, 0.25, n_items))
    b = rng.normal(0.0, 1.0, n_items)
    items = [DichotomousItem(id=f"I{j:05d}", model="2pl", a=float(a[j]), b=float(b[j])) for j in range(n_items)]
    return ParameterSet(id=f"synthetic-{n_items}", created=datetime.now(UTC), engine="bench", items=items)


def time_step(bank: CatBank, n_answered: int, repeat: int, seed: int = 2) -> tuple[float, float]:
    """Median and 90th percentile seconds of one :func:`choose` call after ``n_answered`` random answers."""
    rng = np.random.default_rng(seed)
    items = rng.choice(len(bank.ids), n_answered, replace=False)
    history = History.of(items, rng.integers(0, 2, n_answered))
    areas = list(bank.area_names)
    none = np.zeros(0, dtype=np.int64)
    times = np.empty(repeat)
    for r in range(repeat):
        t0 = time.perf_counter()
        choose(bank, areas, history, [], none, 0, n_answered)
        times[r] = time.perf_counter() - t0
    return float(np.median(times)), float(np.quantile(times, 0.9))


def time_session(params: ParameterSet, n_items: int = 30, seed: int = 3) -> tuple[float, float, float]:
    """Median seconds of :func:`next_item`, :func:`answer` and a JSON round trip over one MFI session."""
    from .session import Session, answer, next_item, start_session

    cfg = CatConfig(stopping=StoppingRules(se_target=None, max_items_per_area=n_items))
    bank = CatBank.from_parameters(params, cfg)
    s = start_session(bank, seed=seed)
    rng = np.random.default_rng(seed)
    t_next, t_answer, t_json = [], [], []
    while True:
        t0 = time.perf_counter()
        item = next_item(s, bank)
        t1 = time.perf_counter()
        if item is None:
            break
        s = answer(s, bank, item, int(rng.random() < 0.5))
        t2 = time.perf_counter()
        s = Session.model_validate_json(s.model_dump_json())
        t_next.append(t1 - t0)
        t_answer.append(t2 - t1)
        t_json.append(time.perf_counter() - t2)
    return float(np.median(t_next)), float(np.median(t_answer)), float(np.median(t_json))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--answered", type=int, default=20)
    ap.add_argument("--rule", choices=[*RULES, "all"], default="all")
    ap.add_argument("--repeat", type=int, default=1000)
    args = ap.parse_args(argv)
    params = synthetic_bank(args.items)
    rules = [r for r in RULES if r != "cut_info"] + ["cut_info"] if args.rule == "all" else [args.rule]
    for rule in rules:
        cfg = CatConfig(
            selection=SelectionRule(rule=rule),
            stopping=StoppingRules(max_items_per_area=30),
            cut_score=0.0 if rule == "cut_info" else None,
        )
        bank = CatBank.from_parameters(params, cfg)
        med, p90 = time_step(bank, args.answered, args.repeat)
        label = f"{rule:9s} {args.items} items, {args.answered} answered"
        print(f"{label}: median {med * 1e3:.3f} ms, p90 {p90 * 1e3:.3f} ms")
    t_next, t_answer, t_json = time_session(params)
    print(
        f"session (mfi, 30 items): next_item {t_next * 1e3:.3f} ms, answer {t_answer * 1e3:.3f} ms, "
        f"JSON round trip {t_json * 1e3:.3f} ms (medians)"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
