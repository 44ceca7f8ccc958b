"""Side-by-side CAT simulation: digiskill, catsim and adaptivetesting on the same bank and the same true θ.

Run (after ``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/compare_cat.py                 # 1,000 simulees, 500 items, 40 for adaptivetesting
    .venv/bin/python benchmarks/compare_cat.py --n-slow 20     # fewer adaptivetesting simulees

Design, as close as each API allows:

* bank: 500 2PL items, a ~ lognormal(0, 0.25), b ~ N(0, 1) (:func:`digiskill.cat.bench.synthetic_bank`, seed 31);
  true θ ~ N(0, 1) (seed 32), the same array for every engine; first item chosen at θ = 0; maximum Fisher
  information; stop when SE <= 0.3 or after 30 items.
* digiskill: :func:`digiskill.cat.simulate.simulate` on a prepared bank, EAP (61 points on [-6, 6], N(0, 1) prior;
  SE = posterior SD), all simulees in lockstep. Responses: one complete response matrix drawn from the true θ before
  timing (seed 33).
* catsim: ``Simulator`` with ``FixedPointInitializer(0)``, ``MaxInfoSelector()``, ``NumericalSearchEstimator()``
  (its only estimator: maximum likelihood by bounded Brent search, Dodd's heuristic while all answers are right or
  all wrong; it has no EAP) and ``MinErrorStopper(0.3, max_items=30)`` (SE = 1/sqrt(test information at θ̂), stops
  when SE < 0.3). Responses: catsim draws them itself while testing (its simulator takes no response matrix), from
  the same true θ with its own generator (seed 34).
* adaptivetesting: ``TestAssembler`` with ``ExpectedAPosteriori`` (N(0, 1) prior, 1,000-point trapezoid on
  [-10, 10]) and ``maximum_information_criterion``, run by ``Simulation.simulate([SE, LENGTH], [0.3, 30])``, one
  simulee at a time, results not saved. Responses: the first ``--n-slow`` rows of digiskill's response matrix (the
  same answers digiskill's simulees give). It is slow, so it runs on ``--n-slow`` simulees and the time for all
  simulees is an extrapolation (per-simulee time × N), labelled as such.

Wall times are single runs in one process (digiskill's after a small warm-up run); bank preparation is not timed for
any engine. Accuracy (RMSE, bias against the true θ) of engines run on different numbers of simulees is not directly
comparable; digiskill's figures on the adaptivetesting subset are printed as an extra row.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np

from digiskill.cat import CatBank, CatConfig, StartRule, StoppingRules
from digiskill.cat.bench import synthetic_bank
from digiskill.cat.simulate import generate_responses, simulate

SE_TARGET, MAX_ITEMS = 0.3, 30


def _seconds(t: float) -> str:
    if t >= 60:
        return f"{t / 60:.1f} min ({t:,.0f} s)"
    return f"{t:.2f} s" if t >= 1 else f"{t * 1e3:.3g} ms"


@dataclass
class Row:
    engine: str
    version: str
    n: int
    wall: float | None
    length: np.ndarray | None = None
    error: np.ndarray | None = None
    note: str = ""

    def cells(self) -> list[str]:
        per = "" if self.wall is None else _seconds(self.wall / self.n)
        wall = "" if self.wall is None else _seconds(self.wall)
        if self.length is None or self.error is None:
            return [self.engine, self.version, f"{self.n:,}", wall, per, "", "", "", self.note]
        rmse = float(np.sqrt(np.mean(self.error**2)))
        return [
            self.engine,
            self.version,
            f"{self.n:,}",
            wall,
            per,
            f"{self.length.mean():.2f}",
            f"{rmse:.3f}",
            f"{self.error.mean():+.3f}",
            self.note,
        ]


def run_digiskill(bank: CatBank, theta: np.ndarray, codes: np.ndarray) -> tuple[Row, np.ndarray, np.ndarray]:
    simulate(bank, theta=theta[:20], responses=codes[:20], seed=0)  # warm-up (imports, first numpy calls)
    t0 = time.perf_counter()
    sim = simulate(bank, theta=theta, responses=codes, seed=0)
    wall = time.perf_counter() - t0
    run = sim.runs[0]
    err = run.theta - theta
    row = Row("digiskill", version("digiskill"), theta.size, wall, run.length.astype(float), err, "EAP, lockstep")
    return row, run.length.astype(float), err


def run_catsim(a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> Row:
    from catsim.estimation import NumericalSearchEstimator
    from catsim.initialization import FixedPointInitializer
    from catsim.item_bank import ItemBank
    from catsim.selection import MaxInfoSelector
    from catsim.simulation import Simulator
    from catsim.stopping import MinErrorStopper

    items = ItemBank(np.column_stack([a, b, np.zeros_like(a), np.ones_like(a)]))
    sim = Simulator(items, theta, seed=34)
    t0 = time.perf_counter()
    sim.simulate(
        FixedPointInitializer(0.0),
        MaxInfoSelector(),
        NumericalSearchEstimator(),
        MinErrorStopper(SE_TARGET, max_items=MAX_ITEMS),
    )
    wall = time.perf_counter() - t0
    length = np.array([len(x) for x in sim.administered_items], dtype=float)
    err = np.asarray(sim.latest_estimations, dtype=float) - theta
    return Row("catsim", version("catsim"), theta.size, wall, length, err, "ML (Brent) + Dodd, own responses")


def run_adaptivetesting(a: np.ndarray, b: np.ndarray, theta: np.ndarray, codes: np.ndarray) -> Row:
    from adaptivetesting.implementations import TestAssembler
    from adaptivetesting.math.estimators import ExpectedAPosteriori, NormalPrior
    from adaptivetesting.models import ItemPool, ResultOutputFormat, StoppingCriterion
    from adaptivetesting.simulation import Simulation

    a_list, b_list = a.tolist(), b.tolist()
    zeros, ones = [0.0] * a.size, [1.0] * a.size
    lengths, estimates, wall = [], [], 0.0
    for i, th in enumerate(theta):
        pool = ItemPool.load_from_list(b=b_list, a=a_list, c=zeros, d=ones, simulated_responses=codes[i].tolist())
        test = TestAssembler(
            item_pool=pool,
            simulation_id="compare",
            participant_id=str(i),
            ability_estimator=ExpectedAPosteriori,
            estimator_args={"prior": NormalPrior(0.0, 1.0), "optimization_interval": (-10, 10)},
            true_ability_level=float(th),
            initial_ability_level=0.0,
            simulation=True,
        )
        t0 = time.perf_counter()
        Simulation(test, ResultOutputFormat.CSV).simulate(
            criterion=[StoppingCriterion.SE, StoppingCriterion.LENGTH], value=[SE_TARGET, MAX_ITEMS]
        )
        wall += time.perf_counter() - t0
        lengths.append(len(test.answered_items))
        estimates.append(float(test.ability_level))
    err = np.asarray(estimates) - theta
    return Row(
        "adaptivetesting",
        version("adaptivetesting"),
        theta.size,
        wall,
        np.asarray(lengths, dtype=float),
        err,
        "EAP (1,000-point trapezoid), same responses as digiskill",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="simulees for digiskill and catsim")
    ap.add_argument("--n-slow", type=int, default=40, help="simulees for adaptivetesting (0 to skip)")
    ap.add_argument("--items", type=int, default=500)
    args = ap.parse_args(argv)

    params = synthetic_bank(args.items, seed=31)
    arrays = params.to_arrays()
    a, b = np.asarray(arrays.a, dtype=float), np.asarray(arrays.b[:, 0], dtype=float)
    cfg = CatConfig(
        start=StartRule(theta=0.0),
        stopping=StoppingRules(se_target=SE_TARGET, min_items_per_area=0, max_items_per_area=MAX_ITEMS),
    )
    bank = CatBank.from_parameters(params, cfg)
    theta = np.random.default_rng(32).normal(size=args.n)
    codes = generate_responses(bank, theta, np.random.default_rng(33))

    rows = []
    ds_row, ds_len, ds_err = run_digiskill(bank, theta, codes)
    rows.append(ds_row)
    rows.append(run_catsim(a, b, theta))
    if args.n_slow > 0:
        k = min(args.n_slow, args.n)
        slow = run_adaptivetesting(a, b, theta[:k], codes[:k])
        rows.append(slow)
        assert slow.wall is not None
        rows.append(
            Row(
                "adaptivetesting (extrapolated)",
                slow.version,
                args.n,
                slow.wall / k * args.n,
                note=f"EXTRAPOLATED: measured per-simulee time on {k} simulees × {args.n:,}; not run",
            )
        )
        rows.append(
            Row(
                f"digiskill (first {k} simulees)",
                ds_row.version,
                k,
                None,
                ds_len[:k],
                ds_err[:k],
                "same run as row 1, restricted to adaptivetesting's simulees",
            )
        )

    print(
        f"Bank: {args.items} 2PL items (a ~ lognormal(0, 0.25), b ~ N(0, 1), seed 31); true θ ~ N(0, 1), seed 32; "
        f"MFI, start θ = 0, stop at SE <= {SE_TARGET} or {MAX_ITEMS} items.\n"
    )
    head = ["engine", "version", "simulees", "wall time", "time per simulee", "mean length", "RMSE", "bias", "notes"]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


if __name__ == "__main__":
    main()
