"""Make examples/jobcenter/responses.csv: 40 SIMULATED persons who each answered 8 items in every area of the default
bank (drawn from the provisional parameters, abilities correlated 0.6 across areas, seed 11). Not real people.

    .venv/bin/python examples/jobcenter/make_example.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from digiskill.bank.default import load_default
from digiskill.irt import probability

N_PERSONS, PER_AREA, SEED, RHO = 40, 8, 11, 0.6


def main() -> None:
    bank = load_default()
    rng = np.random.default_rng(SEED)
    areas = bank.areas
    cov = np.full((len(areas), len(areas)), RHO) + (1 - RHO) * np.eye(len(areas))
    theta = rng.multivariate_normal(np.zeros(len(areas)), cov, size=N_PERSONS)
    ids = [it.id for it in bank.params.items]
    x = np.full((N_PERSONS, len(ids)), "", dtype=object)
    for a, area in enumerate(areas):
        cols = [j for j, it in enumerate(bank.params.items) if it.area == area]
        items = bank.params.to_arrays([ids[j] for j in cols])
        p = probability(theta[:, a], items)
        u = rng.random(p.shape[:2])[..., None]
        resp = (u > np.cumsum(p, axis=-1)).sum(axis=-1)
        for n in range(N_PERSONS):  # example data, built once
            for j in rng.choice(len(cols), PER_AREA, replace=False):
                x[n, cols[j]] = str(resp[n, j])
    out = Path(__file__).with_name("responses.csv")
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["person", *ids])
        w.writerows([f"JC{n + 1:03d}", *x[n]] for n in range(N_PERSONS))


if __name__ == "__main__":
    main()
