"""Multiple-group calibration: common item parameters, one latent N(μ_g, σ²_g) per group (reference N(0, 1))."""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.bank import ParameterSet
from digiskill.calibrate import calibrate
from digiskill.errors import InputError
from digiskill.irt.quadrature import Quadrature


def _simulate(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, n: int, mean: float, sd: float) -> np.ndarray:
    theta = rng.normal(mean, sd, n)
    return (rng.random((n, a.size)) < 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))).astype(int)


@pytest.fixture(scope="module")
def two_groups() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20261128)
    a = rng.uniform(0.7, 2.0, 20)
    b = rng.normal(0.0, 1.0, 20)
    x = np.vstack([_simulate(rng, a, b, 3000, 0.0, 1.0), _simulate(rng, a, b, 2000, -0.5, 1.3)])
    return x, np.array(["ref"] * 3000 + ["foc"] * 2000), a, b


def _loglik_by_hand(x: np.ndarray, labels: np.ndarray, result) -> float:
    """Σ_g Σ_n log Σ_q w_gq Π_j P_j(x_nj | θ_q), straight from the definition (2PL, dense loops over groups)."""
    theta = Quadrature.normal().points
    p = 1.0 / (1.0 + np.exp(-result.params.a * (theta[:, None] - result.params.b[:, 0])))  # (Q, J)
    total = 0.0
    for g, name in enumerate(result.group_labels):
        w = np.exp(-0.5 * ((theta - result.group_latent_mean[g]) / result.group_latent_sd[g]) ** 2)
        xx = x[labels == name]
        like = np.exp(xx @ np.log(p).T + (1 - xx) @ np.log1p(-p).T)
        total += float(np.log(like @ (w / w.sum())).sum())
    return total


def test_two_group_2pl_recovers_the_focal_distribution_and_its_loglik_is_the_definition(two_groups) -> None:
    x, labels, a, b = two_groups
    r = calibrate(x, "2pl", groups=labels, reference_group="ref")
    assert r.converged
    assert r.group_labels == ("ref", "foc")
    assert r.group_latent_mean[0] == 0.0 and r.group_latent_sd[0] == 1.0
    # true focal N(-0.5, 1.3²); with N = 2000 the SEs are about 0.04 and 0.035 (SD via the variance's SE)
    assert r.group_latent_mean[1] == pytest.approx(-0.5, abs=3 * r.se_group_latent_mean[1])
    se_sd = r.se_group_latent_var[1] / (2 * r.group_latent_sd[1])
    assert r.group_latent_sd[1] == pytest.approx(1.3, abs=3 * se_sd)
    assert 0.02 < r.se_group_latent_mean[1] < 0.06
    assert np.isnan(r.se_group_latent_mean[0]) and np.isnan(r.se_group_latent_var[0])
    assert np.sqrt(np.mean((r.params.a - a) ** 2)) < 0.12
    assert np.sqrt(np.mean((r.params.b[:, 0] - b) ** 2)) < 0.08
    assert r.parameter_names[-2:] == ("latent.mean[foc]", "latent.var[foc]")
    assert r.n_parameters == 2 * 20 + 2
    assert r.loglik == pytest.approx(_loglik_by_hand(x, labels, r), abs=1e-6)
    # ignoring the groups loses fit: the single-group model is nested (focal mean 0, SD 1)
    single = calibrate(x, "2pl")
    assert r.loglik - single.loglik > 50


def test_groups_from_one_population_add_about_nothing(two_groups) -> None:
    x, labels, _, _ = two_groups
    ref = x[labels == "ref"]
    split = np.where(np.arange(ref.shape[0]) % 2 == 0, "A", "B")
    grouped = calibrate(ref, "2pl", groups=split)
    single = calibrate(ref, "2pl")
    gain = grouped.loglik - single.loglik
    assert -1e-4 < gain < 6.9  # 2 extra parameters: 2·gain ~ χ²(2); 6.9 is its 0.999 quantile / 2
    assert abs(grouped.group_latent_mean[1]) < 0.15 and abs(grouped.group_latent_sd[1] - 1) < 0.15


def test_pattern_collapsing_keeps_groups_apart(two_groups) -> None:
    x, labels, _, _ = two_groups
    cols = slice(0, 6)  # few items: many repeated patterns shared by both groups
    merged = calibrate(x[:, cols], "2pl", groups=labels, collapse=True, se="none")
    plain = calibrate(x[:, cols], "2pl", groups=labels, collapse=False, se="none")
    assert merged.loglik == pytest.approx(plain.loglik, abs=1e-6)
    np.testing.assert_allclose(merged.group_latent_mean, plain.group_latent_mean, atol=1e-5)


def test_oakes_se_of_the_focal_mean_matches_the_spread_over_replications() -> None:
    rng = np.random.default_rng(7)
    a = rng.uniform(0.8, 1.8, 10)
    b = rng.normal(0.0, 0.8, 10)
    labels = np.array(["r"] * 600 + ["f"] * 600)
    means, ses, ses_cp = [], [], []
    for _ in range(20):
        x = np.vstack([_simulate(rng, a, b, 600, 0.0, 1.0), _simulate(rng, a, b, 600, 0.4, 0.8)])
        r = calibrate(x, "2pl", groups=labels, reference_group="r")
        means.append(r.group_latent_mean[1])
        ses.append(r.se_group_latent_mean[1])
        cp = calibrate(x, "2pl", groups=labels, reference_group="r", se="crossprod")
        ses_cp.append(cp.se_group_latent_mean[1])
    spread = float(np.std(means, ddof=1))
    assert np.mean(means) == pytest.approx(0.4, abs=0.05)
    assert 0.7 < np.mean(ses) / spread < 1.4
    assert np.mean(ses_cp) == pytest.approx(np.mean(ses), rel=0.15)


def test_rasch_groups_estimate_every_variance_and_anchors_free_every_group(two_groups) -> None:
    x, labels, _, _ = two_groups
    r = calibrate(x[:, :10], "rasch", groups=labels, reference_group="ref", se="none")
    assert r.group_latent_mean[0] == 0.0 and r.group_latent_sd[0] != 1.0
    assert "latent.var[ref]" in r.parameter_names and "latent.mean[ref]" not in r.parameter_names
    # anchored on a set from the reference group: both groups get a mean and SD on the anchors' scale
    base = ParameterSet.from_calibration(calibrate(x[labels == "ref"], "2pl", se="none"), "base")
    anchored = calibrate(x, "2pl", groups=labels, anchors=base.as_fixed_items(), se="none")
    assert anchored.group_labels == ("foc", "ref")  # sorted labels; no reference needed on an anchored scale
    assert abs(anchored.group_latent_mean[1]) < 0.06 and abs(anchored.group_latent_sd[1] - 1) < 0.06
    assert anchored.group_latent_mean[0] == pytest.approx(-0.5, abs=0.12)


def test_start_values_only_speed_things_up(two_groups) -> None:
    x, labels, _, _ = two_groups
    cold = calibrate(x, "2pl", groups=labels, se="none", tol=1e-6)
    warm = calibrate(x, "2pl", groups=labels, se="none", tol=1e-6, start=cold)
    assert warm.loglik == pytest.approx(cold.loglik, abs=1e-6)
    np.testing.assert_allclose(warm.params.a, cold.params.a, atol=1e-5)
    assert warm.iterations <= 3 < cold.iterations
    items_only = calibrate(
        x,
        "2pl",
        groups=labels,
        se="none",
        tol=1e-6,
        start=ParameterSet.from_calibration(cold, "start").as_fixed_items(),
    )
    assert items_only.loglik == pytest.approx(cold.loglik, abs=1e-6)


def test_bad_group_labels_are_input_errors(two_groups) -> None:
    x, labels, _, _ = two_groups
    holes = labels.astype(object)
    holes[[4, 9]] = None
    with pytest.raises(InputError, match=r"2 row\(s\) have no group label \(rows 5, 10\)"):
        calibrate(x, "2pl", groups=holes)
    with pytest.raises(InputError, match="reference group 'nope' not found; group labels present: foc, ref"):
        calibrate(x, "2pl", groups=labels, reference_group="nope")
    with pytest.raises(InputError, match="3 group labels given for 5000 response rows"):
        calibrate(x, "2pl", groups=["a", "b", "c"])


def test_fit_report_refuses_a_multiple_group_result(two_groups) -> None:
    from digiskill.calibrate.fit import fit_report

    x, labels, _, _ = two_groups
    r = calibrate(x[:, :5], "2pl", groups=labels, se="none")
    with pytest.raises(ValueError, match="single-group calibration; this one has groups foc, ref"):
        fit_report(r, x[:, :5])
