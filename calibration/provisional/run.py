"""Reproduce the provisional calibration of the default bank from a simulated pilot, with one command:

    .venv/bin/python calibration/provisional/run.py

1. simulate the linked-booklet pilot (pilot.py beside this script, seed 2026, 6,000 simulees per area) and save its
   design, data and generating parameters;
2. calibrate each area on its own scale with the real command line, ``digiskill calibrate`` (2PL for dichotomous
   formats, GPCM for multiple-response items; Oakes SEs), saving a parameter set and a report per area;
3. join the areas into the bank's parameter set ``params.json`` (marked provisional), set the level cut scores by
   item mapping at RP67 (``cut-scores.json``, see digiskill.bank.cut_scores) and write ``RECOVERY.md``, which
   compares the estimates with the generating values;
4. add the latent correlation of the areas from the simulated correlation pilot (``correlation.py`` beside this
   script: 5,000 simulees answering the 11 most informative items of every area; ``digiskill calibrate
   --multidimensional`` with the items fixed at ``params.json``).

Nothing here is real response data. When the real pilot's data arrive, calibration/README.md says how the same
commands replace this set.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import correlation  # calibration/provisional/correlation.py
import numpy as np
from pilot import LEVEL_LOCATION, N_ANCHORS, N_FORMS, simulate_pilot  # calibration/provisional/pilot.py

from digiskill import ENGINE
from digiskill.bank import ParameterSet, load_parameter_set
from digiskill.bank.content import load_bank_content
from digiskill.bank.cut_scores import set_cut_scores
from digiskill.bank.parameters import CalibrationInfo, LatentSpec, QuadratureSpec
from digiskill.fileio import atomic_write_text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = 2026
N_PER_AREA = 6000
SET_ID = "digiskill-provisional-2026.1"
PROVENANCE = (
    "PROVISIONAL: calibrated on SIMULATED pilot data, not on answers of real people. Generating parameters follow "
    "each item's intended DigComp level (b ~ N(-2.0 + 0.75 (level - 1), 0.35^2); 2PL for single-choice, "
    "ordering and true/false items, GPCM for multiple-response items) in a linked-booklet design (8 anchor items "
    "per area, 3 forms, 40 items per simulee over two areas, 6,000 simulees per area, abilities correlated 0.6 "
    "across areas; seed 2026); each area calibrated on its own N(0, 1) scale with digiskill calibrate. "
    "See calibration/provisional/ in the source repository. Replace with a calibration on real pilot data before "
    "results are used for decisions."
)


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    content = load_bank_content(ROOT / "items")
    pilot = simulate_pilot(content, n_per_area=N_PER_AREA, seed=SEED)
    data = HERE / "data"
    out = HERE / "areas"
    data.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    design = {
        "seed": SEED,
        "rho": pilot.rho,
        "n_per_area": N_PER_AREA,
        "anchors_per_area": N_ANCHORS,
        "forms_per_area": N_FORMS,
        "level_location": LEVEL_LOCATION,
        "areas": {},
    }
    generating = []
    for area in pilot.areas:
        ids = list(area.items.ids)
        resp_path = data / f"responses_{area.area}.csv"
        seen = ~np.isnan(area.responses)
        cells = np.where(seen, np.nan_to_num(area.responses).astype("int64").astype(str), "")
        write_csv(resp_path, ["person", *ids], ([p, *row] for p, row in zip(area.person_ids, cells, strict=True)))
        models_path = data / f"item-models_{area.area}.csv"
        write_csv(models_path, ["item", "model"], zip(ids, area.item_models, strict=True))
        design["areas"][area.area] = {"anchors": area.anchors, "forms": area.forms}
        for j, (item_id, model) in enumerate(zip(ids, area.item_models, strict=True)):
            k = int(area.items.n_cat[j]) - 1
            b = [float(v) for v in area.items.b[j, :k]]
            generating.append(
                {
                    "id": item_id,
                    "model": model,
                    "a": float(area.items.a[j]),
                    "b": b[0] if model == "2pl" else b,
                    "area": area.area,
                }
            )
        cmd = [
            str(Path(sys.executable).with_name("digiskill")),
            "calibrate",
            str(resp_path),
            "--item-models",
            str(models_path),
            "--area",
            area.area,
            "--provisional",
            "--id",
            f"{SET_ID}-{area.area}",
            "--provenance",
            PROVENANCE,
            "--out",
            str(out / f"{area.area}.json"),
            "--report",
            str(out / f"{area.area}.md"),
        ]
        print("$", " ".join(Path(c).name if c.endswith("digiskill") else c for c in cmd[:3]), "…", flush=True)
        subprocess.run(cmd, check=True)
    atomic_write_text(data / "design.json", json.dumps(design, indent=2) + "\n")
    now = datetime.now(UTC).replace(microsecond=0)
    gen = ParameterSet(
        id=f"{SET_ID}-generating",
        created=now,
        engine=ENGINE,
        provisional=True,
        provenance="Generating (true) parameters of the simulated pilot; see design.json.",
        items=generating,
    )
    gen.save(data / "generating-params.json")

    parts = [load_parameter_set(out / f"{a.area}.json") for a in pilot.areas]
    competence = {it.id: it.competence for it in content.items}  # carried along for content balancing
    bank = ParameterSet(
        id=SET_ID,
        created=now,
        engine=ENGINE,
        provisional=True,
        provenance=PROVENANCE,
        calibration=CalibrationInfo(
            model="mixed",
            loglik=sum(p.calibration.loglik for p in parts),
            n_parameters=sum(p.calibration.n_parameters for p in parts),
            iterations=max(p.calibration.iterations for p in parts),
            converged=all(p.calibration.converged for p in parts),
            n_persons=N_PER_AREA,
            quadrature=QuadratureSpec(),
            se_method="oakes",
            latent=LatentSpec(),
            data="calibration/provisional/data/responses_<area>.csv (simulated), one scale per area",
        ),
        items=[it.model_copy(update={"competence": competence[it.id]}) for p in parts for it in p.items],
    )
    bank.save(HERE / "params.json")
    set_cut_scores(bank, content).save(HERE / "cut-scores.json")
    atomic_write_text(HERE / "RECOVERY.md", recovery_report(gen, bank, parts))
    print(f"wrote {HERE / 'params.json'} ({len(bank.items)} items) and RECOVERY.md")
    correlation.main()  # the correlation pilot: adds calibration.latent.correlation to params.json


def recovery_report(gen: ParameterSet, est: ParameterSet, parts: list[ParameterSet]) -> str:
    g, e = gen.items_by_id(), est.items_by_id()
    lines = [
        "# Provisional calibration: recovery of the generating parameters",
        "",
        "Simulated pilot (see `run.py`, `data/design.json`). Each row compares the estimates of one area with the "
        "values the data were generated from. `b` pools difficulties and GPCM steps.",
        "",
        "| area | items | converged | EM cycles | log-likelihood | r(a) | RMSE a | bias a | r(b) | RMSE b | bias b |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in parts:
        area = p.items[0].area
        ids = [it.id for it in p.items]
        ga = np.array([g[i].a for i in ids])
        ea = np.array([e[i].a for i in ids])
        gb = np.concatenate([np.atleast_1d(g[i].b) for i in ids])
        eb = np.concatenate([np.atleast_1d(e[i].b) for i in ids])
        c = p.calibration
        lines.append(
            f"| {area} | {len(ids)} | {c.converged} | {c.iterations} | {c.loglik:.1f} | "
            f"{np.corrcoef(ga, ea)[0, 1]:.3f} | {np.sqrt(np.mean((ea - ga) ** 2)):.3f} | {np.mean(ea - ga):+.3f} | "
            f"{np.corrcoef(gb, eb)[0, 1]:.3f} | {np.sqrt(np.mean((eb - gb) ** 2)):.3f} | {np.mean(eb - gb):+.3f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
