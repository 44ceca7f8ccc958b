"""Is the multidimensional test worth it, and what does it do to a certified level? (issue #17, parts 4 and 5)

Six unidimensional adaptive tests against one multidimensional test, on the same simulees: true θ drawn from
N(0, R) (seeded), one complete response matrix drawn from the model, so every difference comes from the design. Each
design as it is deployed: the unidimensional tests are the standard test (``take_config()``: EAP, maximum
information, SE ≤ 0.45, 4–10 items an area), the multidimensional one is ``examples/multidim/joint.yaml`` (MAP,
``dprule``, the rule choosing the area, SE ≤ 0.44, 2–10 items an area), read from the file.

Two banks:

* the bundled default bank (six areas; provisional parameters; R = its stored latent correlation), levels 1–6 from
  its cut scores;
* a synthetic between-item bank of 6 × 40 2PL items (a ~ lognormal(0.2, 0.25), b ~ N(0, 1)), every correlation 0.6,
  levels at θ = −1, 0, 1.

Per area: mean own items, bias and RMSE of θ̂, the share of simulees whose θ̂ falls in their true level ("level
accuracy", the issue's classification accuracy) and the paired standard error of its difference between the designs,
and exposure (largest item exposure rate; share of the area's items never given). Then the certified levels
(:mod:`digiskill.results.adaptive`): the share certified exactly at the true level and the share certified *above*
it, for

* ``own``: the area's own answers alone (what a unidimensional test certifies);
* ``joint``: the joint posterior (``P(θ_d ≥ c | all answers) ≥ 0.8``);
* ``bounded``: the rule the issuer uses, the joint level kept within the own evidence,

over everyone and over the *discordant* simulees, whose true θ in the area is more than 1 away from the mean of
their other five areas (where borrowing strength could hurt).

Options change the stopping rules of both designs (``--se``, ``--min-per-area``, ``--max-per-area``: the same SE
target at another precision) or of the joint test alone (``--joint-se``, ``--joint-min``, ``--joint-rule``,
``--joint-estimator``); the separate tests never change otherwise. The study prints a ``SUMMARY`` line per joint
design: items, fewer items, less information at the true θ, and level accuracy against the separate tests (mean,
worst and best area, the largest paired SE), for the final estimate and for the joint EAP of the same answers. It
also prints ``BOUND`` lines: the most information any joint design can save at equal posterior SD
(:func:`information_bound`). 10,000 simulees (the default) give a per-area accuracy difference a paired SE of about
0.005; with 2,000 it is about 0.012, too coarse for the "no area 0.015 below" test.

    .venv/bin/python benchmarks/mcat_study.py      # both banks as deployed; Markdown to stdout, JSON to results/
    .venv/bin/python benchmarks/mcat_study.py --n 1000 --banks synthetic   # a quick look
    .venv/bin/python benchmarks/mcat_study.py --banks default --se 0.4 --min-per-area 2 --max-per-area 20 \\
        --joint-se 0.395 --out x.json     # the same comparison at a higher precision
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from digiskill.bank.loading import load_model_file
from digiskill.bank.parameters import DichotomousItem, ParameterSet, new_parameter_set
from digiskill.cat import CatBank, CatConfig
from digiskill.cat.joint import EAP_SEED
from digiskill.cat.simulate import generate_responses, simulate
from digiskill.cat.take_config import take_config
from digiskill.irt.estimation import log_posterior
from digiskill.irt.multidim import LatentNormal, item_information, joint_eap
from digiskill.results.levels import CERTIFY_PROBABILITY, SUPPORT_PROBABILITY, bounded_levels, prob_at_least

JOINT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "multidim" / "joint.yaml"
DISCORDANT = 1.0
INFO = "information_at_true_theta"
EQUAL_MEAN, EQUAL_AREA = 0.005, 0.015  # equal accuracy: mean within ±0.005 of the separate tests, no area 0.015 below
TIE = 1e-9  # accuracies are counts / n: a difference of exactly 0.015 counts as within


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


def designs(
    areas: list[str],
    corr: np.ndarray,
    *,
    se: float | None = None,
    min_per_area: int | None = None,
    max_per_area: int | None = None,
    joint_se: float | None = None,
    joint_min: int | None = None,
    rule: str | None = None,
    estimator: str | None = None,
) -> dict[str, CatConfig]:
    """The two designs, as deployed unless told otherwise: the separate tests are the standard test
    (:func:`~digiskill.cat.take_config.take_config`: SE ≤ 0.45, 4–10 items an area), the joint test is
    :data:`JOINT_CONFIG` with Σ = ``corr``.

    ``se``, ``min_per_area`` and ``max_per_area`` set both designs' stopping rules (the same SE target). Variants of
    the joint test alone: ``joint_se`` its SE target, ``joint_min`` its minimum of own items, ``rule`` its selection
    rule, ``estimator`` the joint estimate that selects and stops."""
    uni = take_config()
    file = load_model_file(JOINT_CONFIG, CatConfig, what="configuration")
    common = {
        k: v
        for k, v in (("se_target", se), ("min_items_per_area", min_per_area), ("max_items_per_area", max_per_area))
        if v is not None
    }
    alone = {k: v for k, v in (("se_target", joint_se), ("min_items_per_area", joint_min)) if v is not None}
    uni = uni.model_copy(update={"stopping": uni.stopping.model_copy(update=common)})
    stop = {**file.stopping.model_dump(), **common, **alone}
    multi = CatConfig.model_validate(
        {
            **file.model_dump(exclude={"latent", "stopping"}),
            **({"selection": {**file.selection.model_dump(), "rule": rule}} if rule else {}),
            **({"estimator": estimator} if estimator else {}),
            "stopping": stop,
            "latent": {"areas": areas, "matrix": corr.tolist()},
        }
    )
    ref = {**file.stopping.model_dump(), **common}
    changes = [f"SE ≤ {stop['se_target']:g}"] if stop["se_target"] != ref["se_target"] else []
    changes += (
        [f"≥ {stop['min_items_per_area']} own items"] if stop["min_items_per_area"] != ref["min_items_per_area"] else []
    )
    changes += [multi.estimator.upper()] if multi.estimator != file.estimator else []
    joint = f"multidimensional ({multi.selection.rule})" + "".join(f", {c}" for c in changes)
    return {"six unidimensional tests": uni, joint: multi}


def information_bound(corr: np.ndarray, se: float) -> dict:
    """The least test information that brings every area's posterior SD to ``se``, jointly and separately.

    Normal approximation: with ``t_d`` the test information of area ``d``'s own items, the joint posterior covariance
    is ``(Σ⁻¹ + diag(t))⁻¹``; separate tests with N(0, 1) priors need ``t_d = 1/se² − 1``. The joint minimum of
    ``Σ_d t_d`` subject to ``[(Σ⁻¹ + diag(t))⁻¹]_dd ≤ se²`` for every ``d`` (a convex problem: the diagonal of the
    inverse is convex in ``t``) bounds what any selection or stopping rule of the joint test can save in information
    at equal per-area posterior precision; fewer *items* than that needs items that are more informative on average.
    """
    from scipy.optimize import minimize

    precision = np.linalg.inv(corr)
    dims = corr.shape[0]
    need = [
        {"type": "ineq", "fun": lambda t, d=d: se**2 - np.linalg.inv(precision + np.diag(t))[d, d]} for d in range(dims)
    ]
    start = np.full(dims, 1 / se**2 - 1)
    res = minimize(np.sum, start, constraints=need, bounds=[(0.0, None)] * dims, method="SLSQP")
    if not res.success:
        raise RuntimeError(f"information bound: {res.message}")
    separate = dims * (1 / se**2 - 1)
    return {"se": se, "joint": float(res.x.sum()), "separate": separate, "saving": 1 - float(res.x.sum()) / separate}


def summary(result: dict) -> list[dict]:
    """Per design against the separate tests: items, fewer items, mean level accuracy and the per-area accuracy
    differences (worst and best), of the final estimate and of the joint EAP of the same answers."""
    uni = result["designs"][0]
    base = np.array([a["level_accuracy"] for a in uni["areas"]])
    out = []
    for d in result["designs"][1:]:
        row = {
            "design": d["design"],
            "items": d["mean_length"],
            "fewer": 1 - d["mean_length"] / uni["mean_length"],
            "less_information": 1 - _sum(d["areas"], INFO) / _sum(uni["areas"], INFO),
            "largest_difference_se": max(a["accuracy_difference_se"] for a in d["areas"]),
        }
        for key, name in (("level_accuracy", "final"), ("level_accuracy_final_eap", "final_eap")):
            acc = np.array([a[key] for a in d["areas"]])
            row[name] = {
                "accuracy": float(acc.mean()),
                "difference": float(acc.mean() - base.mean()),
                "worst_area": float((acc - base).min()),
                "worst_area_name": d["areas"][int(np.argmin(acc - base))]["area"],
                "best_area": float((acc - base).max()),
                "equal": bool(
                    abs(acc.mean() - base.mean()) <= EQUAL_MEAN + TIE and (acc - base).min() >= -EQUAL_AREA - TIE
                ),
                "not_worse": bool(
                    acc.mean() - base.mean() >= -EQUAL_MEAN - TIE and (acc - base).min() >= -EQUAL_AREA - TIE
                ),
            }
        out.append(row)
    return out


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
    (proven and supported), and for a multidimensional design the joint and the bounded level, and (``eap_theta``)
    the joint EAP of the given answers, whatever estimator the test ran with."""
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
        out["eap_theta"] = post.theta
    return out


def run_bank(
    name: str,
    params: ParameterSet,
    corr: np.ndarray,
    cuts: dict[str, list[float]],
    n: int,
    seed: int,
    variant: dict | None = None,
):
    """Both designs on ``n`` simulees of the bank (``variant``: keyword arguments of :func:`designs`)."""
    areas = list(params.areas)
    cut_arrays = [np.asarray(cuts[a], dtype=float) for a in areas]
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(areas)), corr, size=n)
    prepared = CatBank.from_parameters(params)
    codes = generate_responses(prepared, theta, rng)
    others = (theta.sum(axis=1, keepdims=True) - theta) / (len(areas) - 1)
    discordant = np.abs(theta - others) > DISCORDANT
    true_level = np.stack([level_of(theta[:, d], c) for d, c in enumerate(cut_arrays)], axis=1)
    configs = designs(areas, corr, **(variant or {}))
    out = {"bank": name, "n": n, "seed": seed, "correlation": corr.tolist(), "designs": []}
    first_hits: list[np.ndarray] = []  # the separate tests' per-simulee level hits, to pair the designs
    for label, cfg in configs.items():
        t0 = time.perf_counter()
        sim = simulate(params, cfg, theta=theta, responses=codes, seeds=np.arange(n))
        seconds = time.perf_counter() - t0
        runs = {run.area: run for run in sim.runs}
        x = [given_codes(prepared, a, codes, runs[a].items) for a in areas]
        info = item_information(theta, [prepared.areas[a].items for a in areas])  # at the true θ
        given_info = np.stack([(i * (xd >= 0)).sum(axis=1) for i, xd in zip(info, x, strict=True)], axis=1)
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
                "mean_se": float(run.se.mean()),
                INFO: float(given_info[:, d].mean()),
                "level_accuracy": float(hit.mean()),
                "accuracy_difference_se": None,
                "rmse_final_eap": None,
                "level_accuracy_final_eap": None,
                "discordant_share": float(disc.mean()),
                "discordant_bias_towards_others": float((err * np.sign(others[:, d] - theta[:, d]))[disc].mean()),
                "max_exposure": float(run.selected.max() / n),
                "never_used": float((run.selected == 0).mean()),
                "certified": {},
            }
            if len(first_hits) < len(areas):
                first_hits.append(hit)
            else:  # the paired SE of this design's accuracy minus the separate tests', the same simulees
                row["accuracy_difference_se"] = float(np.std(hit.astype(float) - first_hits[d], ddof=1) / np.sqrt(n))
            if "eap_theta" in levels:  # the joint test's answers scored again with the joint EAP
                final = levels["eap_theta"][:, d]
                row["rmse_final_eap"] = float(np.sqrt(((final - theta[:, d]) ** 2).mean()))
                row["level_accuracy_final_eap"] = float((level_of(final, cut_arrays[d]) == true_level[:, d]).mean())
            for rule, lv in levels.items():
                if rule in ("supported", "eap_theta"):
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
                "stopping": cfg.stopping.model_dump(include={"se_target", "min_items_per_area", "max_items_per_area"}),
                "simulate_seconds": seconds,
                "levels_seconds": level_seconds,
                "areas": rows,
            }
        )
    return out


def _stops(stopping: dict) -> str:
    return (
        f"SE ≤ {stopping['se_target']:g}, {stopping['min_items_per_area']}–{stopping['max_items_per_area']} "
        "items an area"
    )


def _sum(rows: list[dict], key: str) -> float:
    return float(np.sum([r[key] for r in rows]))


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def markdown(result: dict) -> str:
    uni, multi = result["designs"]
    lines = [f"**{result['bank']}** ({result['n']} simulees, seed {result['seed']})", ""]
    lines += [
        "| design | stops at | mean items | fewer items | level accuracy | RMSE | bias | max exposure | never used |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in result["designs"]:
        saved = 1 - d["mean_length"] / uni["mean_length"]
        lines.append(
            f"| {d['design']} | {_stops(d['stopping'])} | {d['mean_length']:.1f} | {saved:.0%} | "
            f"{_mean(d['areas'], 'level_accuracy'):.3f} | "
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
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--banks", nargs="+", default=["default", "synthetic"], choices=["default", "synthetic"])
    ap.add_argument("--se", type=float, help="SE target of both designs (default: as deployed, 0.45 and the file's)")
    ap.add_argument("--max-per-area", type=int, help="most items an area, both designs (default: as deployed, 10)")
    ap.add_argument("--joint-se", type=float, help="SE target of the multidimensional test alone (default: --se)")
    ap.add_argument("--joint-rule", default="dprule", choices=["dprule", "drule", "trule", "arule"])
    ap.add_argument("--joint-estimator", default="map", choices=["map", "eap"], help="selects and stops")
    ap.add_argument("--min-per-area", type=int, help="fewest items an area, both designs (default: as deployed)")
    ap.add_argument(
        "--joint-min", type=int, help="fewest own items an area, the joint test alone (default: --min-per-area)"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "mcat_study.json")
    args = ap.parse_args(argv)
    variant = {
        "joint_se": args.joint_se,
        "rule": args.joint_rule,
        "estimator": args.joint_estimator,
        "joint_min": args.joint_min,
        "se": args.se,
        "min_per_area": args.min_per_area,
        "max_per_area": args.max_per_area,
    }
    results = []
    if "default" in args.banks:
        from digiskill.bank.default import load_default

        bank = load_default()
        found = bank.params.latent_correlation()
        if found is None:
            raise SystemExit("the default parameter set has no latent correlation")
        areas, corr = found
        cuts = {a: [bank.cut_scores.areas[a].cuts[k] for k in sorted(bank.cut_scores.areas[a].cuts)] for a in areas}
        results.append(run_bank("default bank", bank.params, np.asarray(corr), cuts, args.n, args.seed, variant))
    if "synthetic" in args.banks:
        params = synthetic_bank()
        corr = np.full((6, 6), 0.6) + 0.4 * np.eye(6)
        cuts = {a: [-1.0, 0.0, 1.0] for a in params.areas}
        results.append(run_bank("6 × 40 synthetic bank, ρ = 0.6", params, corr, cuts, args.n, args.seed, variant))
    for r in results:
        targets = {d["stopping"]["se_target"] for d in r["designs"]} | {0.40, 0.39, 0.38}
        r["information_bound"] = [
            information_bound(np.asarray(r["correlation"]), se) for se in sorted(targets, reverse=True)
        ]
        print(markdown(r), end="\n\n")
        for b in r["information_bound"]:
            print(
                f"BOUND {r['bank']} | posterior SD {b['se']:.2f} in every area | test information: joint "
                f"{b['joint']:.1f}, separate {b['separate']:.1f}, at most {b['saving']:.1%} less"
            )
        r["summary"] = summary(r)
        for row in r["summary"]:
            for name in ("final", "final_eap"):
                c = row[name]
                print(
                    f"SUMMARY {r['bank']} | seed {r['seed']} | {row['design']} | {name} | {row['items']:.1f} items | "
                    f"{row['fewer']:.1%} fewer ({row['less_information']:.1%} less information) | "
                    f"accuracy {c['accuracy']:.3f} ({c['difference']:+.3f}) | areas "
                    f"{c['worst_area']:+.3f} ({c['worst_area_name']}) … {c['best_area']:+.3f}, paired SE ≤ "
                    f"{row['largest_difference_se']:.3f} | equal: {c['equal']} | not worse: {c['not_worse']}"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
