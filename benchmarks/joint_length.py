"""How many items a test of 1–6 areas takes on the default bank: the multidimensional test of a configuration file
(default ``examples/multidim/joint.yaml``) against the standard test (``take_config()``: SE ≤ 0.45, 4–10 items an
area), on the same simulees and the same complete responses.

Simulees: θ ~ N(0, R) over the areas of the subset, R the bank's stored latent correlation (seeded). For a subset of
``k < 6`` areas the study takes ``--subsets`` subsets of ``k`` areas (the first in bank order, then seeded draws) with
``--n`` simulees each; all six areas once with ``--n-all``. Prints, per ``k``, the mean length of both tests and the
10th and 90th percentiles of the joint test's length; the constants ``TYPICAL_JOINT_ITEMS_PER_AREA`` and
``JOINT_EXTRA_ITEMS`` of :mod:`digiskill.cat.take_config` (what the start page announces) follow these figures.

    .venv/bin/python benchmarks/joint_length.py                # about a minute on a quiet machine
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digiskill.bank.default import load_default
from digiskill.bank.loading import load_model_file
from digiskill.bank.parameters import new_parameter_set
from digiskill.cat import CatConfig
from digiskill.cat.simulate import generate_responses, simulate
from digiskill.cat.take_config import take_config, typical_items_per_area

ROOT = Path(__file__).resolve().parent.parent


def lengths(areas: list[str], config: CatConfig, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per simulee, the whole test's length: the standard test and ``config``, over ``areas`` of the default bank."""
    from digiskill.cat import CatBank

    bank = load_default()
    found = bank.params.latent_correlation(areas)
    assert found is not None, "the default parameter set has no latent correlation"
    corr = found[1]
    params = new_parameter_set(
        [it for it in bank.params.items if it.area in areas], set_id="default-subset", provenance="joint_length.py"
    )
    if config.dimensionality == "multidimensional" and config.latent is None:  # the bank's Σ over these areas
        config = CatConfig.model_validate(
            {**config.model_dump(exclude={"latent"}), "latent": {"areas": areas, "matrix": corr.tolist()}}
        )
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(areas)), corr, size=n)
    codes = generate_responses(CatBank.from_parameters(params), theta, rng)
    out = []
    for cfg in (take_config(), config):
        sim = simulate(params, cfg, theta=theta, responses=codes, seeds=np.arange(n))
        out.append(sum(run.length for run in sim.runs))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "examples" / "multidim" / "joint.yaml")
    ap.add_argument("--n", type=int, default=400, help="simulees per subset of fewer than six areas")
    ap.add_argument("--subsets", type=int, default=3, help="subsets of each size below six")
    ap.add_argument("--n-all", type=int, default=1000, help="simulees for all six areas")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    config = load_model_file(args.config, CatConfig, what="configuration")
    every = list(load_default().params.areas)
    rng = np.random.default_rng(args.seed)
    print("| areas | standard test | multidimensional test | its 10th–90th percentile | announced per area |")
    print("| --- | --- | --- | --- | --- |")
    for k in range(1, len(every) + 1):
        if k == len(every):
            subsets = [every]
        else:
            subsets = [every[:k]] + [
                sorted(rng.choice(every, k, replace=False).tolist(), key=every.index) for _ in range(args.subsets - 1)
            ]
        n = args.n_all if k == len(every) else args.n
        pairs = [lengths(s, config, n, args.seed + i) for i, s in enumerate(subsets)]
        std, joint = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        lo, hi = np.percentile(joint, [10, 90])
        print(
            f"| {k} | {std.mean():.1f} | {joint.mean():.1f} | {lo:.0f}–{hi:.0f} | "
            f"{typical_items_per_area(config, k):.2f} × {k} = {typical_items_per_area(config, k) * k:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
