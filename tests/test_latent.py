"""The latent correlation of the areas: the parameter-set field and its estimation with fixed items."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from digiskill.bank import load_parameter_set
from digiskill.bank.parameters import LatentCorrelation, ParameterSet
from digiskill.calibrate.latent import estimate_latent_correlation, grid_loglik, pair_counts
from digiskill.errors import InputError
from digiskill.irt import ItemArrays
from digiskill.irt.response import probability
from digiskill.irt.sampling import draw_categories

ROOT = Path(__file__).resolve().parents[1]
PROVISIONAL = ROOT / "calibration" / "provisional"


def _pilot_module():
    spec = importlib.util.spec_from_file_location("pilot", PROVISIONAL / "pilot.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _set(correlation: dict | None) -> dict:
    latent = {} if correlation is None else {"correlation": correlation}
    return {
        "schema": "digiskill.parameters/1",
        "id": "t",
        "created": "2026-01-01T00:00:00Z",
        "engine": "test",
        "calibration": {"model": "2pl", "latent": latent},
        "items": [
            {"id": f"{a}{j}", "model": "2pl", "a": 1.0, "b": 0.0, "area": a} for a in ("x", "y", "z") for j in range(2)
        ],
    }


def test_a_valid_correlation_is_stored_and_restricted_to_areas_in_their_order() -> None:
    m = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.6], [0.3, 0.6, 1.0]]
    params = ParameterSet.model_validate(_set({"areas": ["x", "y", "z"], "matrix": m}))
    areas, r = params.latent_correlation()
    assert areas == ["x", "y", "z"] and r.tolist() == m
    areas, r = params.latent_correlation(["z", "x"])
    assert areas == ["z", "x"] and r.tolist() == [[1.0, 0.3], [0.3, 1.0]]
    with pytest.raises(InputError, match="area\\(s\\) w not in the latent correlation"):
        params.latent_correlation(["x", "w"])
    assert ParameterSet.model_validate(_set(None)).latent_correlation() is None  # files without it stay valid
    again = ParameterSet.model_validate_json(params.dump_json())
    assert again == params


@pytest.mark.parametrize(
    ("areas", "matrix", "message"),
    [
        (["x"], [[1.0]], "at least 2"),
        (["x", "x"], [[1.0, 0.5], [0.5, 1.0]], "given twice: x"),
        (["x", "y"], [[1.0, 0.5]], "must be 2 × 2"),
        (["x", "y"], [[1.0, 0.5], [0.4, 1.0]], "not symmetric"),
        (["x", "y"], [[1.0, 0.5], [0.5, 0.9]], "diagonal .* y"),
        (["x", "y"], [[1.0, 1.0], [1.0, 1.0]], "strictly in"),
        (["x", "y", "z"], [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], "not positive definite"),
    ],
)
def test_a_matrix_that_is_not_a_correlation_matrix_is_refused(areas, matrix, message) -> None:
    with pytest.raises(ValidationError, match=message):
        LatentCorrelation(areas=areas, matrix=matrix)


def test_a_correlation_naming_an_area_without_items_is_refused() -> None:
    with pytest.raises(ValidationError, match="without items in this set: w"):
        ParameterSet.model_validate(_set({"areas": ["x", "w"], "matrix": [[1.0, 0.2], [0.2, 1.0]]}))


def test_with_latent_correlation_keeps_the_items_byte_identical() -> None:
    params = ParameterSet.model_validate(_set(None))
    out = params.with_latent_correlation(["x", "y"], np.array([[1.0, 0.612345], [0.612345, 1.0]]))
    assert out.latent_correlation() == (["x", "y"], pytest.approx(np.array([[1.0, 0.6123], [0.6123, 1.0]])))
    before = json.loads(params.dump_json())
    after = json.loads(out.dump_json())
    assert after["items"] == before["items"] and after["id"] == before["id"]


def _simulate(items: list[ItemArrays], cov: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(np.zeros(len(items)), cov, size=n)
    return [draw_categories(probability(theta[:, d], it), rng, it.n_cat).astype(np.int16) for d, it in enumerate(items)]


def test_a_pair_of_areas_never_answered_together_is_refused_with_the_counts() -> None:
    items = [ItemArrays.dichotomous([1.2, 0.8], [0.0, 0.5]) for _ in range(3)]
    codes = _simulate(items, np.eye(3), 30, 1)
    codes[2][:15] = -1  # persons 0–14 answer x and y; 15–29 answer x and z only … so y and z never together
    codes[1][15:] = -1
    assert pair_counts(codes).tolist() == [[30, 15, 15], [15, 15, 0], [15, 0, 15]]
    with pytest.raises(InputError, match=r"no person answered items of both y and z.*x 30, y 15, z 15"):
        estimate_latent_correlation(codes, items, ["x", "y", "z"])


def test_em_fixed_point_matches_a_brute_force_maximum_of_the_marginal_likelihood() -> None:
    """Two areas of five 2PL items, 1,000 persons: ρ maximising the exact marginal likelihood (2-D product grid)."""
    items = [
        ItemArrays.dichotomous([1.4, 1.0, 0.8, 1.6, 1.1], [-1.0, -0.3, 0.2, 0.6, 1.2]),
        ItemArrays.dichotomous([0.9, 1.3, 1.2, 0.7, 1.5], [-1.2, -0.5, 0.0, 0.4, 0.9]),
    ]
    codes = _simulate(items, np.array([[1.0, 0.55], [0.55, 1.0]]), 1000, 7)
    est = estimate_latent_correlation(codes, items, ["x", "y"], scale="fixed")
    assert (
        est.converged
        and est.mean.tolist() == [0.0, 0.0]
        and est.sd.tolist() == [1.0, 1.0]
        and est.n_persons.tolist() == [[1000, 1000], [1000, 1000]]
    )

    points = np.linspace(-6, 6, 121)
    w = points[1] - points[0]
    lik = [np.exp(grid_loglik(c, it, points)) for c, it in zip(codes, items, strict=True)]  # (N, Q)
    g1, g2 = np.meshgrid(points, points, indexing="ij")

    def marginal(rho: float) -> float:
        dens = np.exp(-(g1**2 - 2 * rho * g1 * g2 + g2**2) / (2 * (1 - rho**2))) / (2 * np.pi * np.sqrt(1 - rho**2))
        per_person = np.einsum("nq,qr,nr->n", lik[0], dens * w * w, lik[1])
        return float(np.log(per_person).sum())

    grid = np.arange(0.30, 0.80, 0.005)
    best = grid[np.argmax([marginal(r) for r in grid])]
    assert est.correlation[0, 1] == pytest.approx(best, abs=0.01)
    assert est.loglik == pytest.approx(marginal(est.correlation[0, 1]), abs=1.0)


def test_free_scale_matches_a_direct_maximum_of_the_exact_marginal_likelihood_and_ignores_the_metric() -> None:
    """Two areas of five 2PL items, 1,000 persons from N(μ, Σ) with μ = (0.3, −0.2), SDs (1.2, 0.8), ρ = 0.5: the
    free-scale EM is the maximum of the exact (2-D product grid) marginal likelihood over all five parameters, and
    rescaling an area's items (θ → s θ + m) moves its mean and SD and leaves the correlation alone."""
    from scipy.optimize import minimize

    items = [
        ItemArrays.dichotomous([1.4, 1.0, 0.8, 1.6, 1.1], [-1.0, -0.3, 0.2, 0.6, 1.2]),
        ItemArrays.dichotomous([0.9, 1.3, 1.2, 0.7, 1.5], [-1.2, -0.5, 0.0, 0.4, 0.9]),
    ]
    sd = np.array([1.2, 0.8])
    true_cov = np.outer(sd, sd) * np.array([[1.0, 0.5], [0.5, 1.0]])
    rng = np.random.default_rng(5)
    theta = rng.multivariate_normal([0.3, -0.2], true_cov, size=1000)
    codes = [draw_categories(probability(theta[:, d], it), rng, it.n_cat) for d, it in enumerate(items)]
    est = estimate_latent_correlation(codes, items, ["x", "y"], tol=1e-6)
    assert est.converged

    points = np.linspace(-6, 6, 97)
    lik = [np.exp(grid_loglik(c, it, points)) for c, it in zip(codes, items, strict=True)]
    g1, g2 = np.meshgrid(points, points, indexing="ij")

    def negative_loglik(x: np.ndarray) -> float:  # x = (μ1, μ2, log σ1, log σ2, atanh ρ)
        s1, s2, rho = np.exp(x[2]), np.exp(x[3]), np.tanh(x[4])
        u, v = (g1 - x[0]) / s1, (g2 - x[1]) / s2
        dens = np.exp(-(u**2 - 2 * rho * u * v + v**2) / (2 * (1 - rho**2))) / (
            2 * np.pi * s1 * s2 * np.sqrt(1 - rho**2)
        )
        dens *= (points[1] - points[0]) ** 2
        return -float(np.log(np.einsum("nq,qr,nr->n", lik[0], dens, lik[1])).sum())

    start = np.array([*est.mean, *np.log(est.sd), np.arctanh(est.correlation[0, 1])])
    best = minimize(negative_loglik, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-4}).x
    assert est.mean == pytest.approx(best[:2], abs=0.01)
    assert est.sd == pytest.approx(np.exp(best[2:4]), abs=0.01)
    assert est.correlation[0, 1] == pytest.approx(np.tanh(best[4]), abs=0.01)
    assert abs(est.correlation[0, 1] - 0.5) < 0.07 and est.sd == pytest.approx(sd, abs=0.12)

    # the y area's items on a metric θ' = 2 θ + 1: the same persons and answers, the same correlation
    moved = ItemArrays.dichotomous(np.asarray(items[1].a) / 2, 2 * np.asarray(items[1].b) + 1)
    again = estimate_latent_correlation(codes, [items[0], moved], ["x", "y"], tol=1e-6)
    assert again.correlation[0, 1] == pytest.approx(est.correlation[0, 1], abs=0.003)
    assert again.sd[1] == pytest.approx(2 * est.sd[1], abs=0.01) and again.mean[1] == pytest.approx(
        2 * est.mean[1] + 1, abs=0.01
    )
    fixed = estimate_latent_correlation(codes, [items[0], moved], ["x", "y"], scale="fixed")
    assert abs(fixed.correlation[0, 1] - est.correlation[0, 1]) > 0.05  # N(0, 1) on the wrong metric biases it


@pytest.mark.slow
def test_the_provisional_correlation_pilot_recovers_every_correlation_within_0_03() -> None:
    """The stored correlation pilot design (``data/correlation-design.json``: 5,000 simulees × the 11 most informative
    items of every area, 66 items, seed 2027): the data simulated from the generating parameters and estimated with
    the items fixed at their calibrated values recover every correlation within 0.03 of the truth (0.6), and the
    estimate is the one stored in ``params.json``."""
    pilot = _pilot_module()
    design = json.loads((PROVISIONAL / "data" / "correlation-design.json").read_text())
    calibrated = load_parameter_set(PROVISIONAL / "params.json")
    areas = list(design["areas"])
    by_area = {a: calibrated.to_arrays([it.id for it in calibrated.items if it.area == a]) for a in areas}
    assert [pilot.correlation_form(by_area[a]) for a in areas] == [design["areas"][a] for a in areas]
    assert design["n"] == 5000 and design["seed"] == pilot.CORRELATION_SEED and design["items_per_area"] == 11
    gen = load_parameter_set(PROVISIONAL / "data" / "generating-params.json")
    true = np.full((6, 6), design["rho"]) + (1 - design["rho"]) * np.eye(6)
    forms = [design["areas"][a] for a in areas]
    codes, _ = pilot.simulate_correlation_pilot([gen.to_arrays(ids) for ids in forms], true, seed=design["seed"])
    est = estimate_latent_correlation(codes, [calibrated.to_arrays(ids) for ids in forms], areas)
    assert est.converged
    assert np.abs(est.correlation - true).max() <= 0.03
    assert calibrated.latent_correlation(areas)[1] == pytest.approx(est.correlation, abs=1e-4)


@pytest.mark.slow
def test_recovery_of_six_unequal_correlations_from_5000_simulees() -> None:
    """5,000 simulees answer form 1 of every area (21–22 items per area, the provisional bank's generating
    parameters); the true correlations 0.45–0.75 are recovered within 0.03."""
    pilot = _pilot_module()
    gen = load_parameter_set(PROVISIONAL / "data" / "generating-params.json")
    design = json.loads((PROVISIONAL / "data" / "design.json").read_text())
    areas = list(design["areas"])
    items = [gen.to_arrays(design["areas"][a]["forms"][0]) for a in areas]
    true = np.array([[0.45 + 0.3 * ((7 * i + 7 * k + i * k) % 6) / 5 for k in range(6)] for i in range(6)])
    true = (true + true.T) / 2
    np.fill_diagonal(true, 1.0)
    codes, _ = pilot.simulate_correlation_pilot(items, true, n=5000, seed=11)
    est = estimate_latent_correlation(codes, items, areas)
    assert est.converged
    assert np.abs(est.correlation - true).max() < 0.03
