"""Item response functions: invariants (hypothesis), derivatives, and hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digiskill.irt import (
    GRADED,
    PARTIAL_CREDIT,
    ItemArrays,
    category_terms,
    expected_score,
    item_information,
    probability,
    test_information,
)

finite_theta = arrays(np.float64, st.integers(1, 12), elements=st.floats(-40, 40))
slope = st.floats(0.05, 8.0)
location = st.floats(-8.0, 8.0)


@st.composite
def banks(draw) -> ItemArrays:
    """A mixed bank: 4PL, graded and partial-credit items with random parameters."""
    c = draw(st.floats(0.0, 0.4))
    d = draw(st.floats(0.6, 1.0))
    dich = ItemArrays.dichotomous([draw(slope)], [draw(location)], [c], [d])
    n_thr = draw(st.integers(1, 4))
    thresholds = sorted(draw(st.lists(location, min_size=n_thr, max_size=n_thr, unique=True)))
    if any(b - a < 1e-3 for a, b in itertools.pairwise(thresholds)):
        thresholds = [t + 0.01 * i for i, t in enumerate(thresholds)]
    grm = ItemArrays.polytomous(GRADED, [draw(slope)], [thresholds], ids=["g"])
    steps = draw(st.lists(location, min_size=1, max_size=4))
    gpcm = ItemArrays.polytomous(PARTIAL_CREDIT, [draw(slope)], [steps], ids=["p"])
    return ItemArrays.concat([dich, grm, gpcm])


@settings(max_examples=150, deadline=None)
@given(bank=banks(), theta=finite_theta)
def test_probabilities_are_finite_and_sum_to_one(bank: ItemArrays, theta: np.ndarray) -> None:
    t = category_terms(theta, bank)
    assert np.all(np.isfinite(t.dlogp)) and np.all(np.isfinite(t.d2logp))
    present = np.arange(bank.max_cat) < bank.n_cat[:, None]
    assert np.all(np.isfinite(t.logp[..., present]))
    assert np.all(t.logp[..., ~present] == -np.inf)
    np.testing.assert_allclose(t.prob.sum(axis=-1), 1.0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(bank=banks(), theta=finite_theta)
def test_information_is_non_negative(bank: ItemArrays, theta: np.ndarray) -> None:
    info = item_information(theta, bank)
    assert np.all(np.isfinite(info)) and np.all(info >= 0)


@settings(max_examples=150, deadline=None)
@given(bank=banks(), theta=finite_theta)
def test_expected_score_is_monotone_in_theta(bank: ItemArrays, theta: np.ndarray) -> None:
    grid = np.sort(theta)
    e = expected_score(grid, bank)
    assert np.all(np.diff(e, axis=0) >= -1e-12)
    assert np.all(e >= 0) and np.all(e <= bank.max_score + 1e-12)


@settings(max_examples=100, deadline=None)
@given(bank=banks(), theta=arrays(np.float64, 5, elements=st.floats(-5, 5)))
def test_dichotomous_probability_lies_between_asymptotes(bank: ItemArrays, theta: np.ndarray) -> None:
    p1 = probability(theta, bank)[:, 0, 1]
    assert np.all(p1 >= bank.c[0] - 1e-15) and np.all(p1 <= bank.d[0] + 1e-15)


@pytest.mark.parametrize("family_bank", ["4pl", "grm", "gpcm"])
def test_derivatives_match_finite_differences(family_bank: str) -> None:
    banks_ = {
        "4pl": ItemArrays.dichotomous([1.2, 0.7, 2.0], [0.3, -1.0, 1.5], [0.2, 0.0, 0.15], [0.9, 1.0, 0.97]),
        "grm": ItemArrays.polytomous(GRADED, [1.04, 1.7], [[-4.67, -2.54, 1.41], [-1.0, 0.5]]),
        "gpcm": ItemArrays.polytomous(PARTIAL_CREDIT, [0.9, 1.3], [[-1.2, 0.3, 1.1], [0.5]]),
    }
    bank = banks_[family_bank]
    theta = np.array([-2.3, -0.4, 0.2, 1.9])
    h = 1e-5
    t0, tp, tm = (category_terms(theta + s, bank) for s in (0.0, h, -h))
    present = np.isfinite(t0.logp)
    with np.errstate(invalid="ignore"):  # −inf − (−inf) in absent categories, masked out below
        numeric = (tp.logp - tm.logp) / (2 * h)
    np.testing.assert_allclose(numeric[present], t0.dlogp[present], atol=1e-7)
    np.testing.assert_allclose(((tp.dlogp - tm.dlogp) / (2 * h))[present], t0.d2logp[present], atol=1e-7)
    # Fisher information equals minus the expected second derivative of log P
    np.testing.assert_allclose(t0.information(), -(t0.prob * t0.d2logp).sum(-1), rtol=1e-10)


def test_hand_computed_values() -> None:
    # 3PL: P(θ = b) = c + (1 − c)/2; information at θ = b: a² (P − c)²/(1 − c)² · Q/P
    bank = ItemArrays.dichotomous([1.5], [0.5], [0.2])
    p = probability(0.5, bank)[0, 1]
    assert p == pytest.approx(0.6)
    assert item_information(0.5, bank)[0] == pytest.approx(1.5**2 * (0.4 / 0.8) ** 2 * 0.4 / 0.6)
    # 2PL information a² P Q
    two = ItemArrays.dichotomous([1.7], [0.0])
    assert test_information(1.0, two) == pytest.approx(1.7**2 * (1 / (1 + np.exp(-1.7))) * (1 / (1 + np.exp(1.7))))
    # GRM: P(X ≥ k) = logistic(a(θ − b_k)), so P(X = 0) = 1 − logistic(a(θ − b_1))
    grm = ItemArrays.polytomous(GRADED, [1.2], [[-1.0, 0.0, 2.0]])
    pr = probability(0.3, grm)[0]
    cum = 1 / (1 + np.exp(-1.2 * (0.3 - np.array([-1.0, 0.0, 2.0]))))
    np.testing.assert_allclose(pr, [1 - cum[0], cum[0] - cum[1], cum[1] - cum[2], cum[2]], rtol=1e-12)
    # GPCM: P(X = k) ∝ exp(Σ_{v≤k} a(θ − b_v))
    gp = ItemArrays.polytomous(PARTIAL_CREDIT, [0.8], [[-0.5, 1.0]])
    num = np.exp([0.0, 0.8 * (0.3 + 0.5), 0.8 * (0.3 + 0.5) + 0.8 * (0.3 - 1.0)])
    np.testing.assert_allclose(probability(0.3, gp)[0], num / num.sum(), rtol=1e-12)


def test_extreme_theta_and_parameters_stay_finite() -> None:
    bank = ItemArrays.concat(
        [
            ItemArrays.dichotomous([25.0, 0.01], [-30.0, 30.0], [0.0, 0.3], [1.0, 0.8]),
            ItemArrays.polytomous(GRADED, [30.0], [[-20.0, -19.999, 20.0]], ids=["g"]),
            ItemArrays.polytomous(PARTIAL_CREDIT, [30.0], [[-20.0, 20.0]], ids=["p"]),
        ]
    )
    t = category_terms(np.array([-1e3, -6.0, 0.0, 6.0, 1e3]), bank)
    present = np.arange(bank.max_cat) < bank.n_cat[:, None]
    assert np.all(np.isfinite(t.logp[..., present]))
    assert np.all(np.isfinite(t.information()))
    np.testing.assert_allclose(t.prob.sum(-1), 1.0, atol=1e-12)
