"""Ability estimation: published values (R mirt), estimating equations, special patterns, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from digiskill.irt import (
    GRADED,
    PARTIAL_CREDIT,
    ItemArrays,
    Quadrature,
    eap,
    estimate,
    map_estimate,
    ml_estimate,
    probability,
    sum_score_eap,
    wle_estimate,
)
from digiskill.irt.estimation import (
    ALL_MAX,
    ALL_MIN,
    EMPTY,
    OK,
    _ScoreFunction,
    leave_one_out_sum_score_likelihoods,
    sum_score_likelihoods,
)
from digiskill.irt.likelihood import encode_responses, gather_at_responses

# LSAT7 2PL, R mirt 1.45.5 (tests/testthat/test-01-mirtOne.R): slopes a1 and intercepts d.
LSAT7_A = np.array([0.988, 1.081, 1.706, 0.7651, 0.7358])
LSAT7_D = np.array([1.8561, 0.808, 1.8043, 0.486, 1.8545])
# Science GRM, R mirt (print-method example): (a1, d1, d2, d3) per item.
SCIENCE = np.array(
    [
        [1.041, 4.864, 2.640, -1.466],
        [1.226, 2.924, 0.901, -2.266],
        [2.296, 5.238, 2.216, -1.965],
        [1.095, 3.348, 0.992, -1.688],
    ]
)


@pytest.fixture
def lsat7() -> ItemArrays:
    return ItemArrays.dichotomous(LSAT7_A, -LSAT7_D / LSAT7_A)


@pytest.fixture
def science() -> ItemArrays:
    a = SCIENCE[:, 0]
    return ItemArrays.polytomous(GRADED, a, -SCIENCE[:, 1:] / a[:, None], ids=["Comfort", "Work", "Future", "Benefit"])


def random_bank(rng: np.random.Generator, j: int) -> ItemArrays:
    return ItemArrays.dichotomous(rng.lognormal(0, 0.3, j), rng.normal(0, 1, j))


def simulate(rng: np.random.Generator, bank: ItemArrays, theta: np.ndarray) -> np.ndarray:
    """Responses drawn by inverting the cumulative category probabilities."""
    p = probability(theta, bank)
    u = rng.random(p.shape[:2])[..., None]
    return (u > np.cumsum(p, axis=-1)).sum(axis=-1).astype(float)


def test_lsat7_sum_score_eap_table_matches_mirt(lsat7: ItemArrays) -> None:
    table = sum_score_eap(lsat7)
    np.testing.assert_allclose(
        table.theta, [-1.86979, -1.431861, -0.9488463, -0.4131963, 0.1517289, 0.7271877], atol=1e-4
    )
    np.testing.assert_allclose(table.se, [0.6927032, 0.6838697, 0.6942298, 0.7210951, 0.758772, 0.8009335], atol=1e-4)
    np.testing.assert_allclose(
        table.expected_counts(1000), [10.08994, 44.65882, 109.773, 207.7391, 319.1854, 308.5536], atol=0.01
    )
    assert table.reliability([12, 40, 114, 205, 321, 308]) == pytest.approx(0.4319948, abs=1e-4)
    assert table.prob.sum() == pytest.approx(1.0)


def test_sum_score_eap_equals_pattern_eap_for_rasch_items() -> None:
    # With equal slopes the sum score is sufficient: every pattern with the same sum has the same EAP.
    bank = ItemArrays.dichotomous(1.0, [-1.0, 0.0, 0.5, 1.2])
    patterns = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=float)
    e = eap(patterns, bank)
    table = sum_score_eap(bank)
    np.testing.assert_allclose(e.theta, table.theta[[1, 1, 2, 2]], atol=1e-12)


def test_science_grm_eap_of_pattern_1234(science: ItemArrays) -> None:
    # mirt: theta = -0.3494903, SE 0.6004922 with full-precision estimates; these parameters are the published
    # 3-decimal ones, which move the result by < 1e-3.
    e = eap(np.array([[0, 1, 2, 3]]), science)
    assert e.theta[0] == pytest.approx(-0.3494903, abs=1e-3)
    assert e.se[0] == pytest.approx(0.6004922, abs=1e-3)


def test_eap_with_missing_equals_eap_on_answered_items(lsat7: ItemArrays) -> None:
    x = np.array([[1, np.nan, 0, 1, np.nan], [np.nan, np.nan, np.nan, np.nan, 1]])
    full = eap(x, lsat7)
    sub1 = eap(np.array([[1, 0, 1.0]]), lsat7.subset([0, 2, 3]))
    sub2 = eap(np.array([[1.0]]), lsat7.subset([4]))
    np.testing.assert_allclose(full.theta, [sub1.theta[0], sub2.theta[0]], rtol=1e-12)
    np.testing.assert_array_equal(full.n_answered, [3, 1])


def test_eap_trapezoid_grid_like_catr() -> None:
    # catR's EAP: 33 points on [-4, 4], trapezoid rule. Against a fine-grid numerical integral of the same posterior.
    bank = ItemArrays.dichotomous([1.0, 1.5, 0.8], [-0.5, 0.2, 1.0])
    x = np.array([[1, 0, 1.0]])
    q = Quadrature.normal(33, (-4, 4), rule="trapezoid")
    e = eap(x, bank, q)
    grid = np.linspace(-4, 4, 33)
    p = probability(grid, bank)
    like = p[:, 0, 1] * p[:, 1, 0] * p[:, 2, 1] * np.exp(-(grid**2) / 2)
    num, den = np.trapezoid(grid * like, grid), np.trapezoid(like, grid)
    assert e.theta[0] == pytest.approx(num / den, rel=1e-12)
    assert e.se[0] == pytest.approx(np.sqrt(np.trapezoid((grid - num / den) ** 2 * like, grid) / den), rel=1e-12)


@pytest.mark.parametrize("method", ["ml", "map", "wle"])
def test_point_estimates_solve_their_estimating_equation(method: str) -> None:
    rng = np.random.default_rng(11)
    bank = ItemArrays.concat(
        [
            ItemArrays.dichotomous(rng.lognormal(0, 0.3, 10), rng.normal(0, 1, 10), 0.15, 0.97),
            ItemArrays.polytomous(GRADED, [1.2, 0.9], [[-1, 0.2, 1.0], [-0.5, 0.8]], ids=["g1", "g2"]),
            ItemArrays.polytomous(PARTIAL_CREDIT, [0.8], [[-1.0, 0.0, 1.5]], ids=["p1"]),
        ]
    )
    theta = rng.normal(size=300)
    x = simulate(rng, bank, theta)
    x[rng.random(x.shape) < 0.3] = np.nan
    e = estimate(x, bank, method)
    ok = e.status == OK
    codes = encode_responses(x, bank)
    s, _ = _ScoreFunction(bank, method, 0.0, 1.0).score_and_slope(e.theta[ok], codes[ok])
    assert np.abs(s).max() < 1e-6
    # a maximum, not a minimum: the objective is lower a little to either side (for ML/MAP)
    if method != "wle":

        def objective(t: np.ndarray) -> np.ndarray:
            from digiskill.irt import log_probability

            v = gather_at_responses(log_probability(t, bank), codes[ok])
            return v - 0.5 * t**2 if method == "map" else v

        best = objective(e.theta[ok])
        assert np.all(best >= objective(e.theta[ok] + 1e-3)) and np.all(best >= objective(e.theta[ok] - 1e-3))


def test_ml_matches_closed_form_for_rasch() -> None:
    # Rasch with all difficulties 0: ML solves n·σ(θ) = r, so θ = log(r / (n − r)); SE = 1/sqrt(n p q).
    bank = ItemArrays.dichotomous(1.0, np.zeros(8))
    x = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 1]], dtype=float)
    e = ml_estimate(x, bank)
    r = np.array([3, 7])
    np.testing.assert_allclose(e.theta, np.log(r / (8 - r)), atol=1e-8)
    p = r / 8
    np.testing.assert_allclose(e.se, 1 / np.sqrt(8 * p * (1 - p)), rtol=1e-8)


def test_wle_is_finite_for_perfect_scores_of_2pl_where_ml_is_not() -> None:
    bank = ItemArrays.dichotomous([1.0, 1.2, 0.8, 1.5], [-1.0, 0.0, 0.5, 1.0])
    x = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=float)
    w = wle_estimate(x, bank)
    m = ml_estimate(x, bank)
    assert np.all(np.isfinite(w.theta)) and -6 < w.theta[1] < w.theta[0] < 6
    assert list(w.status) == [ALL_MAX, ALL_MIN, OK]
    assert m.theta[0] == 6.0 and m.theta[1] == -6.0  # ML does not exist: the bound, flagged by status
    assert list(m.status) == [ALL_MAX, ALL_MIN, OK]


def test_empty_patterns_have_a_defined_outcome(lsat7: ItemArrays) -> None:
    x = np.full((2, 5), np.nan)
    x[1, 0] = 1
    e = eap(x, lsat7)
    assert e.status[0] == EMPTY and e.theta[0] == pytest.approx(0.0, abs=1e-12)
    assert e.se[0] == pytest.approx(Quadrature.normal().mean_sd()[1])
    mp = map_estimate(x, lsat7, prior_mean=0.5, prior_sd=2.0)
    assert (mp.theta[0], mp.se[0]) == (0.5, 2.0)
    for est in (ml_estimate(x, lsat7), wle_estimate(x, lsat7)):
        assert est.status[0] == EMPTY and np.isnan(est.theta[0]) and np.isnan(est.se[0])
        assert est.status[1] == ALL_MAX


def test_bad_responses_are_rejected_with_item_and_row(lsat7: ItemArrays) -> None:
    with pytest.raises(ValueError, match=r"row 1, item 'Item.3'.*got 2"):
        eap(np.array([[1, 0, 1, 0, 1], [1, 0, 2, 0, 1]], dtype=float), lsat7)
    with pytest.raises(ValueError, match=r"0\.5"):
        eap(np.array([[1, 0, 0.5, 0, 1]]), lsat7)


def test_simulation_recovery_and_se_calibration() -> None:
    rng = np.random.default_rng(2026)
    bank = random_bank(rng, 40)
    theta = rng.normal(size=4000)
    x = simulate(rng, bank, theta)
    x[rng.random(x.shape) < 0.25] = np.nan
    for method in ("eap", "map", "ml", "wle"):
        e = estimate(x, bank, method)
        ok = np.abs(theta) < 2.5
        rmse = np.sqrt(np.mean((e.theta[ok] - theta[ok]) ** 2))
        mean_se = np.sqrt(np.mean(e.se[ok] ** 2))
        assert rmse == pytest.approx(mean_se, rel=0.12), method  # the SEs describe the actual error
        assert abs(np.mean(e.theta - theta)) < 0.05, method
    # EAP shrinks, ML does not: the regression of estimate on truth
    slope_eap = np.polyfit(theta, estimate(x, bank, "eap").theta, 1)[0]
    slope_ml = np.polyfit(theta[np.abs(theta) < 2], estimate(x, bank, "ml").theta[np.abs(theta) < 2], 1)[0]
    assert slope_eap < 0.95 < slope_ml


def test_chunking_does_not_change_results(lsat7: ItemArrays) -> None:
    rng = np.random.default_rng(5)
    x = simulate(rng, lsat7, rng.normal(size=101))
    for method in ("eap", "ml", "wle", "map"):
        a = estimate(x, lsat7, method, chunk_size=7)
        b = estimate(x, lsat7, method)
        np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12)


def test_ml_agrees_with_girth() -> None:
    girth = pytest.importorskip("girth")
    rng = np.random.default_rng(3)
    bank = random_bank(rng, 20)
    theta = rng.normal(size=200)
    x = simulate(rng, bank, theta)
    ours = ml_estimate(x, bank)
    theirs = girth.ability_mle(x.T.astype(int), bank.b[:, 0], bank.a, no_estimate=np.nan)
    ok = ours.status == OK
    np.testing.assert_allclose(ours.theta[ok], theirs[ok], atol=2e-3)


def test_map_reproduces_ltm_empirical_bayes_scores() -> None:
    # ltm's factor.scores(method = "EB") is the posterior mode with a N(0, 1) prior and Hessian SE. LSAT6 2PL
    # (ltm(LSAT ~ z1)): 00000 -> -1.895 (0.795), 11111 -> 0.606 (0.855). REFERENCE_VALUES.md.
    b = [-3.3597341, -1.3696497, -0.2798983, -1.8659189, -3.1235725]
    a = [0.8253715, 0.7229499, 0.8904748, 0.6885502, 0.6574516]
    e = map_estimate(np.array([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]), ItemArrays.dichotomous(a, b))
    np.testing.assert_allclose(e.theta, [-1.895, 0.606], atol=5e-4)
    np.testing.assert_allclose(e.se, [0.795, 0.855], atol=5e-4)


def test_science_grm_eap_matches_mirt_to_1e4_with_full_precision_estimates() -> None:
    # mirt's published EAP of pattern (1,2,3,4) rests on its unrounded estimates; ours come from our own calibration,
    # which reproduces mirt's log-likelihood (-1608.87).
    from pathlib import Path

    from digiskill.bank.responses import read_responses
    from digiskill.calibrate import calibrate

    table = read_responses(Path(__file__).resolve().parents[1] / "examples/science/responses.csv", None)
    fit = calibrate(table.codes, "grm", item_ids=table.item_ids, se="none", tol=1e-6)
    assert fit.loglik == pytest.approx(-1608.87, abs=1e-2)
    e = eap(np.array([[0, 1, 2, 3]]), fit.params)
    assert e.theta[0] == pytest.approx(-0.3494903, abs=1e-4)
    assert e.se[0] == pytest.approx(0.6004922, abs=1e-4)


def test_leave_one_out_sum_scores_equal_the_recursion_without_each_item() -> None:
    """Forward × backward convolution = the Lord–Wingersky recursion on the other items (2 to 5 categories)."""
    rng = np.random.default_rng(8)
    parts = [
        ItemArrays.dichotomous(rng.lognormal(0, 0.3, 7), rng.normal(0, 1, 7), c=np.full(7, 0.1)),
        ItemArrays.polytomous(GRADED, [1.2, 0.8], [[-1.0, 0.5], [-1.5, -0.2, 0.7, 1.9]]),
        ItemArrays.polytomous(PARTIAL_CREDIT, [1.1, 0.6], [[-0.4, 0.3, 1.0], [0.2]]),
        ItemArrays.dichotomous([2.5, 0.4], [3.0, -4.0]),  # nearly always wrong / right: tiny tail probabilities
    ]
    items = ItemArrays.concat(parts)
    quad = Quadrature.normal()
    loo = leave_one_out_sum_score_likelihoods(items, quad)
    assert len(loo) == items.n_items
    for i in range(items.n_items):
        ref = sum_score_likelihoods(items.subset(np.delete(np.arange(items.n_items), i)), quad)
        assert loo[i].shape == ref.shape == (61, int(items.max_score.sum() - items.max_score[i]) + 1)
        shown = ref > 1e-300
        np.testing.assert_allclose(loo[i][shown], ref[shown], rtol=1e-12)
        np.testing.assert_allclose(loo[i].sum(axis=1), 1.0, rtol=1e-12)  # a distribution over scores at each node
