"""Side-by-side 2PL calibration: digiskill, girth, theta-irt and the PyPI ``mirt`` package on the same data.

Run (after ``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/compare_calibration.py                      # 100,000 x 100; girth on 10,000 persons
    .venv/bin/python benchmarks/compare_calibration.py --n 20000 --girth-n 2000
    .venv/bin/python benchmarks/compare_calibration.py --engines digiskill,mirt

Design:

* bank: 2PL, a ~ lognormal(0, 0.3), b ~ N(0, 1), seed 20261128 (the ``bank_2pl_100`` fixture of ``conftest.py``);
  responses from θ ~ N(0, 1), complete, int16 codes, seed 3 (the data of ``test_bench_calibrate.py`` when
  ``--n 100000 --items 100``). With other ``--items`` the bank is drawn the same way with that many items.
* every engine fits a 2PL by marginal maximum likelihood (EM) with 61 quadrature points and its own default
  convergence test; no standard errors:

  - digiskill ``calibrate(codes, "2pl", se="none")``: 61 equally spaced points on [-6, 6], SQUAREM.
  - girth ``twopl_mml(codes.T, {"quadrature_n": 61, "quadrature_bounds": (-6, 6)})``: Gauss-Legendre points on
    [-6, 6], its default of at most 25 cycles, slopes bounded to [0.2, 5]. It does not report its iterations.
  - theta-irt ``theta.fit(x, "2PL", n_points=61)`` (float input, NaN missing): Gauss-Hermite nodes, the whole EM
    loop JIT-compiled by JAX. The first call compiles; a second call on the same shapes is timed as "warm".
  - mirt (PyPI) ``fit_mirt(codes, "2PL", n_quadpts=61, compute_standard_errors=False)``: Gauss-Hermite nodes, its
    Rust 2PL fast path, no acceleration (its default).

* the log-likelihood is evaluated the same way for everyone: each engine's a and b go into a digiskill
  ``ItemArrays`` and the marginal log-likelihood of the data the engine was fitted on is computed on 61 equally
  spaced points on [-6, 6] with normalised N(0, 1) weights (R mirt's default grid, digiskill's ``Quadrature.normal``)
  by ``loglik_matrix`` + ``logsumexp``. The engines' own log-likelihoods (on their own grids) are shown beside it.
* parameter RMSE is against the generating a and b.
* an engine too slow for the full data (girth by default) runs on the first ``--girth-n`` persons; digiskill is then
  also run on that subset so that the rows compare like with like. Nothing is extrapolated.

Wall times are single runs in one process (``time.perf_counter`` around the fitting call only; data conversion to
each engine's input format is not timed). digiskill runs once on a small data set first to warm up.

Whole-process times (``--whole-process``, issue 16): the same responses are written once to a CSV (person column,
then one column per item) and every engine runs as a fresh ``python`` process that imports it, reads that CSV and
fits, which is what a user waits for. digiskill runs as the ``digiskill calibrate FILE --se none --fit none``
command (and once more with its default S-X2 item fit); the peers read the CSV with pyarrow (the fastest reader
available to them here) and call the same fitting function as above. The table shows the whole-process wall time
(median of ``--runs``) beside the in-process fitting time of the same engine. Start-up, imports, JIT compilation
and reading are all inside the whole-process figure.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from digiskill.calibrate import calibrate
from digiskill.irt import ItemArrays, Quadrature, log_probability, loglik_matrix, probability

BANK_SEED, DATA_SEED = 20261128, 3
ENGINES = ("digiskill", "girth", "theta-irt", "mirt")


def make_bank(n_items: int) -> ItemArrays:
    rng = np.random.default_rng(BANK_SEED)
    return ItemArrays.dichotomous(rng.lognormal(0, 0.3, n_items), rng.normal(0, 1, n_items))


def simulate(bank: ItemArrays, n: int, seed: int = DATA_SEED, block: int = 100_000) -> np.ndarray:
    """Complete int16 responses, drawn exactly as ``conftest.simulate_codes(bank, n, missing=0.0, seed)``."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, bank.n_items), dtype=np.int16)
    for start in range(0, n, block):
        m = min(block, n - start)
        p1 = probability(rng.normal(size=m), bank)[..., 1]
        x = (rng.random(p1.shape) < p1).astype(np.int16)
        x[rng.random(p1.shape) < 0.0] = -1  # keeps the random stream identical to simulate_codes
        out[start : start + m] = x
    return out


def marginal_loglik(codes: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 20_000) -> float:
    """Marginal log-likelihood on 61 equally spaced points on [-6, 6] with N(0, 1) weights (one grid for all)."""
    quad = Quadrature.normal()
    logp = log_probability(quad.points, ItemArrays.dichotomous(a, b))  # (Q, J, 2)
    total = 0.0
    for start in range(0, codes.shape[0], chunk):
        ll = loglik_matrix(codes[start : start + chunk], logp) + quad.log_weights
        total += float(logsumexp(ll, axis=1).sum())
    return total


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


@dataclass
class Fit:
    a: np.ndarray
    b: np.ndarray
    iterations: int | None
    own_loglik: float | None
    note: str = ""


@dataclass
class Row:
    engine: str
    version: str
    n: int
    wall: float | None
    fit: Fit | None = None
    loglik: float | None = None
    rmse_a: float | None = None
    rmse_b: float | None = None
    note: str = ""


# ------------------------------------------------------------------------------------------------ engines
def fit_digiskill(codes: np.ndarray) -> Fit:
    res = calibrate(codes, "2pl", se="none")
    note = "" if res.converged else "NOT converged"
    return Fit(res.params.a, res.params.b[:, 0], res.iterations, res.loglik, note)


def fit_girth(codes: np.ndarray) -> Fit:
    from girth import twopl_mml

    res = twopl_mml(codes.T.astype(int), {"quadrature_n": 61, "quadrature_bounds": (-6.0, 6.0)})
    return Fit(np.asarray(res["Discrimination"], float), np.asarray(res["Difficulty"], float), None, None)


def fit_theta(x: np.ndarray) -> Fit:
    import theta

    res = theta.fit(x, "2PL", n_points=61)
    note = "" if res.converged else "NOT converged"
    return Fit(np.asarray(res.a), np.asarray(res.b), int(res.n_iter), float(res.loglik), note)


def fit_mirt(codes: np.ndarray) -> Fit:
    from mirt import fit_mirt as mirt_fit

    res = mirt_fit(codes, "2PL", n_quadpts=61, compute_standard_errors=False)
    params = res.model.parameters
    note = "" if res.converged else "NOT converged"
    return Fit(
        np.asarray(params["discrimination"], float).reshape(-1),
        np.asarray(params["difficulty"], float).reshape(-1),
        int(res.n_iterations),
        float(res.log_likelihood),
        note,
    )


def _timed(fn: Callable[[np.ndarray], Fit], data: np.ndarray) -> tuple[float, Fit]:
    t0 = time.perf_counter()
    fit = fn(data)
    return time.perf_counter() - t0, fit


def run_engine(engine: str, codes: np.ndarray, bank: ItemArrays, label: str = "", note: str = "") -> list[Row]:
    dist = {"digiskill": "digiskill", "girth": "girth", "theta-irt": "theta-irt", "mirt": "mirt"}[engine]
    ver = _version(dist)
    name = label or engine
    print(f"  {name}: {codes.shape[0]:,} x {codes.shape[1]} ...", flush=True)
    runs: list[tuple[str, float, Fit]] = []
    try:
        if engine == "digiskill":
            runs.append(("", *_timed(fit_digiskill, codes)))
        elif engine == "girth":
            runs.append(("", *_timed(fit_girth, codes)))
        elif engine == "theta-irt":
            x = codes.astype(np.float64)
            x[codes < 0] = np.nan
            runs.append(("first call, incl. JIT compilation", *_timed(fit_theta, x)))
            runs.append(("second call (warm)", *_timed(fit_theta, x)))
        else:
            runs.append(("", *_timed(fit_mirt, codes)))
    except Exception as err:  # a peer failing is a result to report, not a crash
        return [Row(name, ver, codes.shape[0], None, note=f"failed: {type(err).__name__}: {err}"[:200])]
    rows = []
    for run_note, wall, fit in runs:
        rows.append(
            Row(
                name,
                ver,
                codes.shape[0],
                wall,
                fit,
                marginal_loglik(codes, fit.a, fit.b),
                float(np.sqrt(np.mean((fit.a - bank.a) ** 2))),
                float(np.sqrt(np.mean((fit.b - bank.b[:, 0]) ** 2))),
                "; ".join(s for s in (note, run_note, fit.note) if s),
            )
        )
        print(f"    {wall:.2f} s", flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ output
def _seconds(t: float) -> str:
    return f"{t / 60:.1f} min ({t:,.0f} s)" if t >= 60 else f"{t:.2f} s"


def table(rows: list[Row], reference: dict[int, float]) -> str:
    head = (
        "| engine | version | persons | wall time | iterations | log-lik. (common grid) | Δ vs digiskill, same data "
        "| own log-lik. | RMSE a | RMSE b | notes |"
    )
    lines = [head, "|" + " --- |" * head.count(" | ") + " --- |"]
    for r in rows:
        if r.fit is None or r.loglik is None:
            cells = [r.engine, r.version, f"{r.n:,}", "", "", "", "", "", "", "", r.note]
        else:
            ref = reference.get(r.n)
            delta = "" if ref is None else f"{r.loglik - ref:+.3f}"
            cells = [
                r.engine,
                r.version,
                f"{r.n:,}",
                "" if r.wall is None else _seconds(r.wall),
                "n/a" if r.fit.iterations is None else str(r.fit.iterations),
                f"{r.loglik:,.3f}",
                delta,
                "n/a" if r.fit.own_loglik is None else f"{r.fit.own_loglik:,.3f}",
                f"{r.rmse_a:.4f}",
                f"{r.rmse_b:.4f}",
                r.note,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PEER_SCRIPT = """
import sys, numpy as np, pyarrow.csv as pacsv
sys.path.insert(0, {bench!r})
from compare_calibration import fit_girth, fit_mirt, fit_theta
t = pacsv.read_csv({csv!r})
codes = np.column_stack([t.column(i).to_numpy() for i in range(1, t.num_columns)]).astype(np.int16)
if {engine!r} == "theta-irt":
    fit_theta(codes.astype(np.float64))
elif {engine!r} == "mirt":
    fit_mirt(codes)
else:
    fit_girth(codes)
"""


def write_csv(codes: np.ndarray, path: Path) -> None:
    with path.open("w") as fh:
        fh.write("person," + ",".join(f"i{j:03d}" for j in range(codes.shape[1])) + "\n")
        for n, row in enumerate(codes.astype(str).tolist()):  # data preparation, not timed
            fh.write(f"P{n + 1}," + ",".join(row) + "\n")


def whole_process(engines: list[str], codes: np.ndarray, runs: int, girth_n: int, workdir: Path) -> str:
    """Median whole-process wall time per engine (fresh process: start-up, imports, reading the CSV, fitting)."""
    full, sub = workdir / "responses.csv", workdir / "responses-girth.csv"
    write_csv(codes, full)
    if "girth" in engines and girth_n < codes.shape[0]:
        write_csv(codes[:girth_n], sub)
    digiskill = str(Path(sys.executable).parent / "digiskill")
    jobs: list[tuple[str, int, list[str]]] = []
    for engine in engines:
        if engine == "digiskill":
            base = [digiskill, "calibrate", str(full), "--out", str(workdir / "p.json"), "--se", "none"]
            jobs.append(("digiskill calibrate --fit none", codes.shape[0], [*base, "--fit", "none"]))
            jobs.append(("digiskill calibrate (default: S-X2 item fit)", codes.shape[0], base))
        else:
            path = sub if engine == "girth" and girth_n < codes.shape[0] else full
            n = girth_n if path == sub else codes.shape[0]
            script = PEER_SCRIPT.format(bench=str(Path(__file__).parent), csv=str(path), engine=engine)
            jobs.append((engine, n, [sys.executable, "-c", script]))
    lines = ["| engine | persons | whole process (median) | runs |", "| --- | --- | --- | --- |"]
    for name, n, cmd in jobs:
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                walls = []
                lines.append(f"| {name} | {n:,} | failed: {proc.stderr.strip().splitlines()[-1][:120]} | |")
                break
        if walls:
            lines.append(f"| {name} | {n:,} | {_seconds(statistics.median(walls))} | {runs} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="persons (default 100,000)")
    ap.add_argument("--items", type=int, default=100, help="items (default 100)")
    ap.add_argument(
        "--girth-n",
        type=int,
        default=10_000,
        help="persons for girth, which is too slow for the full data (default 10,000; 0 = all)",
    )
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated subset of {', '.join(ENGINES)}")
    ap.add_argument("--whole-process", action="store_true", help="also time each engine as a fresh process")
    ap.add_argument("--runs", type=int, default=3, help="whole-process runs per engine (median; default 3)")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engine(s): {', '.join(sorted(unknown))}")

    bank = make_bank(args.items)
    t0 = time.perf_counter()
    codes = simulate(bank, args.n)
    print(
        f"data: {args.n:,} persons x {args.items} items, complete, seeds {BANK_SEED}/{DATA_SEED} "
        f"({time.perf_counter() - t0:.1f} s, not timed)"
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    calibrate(simulate(bank, 2_000, seed=99), "2pl", se="none")  # warm-up (imports, BLAS threads)

    rows: list[Row] = []
    girth_n = args.n if args.girth_n <= 0 else min(args.girth_n, args.n)
    for engine in engines:
        if engine == "girth" and girth_n < args.n:
            sub = codes[:girth_n]
            note = f"first {girth_n:,} persons only (too slow for {args.n:,}); not extrapolated"
            if "digiskill" in engines:
                rows += run_engine("digiskill", sub, bank, label="digiskill (girth's subset)")
            rows += run_engine("girth", sub, bank, note=note)
        else:
            rows += run_engine(engine, codes, bank)

    reference = {r.n: r.loglik for r in rows if r.engine.startswith("digiskill") and r.loglik is not None}
    print()
    print(table(rows, reference))
    if args.whole_process:
        print()
        with tempfile.TemporaryDirectory() as tmp:
            print(whole_process(engines, codes, args.runs, girth_n, Path(tmp)))


if __name__ == "__main__":
    main()
