"""Fixed-item parameter calibration (anchors, latent mean and SD estimated) and sandwich standard errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reference_data
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from digiskill.bank import ParameterSet, load_parameter_set
from digiskill.bank.parameters import DichotomousItem, GradedItem, new_parameter_set
from digiskill.calibrate import calibrate
from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.irt import GRADED, ItemArrays, probability

DATA = reference_data("irt-datasets")
N_PERSONS = 8000  # the new group in the recovery tests


def simulate(rng: np.random.Generator, bank: ItemArrays, theta: np.ndarray) -> np.ndarray:
    p = probability(theta, bank)
    u = rng.random(p.shape[:2])[..., None]
    return (u > np.cumsum(p, axis=-1)).sum(axis=-1)


def old_scale(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str], ParameterSet]:
    """30 2PL items on the old scale; the first 15 form the anchor set."""
    a, b = rng.lognormal(0, 0.25, 30), rng.normal(0, 1, 30)
    ids = [f"I{i:02d}" for i in range(30)]
    items = [DichotomousItem(id=ids[i], model="2pl", a=float(a[i]), b=float(b[i])) for i in range(15)]
    return a, b, ids, new_parameter_set(items, set_id="old-scale")


@pytest.mark.parametrize(("mean", "sd"), [(0.5, 1.2), (0.0, 1.0)])
def test_fipc_recovers_latent_distribution_and_new_items(mean: float, sd: float) -> None:
    rng = np.random.default_rng(2006)
    a, b, ids, anchors = old_scale(rng)
    theta = rng.normal(mean, sd, N_PERSONS)
    x = simulate(rng, ItemArrays.dichotomous(a, b), theta)
    r = calibrate(x, "2pl", item_ids=ids, anchors=anchors.as_fixed_items())
    assert r.converged
    assert r.parameter_names[-2:] == ("latent.mean", "latent.var")
    assert r.n_parameters == 15 * 2 + 2
    # the latent distribution of the new group, on the old scale (N = 8000: SE(mean) ≈ 0.015, SE(sd) ≈ 0.015)
    assert abs(r.latent_mean - mean) < 0.05
    assert abs(r.latent_sd - sd) < 0.06
    assert 0.005 < r.se_latent_mean < 0.03 and r.se_latent_var is not None
    # new items on the old scale
    assert np.sqrt(np.mean((r.params.a[15:] - a[15:]) ** 2)) < 0.06
    assert np.sqrt(np.mean((r.params.b[15:, 0] - b[15:]) ** 2)) < 0.08
    # anchors exactly unchanged, without SEs of their own
    assert np.array_equal(r.params.a[:15], a[:15]) and np.array_equal(r.params.b[:15, 0], b[:15])
    assert r.anchored is not None and r.anchored[:15].all() and not r.anchored[15:].any()
    assert np.isnan(r.se.a[:15]).all() and np.isfinite(r.se.a[15:]).all()
    ps = ParameterSet.model_validate_json(ParameterSet.from_calibration(r, "new", "simulation").dump_json())
    assert ps.items[:15] == anchors.items
    assert ps.calibration.latent.mean == pytest.approx(r.latent_mean)
    assert ps.calibration.latent.sd == pytest.approx(r.latent_sd)


def test_fipc_without_prior_update_is_biased_for_a_shifted_group() -> None:
    """latent_sd="fixed" keeps N(0, 1) (Kim's NWU): the new items then absorb the shift."""
    rng = np.random.default_rng(2006)
    a, b, ids, anchors = old_scale(rng)
    x = simulate(rng, ItemArrays.dichotomous(a, b), rng.normal(0.5, 1.2, N_PERSONS))
    free = calibrate(x, "2pl", item_ids=ids, anchors=anchors.as_fixed_items(), se="none")
    fixed = calibrate(x, "2pl", item_ids=ids, anchors=anchors.as_fixed_items(), se="none", latent_sd="fixed")
    assert "latent.mean" not in fixed.parameter_names and fixed.latent_mean == 0.0
    assert fixed.loglik < free.loglik - 10
    err_free = np.abs(free.params.b[15:, 0] - b[15:]).mean()
    err_fixed = np.abs(fixed.params.b[15:, 0] - b[15:]).mean()
    assert err_fixed > 2 * err_free


def test_fipc_mixed_models_anchor_with_unused_category() -> None:
    rng = np.random.default_rng(7)
    bank = ItemArrays.concat(
        [
            ItemArrays.dichotomous(rng.lognormal(0, 0.25, 8), rng.normal(0, 1, 8)),
            ItemArrays.dichotomous([1.4], [0.3], c=0.2),
            ItemArrays.polytomous(GRADED, rng.lognormal(0, 0.25, 4), np.sort(rng.normal(0, 1, (4, 3)), axis=1)),
        ]
    )
    ids = [f"Q{i}" for i in range(bank.n_items)]
    anchor_items = [
        DichotomousItem(id=ids[i], model="2pl", a=float(bank.a[i]), b=float(bank.b[i, 0])) for i in range(4)
    ] + [
        DichotomousItem(id=ids[8], model="3pl", a=1.4, b=0.3, c=0.2),
        GradedItem(id=ids[9], model="grm", a=float(bank.a[9]), b=[float(v) for v in bank.b[9]] + [9.5]),
        DichotomousItem(id="not-in-data", model="2pl", a=1.0, b=0.0),
    ]
    anchors = new_parameter_set(anchor_items, set_id="old")
    x = simulate(rng, bank, rng.normal(-0.3, 0.9, 5000))
    models = ["2pl"] * 9 + ["grm"] * 4  # entries for anchors are replaced by the anchors' own models
    r = calibrate(x, models, item_ids=ids, anchors=anchors.as_fixed_items())
    assert r.converged and r.models[8] == "3pl"
    assert abs(r.latent_mean + 0.3) < 0.1 and abs(r.latent_sd - 0.9) < 0.1
    # the graded anchor keeps its fifth category, which nobody can reach at b = 9.5
    assert r.params.n_cat[9] == 5 and r.params.b[9, 3] == 9.5
    assert r.params.c[8] == 0.2
    ps = ParameterSet.from_calibration(r, "new")
    assert ps.items[9] == anchor_items[5] and ps.items[8] == anchor_items[4]
    assert np.abs(r.params.a[10:] - bank.a[10:]).max() < 0.3


def test_fipc_bad_anchors() -> None:
    rng = np.random.default_rng(1)
    a, b, ids, anchors = old_scale(rng)
    x = simulate(rng, ItemArrays.dichotomous(a, b), rng.normal(size=500))
    with pytest.raises(InputError, match="none of the 30 response columns"):
        calibrate(x, "2pl", anchors=anchors.as_fixed_items())  # default ids Item.1.. are not in the anchor set
    x3 = x.copy()
    x3[0, 2] = 2  # a third category for a dichotomous anchor
    with pytest.raises(InputError, match=r"I02.*anchor parameters give the item 2 categories"):
        calibrate(x3, ["2pl"] * 2 + ["grm"] + ["2pl"] * 27, item_ids=ids, anchors=anchors.as_fixed_items())


# ---------------------------------------------------------------------------------------------------- sandwich SEs
def test_science_grm_sandwich_se_matches_mirt() -> None:
    raw = np.loadtxt(DATA / "Science.csv", delimiter=",", skiprows=1).astype(int)
    r = calibrate(raw - 1, "grm", se="sandwich")
    assert r.se_method == "sandwich" and r.information_positive_definite
    # mirt SE.type = "sandwich", item 1 (a1, d1, d2, d3)
    assert_allclose(np.r_[r.se.a[0], r.se_intercepts[0]], [0.23843, 0.46794, 0.24659, 0.17162], rtol=0.01)
    oakes = calibrate(raw - 1, "grm")
    assert r.condition_number == pytest.approx(oakes.condition_number)
    assert_allclose(r.estimates, oakes.estimates)


# ---------------------------------------------------------------------------------------------------- command line
def test_cli_anchors(tmp_path: Path) -> None:
    rng = np.random.default_rng(2006)
    a, b, ids, anchors = old_scale(rng)
    x = simulate(rng, ItemArrays.dichotomous(a, b), rng.normal(0.5, 1.2, 3000))
    resp = tmp_path / "resp.csv"
    resp.write_text(
        "person," + ",".join(ids) + "\n" + "".join(f"p{n}," + ",".join(map(str, row)) + "\n" for n, row in enumerate(x))
    )
    old = tmp_path / "old.json"
    anchors.save(old)
    out = tmp_path / "new.json"
    runner = CliRunner()
    res = runner.invoke(app, ["calibrate", str(resp), "--anchors", str(old), "--out", str(out), "--se", "sandwich"])
    assert res.exit_code == 0, res.output
    ps = load_parameter_set(out)
    # anchors unchanged; the item fit on these data is added to every item
    assert [it.model_copy(update={"fit": None}) for it in ps.items[:15]] == anchors.items
    assert ps.items[0].fit is not None and ps.items[0].fit.s_x2_df is not None
    assert abs(ps.calibration.latent.mean - 0.5) < 0.1 and abs(ps.calibration.latent.sd - 1.2) < 0.1
    assert ps.calibration.se_method == "sandwich" and ps.items[20].se.a > 0
    # no anchor in the data: exit 2
    other = new_parameter_set([DichotomousItem(id="zzz", model="2pl", a=1.0, b=0.0)], set_id="other")
    other.save(tmp_path / "other.json")
    res = runner.invoke(app, ["calibrate", str(resp), "--anchors", str(tmp_path / "other.json"), "--out", str(out)])
    assert res.exit_code == 2 and "none of the 30 items" in res.stderr
    # an anchor with fewer categories than the data use: exit 2, naming the item
    x[0, 3] = 2
    resp.write_text(
        "person," + ",".join(ids) + "\n" + "".join(f"p{n}," + ",".join(map(str, row)) + "\n" for n, row in enumerate(x))
    )
    models = tmp_path / "models.csv"
    models.write_text("item,model\n" + "".join(f"{i},{'grm' if i == 'I03' else '2pl'}\n" for i in ids[15:]))
    bad = tmp_path / "bad.json"
    res = runner.invoke(
        app, ["calibrate", str(resp), "--anchors", str(old), "--item-models", str(models), "--out", str(bad)]
    )
    assert res.exit_code == 2 and not bad.exists()
    assert "I03" in res.stderr and "anchor parameters give the item 2 categories" in res.stderr


# ---------------------------------------------------------------------------------------------------- priors
def test_intercept_and_slope_priors_are_map() -> None:
    from digiskill.calibrate import Priors, prepare_responses
    from digiskill.calibrate._data import Design
    from digiskill.calibrate._problem import EMProblem
    from digiskill.irt import Quadrature

    rng = np.random.default_rng(4)
    bank = ItemArrays.concat(
        [
            ItemArrays.dichotomous(rng.lognormal(0, 0.25, 5), [-3.5, -1.0, 0.0, 1.0, 2.0]),
            ItemArrays.polytomous(GRADED, rng.lognormal(0, 0.25, 2), np.sort(rng.normal(0, 1, (2, 2)), axis=1)),
        ]
    )
    models = ["2pl"] * 5 + ["grm"] * 2
    x = simulate(rng, bank, rng.normal(size=300))
    priors = Priors(slope=(0.0, 0.5), intercept=(0.0, 1.0))
    ml = calibrate(x, models, se="none", tol=1e-7)
    mp = calibrate(x, models, priors=priors, se="none", tol=1e-7)
    assert abs(mp.intercepts[0, 0]) < abs(ml.intercepts[0, 0])  # the easy item's intercept shrinks towards 0
    assert mp.log_prior < 0 and ml.log_prior == 0
    data = prepare_responses(x)
    problem = EMProblem(data, tuple(models), Quadrature.normal().points, priors, latent_var_free=False)
    design = Design(data, dtype=np.float64)
    template = problem.start_etas()
    assert np.abs(problem.score(mp.estimates, template, design)).max() < 1e-3

    def objective(phi: np.ndarray) -> float:
        etas, latent = problem.unpack(phi, template)
        return problem.estep(etas, latent, design).loglik + problem.total_log_prior(etas)

    phi = mp.estimates + rng.normal(0, 0.05, mp.estimates.size)
    h = 1e-5
    numeric = np.array([(objective(phi + h * e) - objective(phi - h * e)) / (2 * h) for e in np.eye(phi.size)])
    assert_allclose(problem.score(phi, template, design), numeric, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="intercept"):
        Priors(intercept=(0.0, 0.0))
