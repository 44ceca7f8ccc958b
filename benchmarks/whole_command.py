"""Whole-command timings (issue 16): what a user or a calling system waits for, start-up and file reading included.

Generates the data files once (fixed seeds) into ``--data`` and runs each command ``--runs`` times as a separate
process, reporting the median wall time, the median CPU time (user + system of the child, less sensitive to other
processes on a shared machine) and the peak resident memory. Run from the repository root:

    .venv/bin/python benchmarks/whole_command.py                 # everything, 5 runs each
    .venv/bin/python benchmarks/whole_command.py --only help cat_next --runs 9

Commands (the names for ``--only``):

* ``help``: ``digiskill --help``
* ``cat_next``: ``digiskill cat next`` on the default bank after three answers
* ``calibrate_100k``: ``calibrate`` 2PL, 100,000 × 100 complete, ``--se none`` (default fit: S-X2 only)
* ``calibrate_10k``: ``calibrate`` 2PL, 10,000 × 50 complete, ``--se none``
* ``calibrate_sparse_oakes``: ``calibrate`` 2PL, 4,000 × 60, 20 random items answered each, Oakes SEs (the default)
* ``fit_full_100``: ``calibrate`` 2PL, 10,000 × 100, ``--se none --fit full`` (M2 at 100 items, infit/outfit, Zh)
* ``score_cat_log``: ``score`` a CAT log of 200,000 persons × 252 items, 48 answered each (EAP)
* ``score_multidim_map``, ``score_multidim_eap``: ``score --multidimensional`` (MAP, EAP) of 5,000 persons × the
  default bank's 288 items, 2–6 random items answered in each of the six areas (about 24 each), θ ~ N(0, Σ) with the
  bank's correlation
* ``simulate_joint_eap``: ``simulate --config examples/multidim/joint.yaml`` with ``estimator: eap``, 500 simulees
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "digiskill"
DEFAULT_BANK = ROOT / "src" / "digiskill" / "data" / "default-params.json"


def _write_csv(path: Path, codes: np.ndarray, ids: list[str]) -> None:
    """Write ``codes`` (−1 = empty cell) with a person column, fast (one join per row block)."""
    tokens = np.array(["", "0", "1", "2", "3"], dtype=object)
    with path.open("w") as fh:
        fh.write("person," + ",".join(ids) + "\n")
        for lo in range(0, codes.shape[0], 20_000):
            block = tokens[codes[lo : lo + 20_000] + 1]
            fh.writelines(f"P{lo + r + 1}," + ",".join(row) + "\n" for r, row in enumerate(block.tolist()))


def _two_pl(seed: int, n: int, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.lognormal(0, 0.3, j), rng.normal(0, 1, j)
    theta = rng.normal(size=n)
    codes = np.empty((n, j), dtype=np.int8)
    for lo in range(0, n, 20_000):  # blocks of persons
        t = theta[lo : lo + 20_000, None]
        codes[lo : lo + 20_000] = rng.random((t.shape[0], j)) < 1 / (1 + np.exp(-a * (t - b)))
    return codes, a, b


def make_data(data: Path) -> dict[str, Path]:
    data.mkdir(parents=True, exist_ok=True)
    files = {
        "complete_100k": data / "complete_100k_x_100.csv",
        "complete_10k": data / "complete_10k_x_50.csv",
        "fit_10k_100": data / "complete_10k_x_100.csv",
        "sparse_4000": data / "sparse_4000_x_60.csv",
        "cat_log": data / "cat_log_200k_x_252.csv",
        "cat_params": data / "cat_params_252.json",
        "multidim": data / "multidim_5000_x_288.csv",
        "joint_eap": data / "joint_eap.yaml",
    }
    if not files["complete_100k"].exists():
        codes, _, _ = _two_pl(3, 100_000, 100)
        _write_csv(files["complete_100k"], codes, [f"i{j:03d}" for j in range(100)])
    if not files["complete_10k"].exists():
        codes, _, _ = _two_pl(4, 10_000, 50)
        _write_csv(files["complete_10k"], codes, [f"i{j:03d}" for j in range(50)])
    if not files["fit_10k_100"].exists():
        codes, _, _ = _two_pl(6, 10_000, 100)
        _write_csv(files["fit_10k_100"], codes, [f"i{j:03d}" for j in range(100)])
    if not files["sparse_4000"].exists():
        codes, _, _ = _two_pl(5, 4_000, 60)
        rng = np.random.default_rng(55)
        shown = np.argsort(rng.random(codes.shape), axis=1)[:, :20]
        mask = np.zeros(codes.shape, dtype=bool)
        np.put_along_axis(mask, shown, True, axis=1)
        _write_csv(files["sparse_4000"], np.where(mask, codes, -1).astype(np.int8), [f"i{j:02d}" for j in range(60)])
    if not files["cat_log"].exists():
        rng = np.random.default_rng(7)
        j, n, k = 252, 200_000, 48
        a, b = rng.lognormal(0, 0.3, j), rng.normal(0, 1, j)
        items = [{"id": f"CAT-{i:03d}", "model": "2pl", "a": float(a[i]), "b": float(b[i])} for i in range(j)]
        files["cat_params"].write_text(
            json.dumps(
                {
                    "schema": "digiskill.parameters/1",
                    "id": "bench-cat-252",
                    "created": "2026-12-04T00:00:00Z",
                    "engine": "benchmarks/whole_command.py",
                    "items": items,
                }
            )
        )
        theta = rng.normal(size=n)
        codes = np.full((n, j), -1, dtype=np.int8)
        for lo in range(0, n, 20_000):
            t = theta[lo : lo + 20_000, None]
            shown = np.argsort(rng.random((t.shape[0], j)), axis=1)[:, :k]
            p = 1 / (1 + np.exp(-a[shown] * (t - b[shown])))
            np.put_along_axis(codes[lo : lo + 20_000], shown, (rng.random(p.shape) < p).astype(np.int8), axis=1)
        _write_csv(files["cat_log"], codes, [f"CAT-{i:03d}" for i in range(j)])
    if not files["multidim"].exists():
        codes, ids = multidim_log(5_000, seed=17)
        _write_csv(files["multidim"], codes, ids)
    if not files["joint_eap"].exists():
        config = (ROOT / "examples" / "multidim" / "joint.yaml").read_text()
        files["joint_eap"].write_text(config.replace("estimator: map", "estimator: eap"))
    return files


def multidim_log(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """A sparse log of the default bank: θ ~ N(0, Σ) (the bank's correlation), 2–6 random items an area each.

    Returns the ``(n, 288)`` codes (−1 = not presented) and the item ids, area after area in the bank's order."""
    from digiskill.bank import load_parameter_set
    from digiskill.irt.response import probability
    from digiskill.irt.sampling import draw_categories

    params = load_parameter_set(DEFAULT_BANK)
    areas, corr = params.latent_correlation()
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(areas)), corr, size=n)
    blocks, ids = [], []
    for d, area in enumerate(areas):  # six areas
        area_ids = [i.id for i in params.items if i.area == area]
        it = params.to_arrays(area_ids)
        x = draw_categories(probability(theta[:, d], it), rng, it.n_cat)
        rank = np.argsort(rng.random(x.shape), axis=1).argsort(axis=1)
        shown = rank < rng.integers(2, 7, size=(n, 1))
        blocks.append(np.where(shown, x, -1).astype(np.int8))
        ids += area_ids
    return np.concatenate(blocks, axis=1), ids


def commands(files: dict[str, Path], out: Path) -> dict[str, list[str]]:
    bank = DEFAULT_BANK
    first = [i["id"] for i in json.loads(bank.read_text())["items"][:3]]
    d = str(BIN)
    return {
        "help": [d, "--help"],
        "cat_next": [
            d, "cat", "next", "--params", str(bank), "--administered", ",".join(first), "--responses", "1,0,1",
        ],
        "calibrate_100k": [d, "calibrate", str(files["complete_100k"]), "--out", str(out / "p.json"), "--se", "none"],
        "calibrate_10k": [d, "calibrate", str(files["complete_10k"]), "--out", str(out / "p.json"), "--se", "none"],
        "calibrate_sparse_oakes": [d, "calibrate", str(files["sparse_4000"]), "--out", str(out / "p.json")],
        "fit_full_100": [
            d, "calibrate", str(files["fit_10k_100"]), "--out", str(out / "p.json"), "--se", "none", "--fit", "full",
        ],
        "score_cat_log": [
            d, "score", str(files["cat_log"]), "--params", str(files["cat_params"]), "--out", str(out / "s.csv"),
        ],
        "score_multidim_map": [
            d, "score", str(files["multidim"]), "--multidimensional", "--method", "map", "--out", str(out / "m.csv"),
        ],
        "score_multidim_eap": [
            d, "score", str(files["multidim"]), "--multidimensional", "--method", "eap", "--out", str(out / "m.csv"),
        ],
        "simulate_joint_eap": [
            d, "simulate", "--params", str(bank), "--config", str(files["joint_eap"]), "--n", "500", "--seed", "1",
            "--out", str(out / "sim.json"),
        ],
    }  # fmt: skip


# A small fresh interpreter starts each command and reports its wall time and rusage. Forked straight from this
# process, the command would inherit its peak RSS (the generated data: 250 MB), since Linux keeps ru_maxrss across exec.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
with open(os.environ["BENCH_STDERR"], "wb") as err:
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
print(json.dumps([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)]))
"""


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MB of one run of ``cmd`` (that process only)."""
    with tempfile.NamedTemporaryFile(suffix=".stderr") as err:
        out = subprocess.run(
            [sys.executable, "-S", "-c", LAUNCHER, *cmd],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COLUMNS": "100", "BENCH_STDERR": err.name},
        ).stdout
        wall, cpu, rss, code = json.loads(out)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{Path(err.name).read_text(errors='replace')[-2000:]}")
    return wall, cpu, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/tmp/digiskill-bench"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    files = make_data(args.data)
    # bytecode of the package, as a regular install (or the first run of an editable one) leaves it; without it,
    # e.g. under PYTHONDONTWRITEBYTECODE=1, every command compiles digiskill's modules again (60-90 ms each run)
    compileall.compile_dir(ROOT / "src" / "digiskill", quiet=1)
    out = args.data / "out"
    out.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    print(f"load average at start {load:.1f}; {args.runs} runs each; median wall, median CPU, peak RSS")
    print("| command | wall (median) | CPU user+sys (median) | peak RSS |")
    print("| --- | --- | --- | --- |")
    for name, cmd in commands(files, out).items():
        if args.only and name not in args.only:
            continue
        runs = [run(cmd) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {max(r[2] for r in runs):.0f} MB |", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
