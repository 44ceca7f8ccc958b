"""IRT likelihood-ratio DIF from two-group calibrations: power on a shifted item, the null distribution of G² on
data without DIF (the fixed-anchor approximation it replaces had mean G² ≈ 4 on df 2 here), GRM items, and
untestable items."""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.calibrate import calibrate
from digiskill.calibrate.dif import benjamini_hochberg, lr_dif
from digiskill.errors import InputError
from digiskill.irt.items import GRADED, ItemArrays
from digiskill.irt.response import probability


def _simulate_2pl(rng: np.random.Generator, n: int, j: int, focal_mean: float, shift: dict[int, float]):
    """Reference N(0, 1), focal N(focal_mean, 1), 2PL; ``shift[k]`` makes item k that much harder for the focal
    group."""
    a = rng.uniform(0.8, 1.8, j)
    b = rng.normal(0.0, 0.8, j)
    focal = np.repeat([False, True], n)
    theta = rng.normal(0.0, 1.0, 2 * n) + focal_mean * focal
    bb = np.tile(b, (2 * n, 1))
    for k, d in shift.items():
        bb[focal, k] += d
    x = (rng.random((2 * n, j)) < 1.0 / (1.0 + np.exp(-a * (theta[:, None] - bb)))).astype(int)
    return x, np.where(focal, "F", "R"), theta


def test_lr_dif_finds_the_shifted_item_and_only_it() -> None:
    x, group, _theta = _simulate_2pl(np.random.default_rng(20240611), 2000, 12, -0.5, {3: 0.6})
    r = lr_dif(x, group, "F", "R", models="2pl")
    assert r.tested.all() and (r.df == 2).all() and r.all_converged
    assert (r.n_reference, r.n_focal) == (2000, 2000)
    assert r.flagged() == ("Item.4",)
    assert r.p[3] < 1e-20
    assert r.g2[3] == pytest.approx(2 * (r.loglik_m1[3] - r.loglik_m0))
    assert (r.loglik_m1 >= r.loglik_m0 - 1e-6).all()  # M0 is nested in every M1
    assert r.focal_mean == pytest.approx(-0.5, abs=3 * r.se_focal_mean + 0.03)
    assert 0.02 < r.se_focal_mean < 0.06 and 0.02 < r.se_focal_sd < 0.06
    # the item is about 0.6 harder for the focal group; the anchors' common estimates are in between
    assert r.b_focal[3, 0] - r.b_reference[3, 0] == pytest.approx(0.6, abs=0.2)
    assert r.b_reference[3, 0] < r.b_common[3, 0] < r.b_focal[3, 0]
    rows = r.to_rows()
    assert rows[3]["flag"] is True and rows[3]["df"] == 2 and rows[3]["item"] == "Item.4"
    assert "Item.4  *" in r.summary() and "two-group calibration" in r.summary()


def test_lr_dif_m0_is_the_two_group_calibration() -> None:
    x, group, _theta = _simulate_2pl(np.random.default_rng(3), 600, 8, 0.3, {})
    r = lr_dif(x, group, "F", "R")
    m0 = calibrate(x, "2pl", groups=group, reference_group="R", se="none")
    assert r.loglik_m0 == pytest.approx(m0.loglik, abs=1e-6)
    assert r.focal_mean == pytest.approx(m0.group_latent_mean[1], abs=1e-5)
    np.testing.assert_allclose(r.a_common, m0.params.a, atol=1e-5)
    # M1 for item 2 by hand: its column split by group, every other item common
    foc = group == "F"
    x1 = np.column_stack([x, np.where(foc, x[:, 1], -1)])
    x1[foc, 1] = -1
    m1 = calibrate(x1, "2pl", groups=group, reference_group="R", se="none")
    assert r.loglik_m1[1] == pytest.approx(m1.loglik, abs=1e-5)
    assert r.a_focal[1] == pytest.approx(m1.params.a[-1], abs=1e-3)


def test_lr_dif_g2_follows_chi2_without_dif() -> None:
    rng = np.random.default_rng(3)
    g2 = []
    for _ in range(6):
        x, group, _theta = _simulate_2pl(rng, 1000, 12, -0.5, {})
        g2 += list(lr_dif(x, group, "F").g2)
    g2 = np.array(g2)  # 72 statistics, χ²(2) under the null: mean 2, 5 % above 5.99
    assert 1.3 < g2.mean() < 2.7
    assert (g2 > 5.991).mean() < 0.12


def test_lr_dif_grm_has_df_k_and_other_models_are_not_tested() -> None:
    rng = np.random.default_rng(5)
    n, k = 800, 4
    focal = np.repeat([False, True], n)
    theta = rng.normal(0.0, 1.0, 2 * n) - 0.3 * focal
    a2 = rng.uniform(0.9, 1.6, 6)
    b2 = rng.normal(0.0, 0.7, 6)
    x2 = (rng.random((2 * n, 6)) < 1.0 / (1.0 + np.exp(-a2 * (theta[:, None] - b2)))).astype(int)
    g_items = ItemArrays.polytomous(GRADED, [1.2, 1.5, 1.0], [[-1.0, 0.0, 1.0], [-0.5, 0.3, 1.2], [-1.2, -0.2, 0.8]])
    probs = probability(theta, g_items)  # (2n, 3, 4)
    poly = (rng.random((2 * n, 3, 1)) > np.cumsum(probs, axis=2)).sum(axis=2)
    x = np.hstack([x2, poly]).astype(float)
    x[rng.random(x.shape) < 0.03] = np.nan  # a few missing responses (full-information likelihood)
    models = ["2pl"] * 6 + ["grm", "grm", "gpcm"]
    r = lr_dif(x, np.where(focal, "f", "r"), "f", models=models)
    assert r.tested.tolist() == [True] * 8 + [False]
    assert r.df.tolist() == [2] * 6 + [k, k, 0]
    assert "gpcm" in r.reason[8] and np.isnan(r.g2[8]) and not r.flag[8]
    assert np.isfinite(r.p[:8]).all() and (r.g2[:8] >= 0).all()
    assert not r.flag.any()  # no DIF was simulated
    assert np.isfinite(r.b_focal[6]).sum() == k - 1 and np.isfinite(r.b_reference[6]).sum() == k - 1
    assert abs(r.focal_mean - (-0.3)) < 0.15


def test_an_item_with_a_category_one_group_never_used_is_not_tested_with_the_reason() -> None:
    rng = np.random.default_rng(11)
    x, group, theta = _simulate_2pl(rng, 400, 6, 0.0, {})
    graded = ItemArrays.polytomous(GRADED, [1.3], [[-0.5, 1.8]])
    poly = (rng.random((x.shape[0], 1)) > np.cumsum(probability(theta, graded)[:, 0, :], axis=1)).sum(axis=1)
    poly[(group == "F") & (poly == 2)] = 1  # the focal group never reaches the top category
    x = np.column_stack([x, poly])
    r = lr_dif(x, group, "F", models=["2pl"] * 6 + ["grm"])
    assert r.tested[:6].all() and not r.tested[6]
    assert "Item.7 (focal)" in r.reason[6] and "category 2 of 0..2 was never used" in r.reason[6]
    assert np.isnan(r.g2[6]) and np.isfinite(r.a_common[6])


def test_lr_dif_bad_groups_are_input_errors() -> None:
    x, group, _theta = _simulate_2pl(np.random.default_rng(1), 100, 6, 0.0, {})
    with pytest.raises(InputError, match="focal group 'nope' not found"):
        lr_dif(x, group, "nope")
    with pytest.raises(InputError, match="too few persons in the focal group: 100"):
        lr_dif(x, group, "F", min_group_size=500)


def test_benjamini_hochberg_by_hand() -> None:
    # p sorted 0.01, 0.02, 0.03, 0.5 (m = 4): p*m/k = 0.04, 0.04, 0.04, 0.5, then the running minimum from the top
    q = benjamini_hochberg(np.array([0.03, np.nan, 0.5, 0.01, 0.02]))
    np.testing.assert_allclose(q, [0.04, np.nan, 0.5, 0.04, 0.04])
