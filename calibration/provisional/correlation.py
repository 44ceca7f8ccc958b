"""Add the latent correlation of the areas to the provisional parameter set, without re-running the calibration:

    .venv/bin/python calibration/provisional/correlation.py

1. choose the correlation pilot's form (``pilot.correlation_form``: the 11 most informative items of every area by
   their calibrated parameters in ``params.json``, 66 items) and write it to ``data/correlation-design.json``;
2. simulate the correlation pilot (``pilot.simulate_correlation_pilot``: 5,000 simulees answer that form, abilities
   N(0, R) with every correlation 0.6, responses from ``data/generating-params.json``; seed
   ``pilot.CORRELATION_SEED``) and write it to ``data/responses_correlation.csv``;
3. estimate R with every item fixed at its calibrated parameters in ``params.json``, with the real command line
   (``digiskill calibrate --multidimensional --anchors params.json``), and write ``params.json`` again with
   ``calibration.latent.correlation`` added (items, id and everything else unchanged; the packaged
   ``src/digiskill/data/default-params.json`` is a link to it).

``run.py`` calls :func:`main` as its last step. Nothing here is real response data.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from pilot import (  # calibration/provisional/pilot.py
    CORRELATION_SEED,
    N_CORRELATION,
    N_CORRELATION_ITEMS,
    correlation_form,
    simulate_correlation_pilot,
)

from digiskill.bank import load_parameter_set
from digiskill.fileio import atomic_write_text

HERE = Path(__file__).resolve().parent
RHO = 0.6


def main() -> None:
    areas = list(json.loads((HERE / "data" / "design.json").read_text())["areas"])
    gen = load_parameter_set(HERE / "data" / "generating-params.json")
    params = HERE / "params.json"
    calibrated = load_parameter_set(params)
    forms = [correlation_form(calibrated.to_arrays([it.id for it in calibrated.items if it.area == a])) for a in areas]
    design = {
        "seed": CORRELATION_SEED,
        "n": N_CORRELATION,
        "rho": RHO,
        "items_per_area": N_CORRELATION_ITEMS,
        "selection": "per area the items with the largest Fisher information averaged over N(0, 1), by the "
        "calibrated parameters in params.json (pilot.correlation_form); every simulee answers every item",
        "areas": dict(zip(areas, forms, strict=True)),
    }
    atomic_write_text(HERE / "data" / "correlation-design.json", json.dumps(design, indent=2) + "\n")
    cov = np.full((len(areas), len(areas)), RHO) + (1 - RHO) * np.eye(len(areas))
    codes, _ = simulate_correlation_pilot([gen.to_arrays(ids) for ids in forms], cov)
    x = np.concatenate(codes, axis=1)
    path = HERE / "data" / "responses_correlation.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["person", *(i for ids in forms for i in ids)])
        w.writerows([f"COR{n + 1:05d}", *row] for n, row in enumerate(x.tolist()))
    cmd = [
        str(Path(sys.executable).with_name("digiskill")),
        "calibrate",
        str(path),
        "--multidimensional",
        "--anchors",
        str(params),
        "--out",
        str(params),
    ]
    print(f"$ digiskill calibrate {path.name} --multidimensional --anchors params.json --out params.json", flush=True)
    subprocess.run(cmd, check=True)
    print(f"wrote {params} ({N_CORRELATION} simulees, seed {CORRELATION_SEED})")


if __name__ == "__main__":
    main()
