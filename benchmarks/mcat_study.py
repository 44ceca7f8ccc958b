"""Is the multidimensional test worth it, and what does it do to a certified level? (issue #17, parts 4 and 5)

Six unidimensional adaptive tests against one multidimensional test, on the same simulees: true θ drawn from
N(0, R) (seeded), one complete response matrix drawn from the model, the same stopping rules (SE ≤ 0.4 in every area,
2–20 items an area), so every difference comes from the design. Each design as it would be deployed: the
unidimensional tests with the default configuration (EAP, maximum information, no exposure control), the
multidimensional one as ``examples/multidim/joint.yaml`` (MAP, ``dprule``, the rule choosing the area).

Two banks:

* the bundled default bank (six areas; provisional parameters; R = its stored latent correlation), levels 1–6 from
  its cut scores;
* a synthetic between-item bank of 6 × 40 2PL items (a ~ lognormal(0.2, 0.25), b ~ N(0, 1)), every correlation 0.6,
  levels at θ = −1, 0, 1.

Per area: mean own items, bias and RMSE of θ̂, the share of simulees whose θ̂ falls in their true level ("level
accuracy", the issue's classification accuracy), and exposure (largest item exposure rate; share of the area's items
never given). Then the certified levels (:mod:`digiskill.results.adaptive`): the share certified exactly at the true
level and the share certified *above* it, for

* ``own``: the area's own answers alone (what a unidimensional test certifies);
* ``joint``: the joint posterior (``P(θ_d ≥ c | all answers) ≥ 0.8``);
* ``bounded``: the rule the issuer uses, the joint level kept within the own evidence,

over everyone and over the *discordant* simulees, whose true θ in the area is more than 1 away from the mean of
their other five areas (where borrowing strength could hurt).

    .venv/bin/python benchmarks/mcat_study.py --n 2000              # both banks; Markdown to stdout, JSON to results/
    .venv/bin/python benchmarks/mcat_study.py --n 300 --banks synthetic   # a quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from digiskill.bank.parameters import DichotomousItem, ParameterSet, new_parameter_set
from digiskill.cat import CatBank, CatConfig
from digiskill.cat.joint import EAP_SEED
from digiskill.cat.simulate import generate_responses, simulate
from digiskill.irt.estimation import log_posterior
from digiskill.irt.multidim import LatentNormal, joint_eap
from digiskill.results.levels import CERTIFY_PROBABILITY, SUPPORT_PROBABILITY, bounded_levels, prob_at_least

SE_TARGET = 0.4
MIN_PER_AREA = 2
MAX_PER_AREA = 20
DISCORDANT = 1.0


def synthetic_bank(n_areas: int = 6, per_area: int = 40, seed: int = 17) -> ParameterSet:
    """A between-item bank of ``n_areas × per_area`` 2PL items."""
    rng = np.random.default_rng(seed)
    items = [
        DichotomousItem(
            id=f"a{d + 1}-{j + 1:02d}",
            area=f"area{d + 1}",
            model="2pl",
            a=float(rng.lognormal(0.2, 0.25)),
            b=float(rng.normal(0.0, 1.0)),
        )
        for d in range(n_areas)
        for j in range(per_area)
    ]
    return new_parameter_set(items, set_id="synthetic-6x40", provenance="simulated for benchmarks/mcat_study.py")


def designs(areas: list[str], corr: np.ndarray, joint_se: float = SE_TARGET) -> dict[str, CatConfig]:
    """The two designs with the same stopping rules (``joint_se``: another SE target for the multidimensional one,
    to compare the designs at equal level accuracy instead of equal SE)."""
    stopping = {"se_target": SE_TARGET, "min_items_per_area": MIN_PER_AREA, "max_items_per_area": MAX_PER_AREA}
    uni = CatConfig.model_validate({"stopping": stopping})
    multi = CatConfig.model_validate(
        {
            "dimensionality": "multidimensional",
            "selection": {"rule": "dprule"},
            "estimator": "map",
            "balancing": {"areas": False},
            "stopping": {**stopping, "se_target": joint_se},
            "latent": {"areas": areas, "matrix": corr.tolist()},
        }
    )
    joint = "multidimensional (dprule)" + ("" if joint_se == SE_TARGET else f", SE ≤ {joint_se:g}")
    return {"six unidimensional tests": uni, joint: multi}


def level_of(theta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Level 0..L of each θ for increasing cuts of levels 1..L (0: below the first cut)."""
    return np.searchsorted(cuts, theta, side="right")


def reached(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Highest level (1..L) with ``P(θ ≥ c_L) ≥ threshold``, 0 for none; ``probs`` ``(N, L)`` decrease in L."""
    return (probs >= threshold).sum(axis=1)


def given_codes(prepared: CatBank, area: str, codes: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``(N, J_area)`` the categories of the items each simulee was given in ``area`` (−1: not given); ``local``:
    the area's run items (positions within the area, −1 after the end)."""
    ab = prepared.areas[area]
    x = np.full((codes.shape[0], ab.n_items), -1, dtype=np.int64)
    rows, cols = np.nonzero(local >= 0)
    x[rows, local[rows, cols]] = codes[rows, ab.index[local[rows, cols]]]
    return x


def certified_levels(
    params: ParameterSet, config: CatConfig, areas: list[str], x: list[np.ndarray], cuts: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """``(N, D)`` certified levels from the given answers ``x`` (per area ``(N, J_area)``): own answers alone
    (proven and supported), and for a multidimensional design the joint and the bounded level."""
    quad = config.quadrature.quadrature()
    items = [params.to_arrays([it.id for it in params.items if it.area == a]) for a in areas]
    own = [
        prob_at_least(quad.points, np.exp(log_posterior(xd, it, quad)), c)
        for xd, it, c in zip(x, items, cuts, strict=True)
    ]
    out = {
        "own": np.stack([reached(p, CERTIFY_PROBABILITY) for p in own], axis=1),
        "supported": np.stack([reached(p, SUPPORT_PROBABILITY) for p in own], axis=1),
    }
    if config.dimensionality == "multidimensional":
        assert config.latent is not None
        prior = LatentNormal(np.asarray(config.latent.matrix))
        post = joint_eap(x, items, prior, n_points=config.joint.qmc_points, seed=EAP_SEED, cuts=cuts)
        assert post.tails is not None
        out["joint"] = np.stack([reached(t, CERTIFY_PROBABILITY) for t in post.tails], axis=1)
        out["bounded"] = bounded_levels(out["joint"], out["own"], out["supported"])
    return out


def run_bank(
    name: str,
    params: ParameterSet,
    corr: np.ndarray,
    cuts: dict[str, list[float]],
    n: int,
    seed: int,
    joint_se: float = SE_TARGET,
):
    areas = list(params.areas)
    cut_arrays = [np.asarray(cuts[a], dtype=float) for a in areas]
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(areas)), corr, size=n)
    prepared = CatBank.from_parameters(params)
    codes = generate_responses(prepared, theta, rng)
    others = (theta.sum(axis=1, keepdims=True) - theta) / (len(areas) - 1)
    discordant = np.abs(theta - others) > DISCORDANT
    true_level = np.stack([level_of(theta[:, d], c) for d, c in enumerate(cut_arrays)], axis=1)
    out = {"bank": name, "n": n, "seed": seed, "correlation": corr.tolist(), "designs": []}
    for label, cfg in designs(areas, corr, joint_se).items():
        t0 = time.perf_counter()
        sim = simulate(params, cfg, theta=theta, responses=codes, seeds=np.arange(n))
        seconds = time.perf_counter() - t0
        runs = {run.area: run for run in sim.runs}
        x = [given_codes(prepared, a, codes, runs[a].items) for a in areas]
        t0 = time.perf_counter()
        levels = certified_levels(params, cfg, areas, x, cut_arrays)
        level_seconds = time.perf_counter() - t0
        rows = []
        for d, area in enumerate(areas):
            run = runs[area]
            err = run.theta - theta[:, d]
            disc = discordant[:, d]
            hit = level_of(run.theta, cut_arrays[d]) == true_level[:, d]
            row = {
                "area": area,
                "mean_items": float(run.length.mean()),
                "bias": float(err.mean()),
                "rmse": float(np.sqrt((err**2).mean())),
                "level_accuracy": float(hit.mean()),
                "discordant_share": float(disc.mean()),
                "discordant_bias_towards_others": float((err * np.sign(others[:, d] - theta[:, d]))[disc].mean()),
                "max_exposure": float(run.selected.max() / n),
                "never_used": float((run.selected == 0).mean()),
                "certified": {},
            }
            for rule, lv in levels.items():
                if rule == "supported":
                    continue
                exact = lv[:, d] == true_level[:, d]
                above = lv[:, d] > true_level[:, d]
                row["certified"][rule] = {
                    "exact": float(exact.mean()),
                    "above": float(above.mean()),
                    "discordant_exact": float(exact[disc].mean()),
                    "discordant_above": float(above[disc].mean()),
                }
            rows.append(row)
        total = sum(runs[a].length for a in areas)
        out["designs"].append(
            {
                "design": label,
                "mean_length": float(total.mean()),
                "simulate_seconds": seconds,
                "levels_seconds": level_seconds,
                "areas": rows,
            }
        )
    return out


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def markdown(result: dict) -> str:
    uni, multi = result["designs"]
    lines = [f"**{result['bank']}** ({result['n']} simulees, seed {result['seed']}, SE ≤ {SE_TARGET})", ""]
    lines += [
        "| design | mean items | fewer items | level accuracy | RMSE | bias | max exposure | never used |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in result["designs"]:
        saved = 1 - d["mean_length"] / uni["mean_length"]
        lines.append(
            f"| {d['design']} | {d['mean_length']:.1f} | {saved:.0%} | {_mean(d['areas'], 'level_accuracy'):.3f} | "
            f"{_mean(d['areas'], 'rmse'):.3f} | {_mean(d['areas'], 'bias'):+.3f} | "
            f"{max(a['max_exposure'] for a in d['areas']):.2f} | {_mean(d['areas'], 'never_used'):.0%} |"
        )
    lines += [
        "",
        "| area | items (uni / multi) | level accuracy (uni / multi) | RMSE (uni / multi) | bias (uni / multi) | "
        "max exposure (uni / multi) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for a, b in zip(uni["areas"], multi["areas"], strict=True):
        lines.append(
            f"| {a['area']} | {a['mean_items']:.1f} / {b['mean_items']:.1f} | {a['level_accuracy']:.3f} / "
            f"{b['level_accuracy']:.3f} | {a['rmse']:.3f} / {b['rmse']:.3f} | {a['bias']:+.3f} / {b['bias']:+.3f} | "
            f"{a['max_exposure']:.2f} / {b['max_exposure']:.2f} |"
        )
    lines += [
        "",
        "Certified levels (means over areas): exactly the true level / above it; everyone, and the discordant "
        f"simulees ({_mean(multi['areas'], 'discordant_share'):.0%} of area results; the joint estimate is pulled "
        f"{_mean(multi['areas'], 'discordant_bias_towards_others'):+.2f} towards their other areas, against "
        f"{_mean(uni['areas'], 'discordant_bias_towards_others'):+.2f} in separate tests):",
        "",
        "| design | level from | exact | above | discordant: exact | discordant: above |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for d in result["designs"]:
        for rule in d["areas"][0]["certified"]:
            c = [a["certified"][rule] for a in d["areas"]]
            lines.append(
                f"| {d['design']} | {rule} | {_mean(c, 'exact'):.3f} | {_mean(c, 'above'):.3f} | "
                f"{_mean(c, 'discordant_exact'):.3f} | {_mean(c, 'discordant_above'):.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--banks", nargs="+", default=["default", "synthetic"], choices=["default", "synthetic"])
    ap.add_argument("--joint-se", type=float, default=SE_TARGET, help="SE target of the multidimensional test")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "mcat_study.json")
    args = ap.parse_args(argv)
    results = []
    if "default" in args.banks:
        from digiskill.bank.default import load_default

        bank = load_default()
        found = bank.params.latent_correlation()
        if found is None:
            raise SystemExit("the default parameter set has no latent correlation")
        areas, corr = found
        cuts = {a: [bank.cut_scores.areas[a].cuts[k] for k in sorted(bank.cut_scores.areas[a].cuts)] for a in areas}
        results.append(run_bank("default bank", bank.params, np.asarray(corr), cuts, args.n, args.seed, args.joint_se))
    if "synthetic" in args.banks:
        params = synthetic_bank()
        corr = np.full((6, 6), 0.6) + 0.4 * np.eye(6)
        cuts = {a: [-1.0, 0.0, 1.0] for a in params.areas}
        results.append(run_bank("6 × 40 synthetic bank, ρ = 0.6", params, corr, cuts, args.n, args.seed, args.joint_se))
    for r in results:
        print(markdown(r), end="\n\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
