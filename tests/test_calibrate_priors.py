"""The Normal prior on IRT difficulties (``Priors.difficulty``): value, gradient and curvature of ``log_prior`` for
every family, and its effect on a calibration (MAP shrinkage of an extreme difficulty; the common 1PL slope)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from digiskill.calibrate import Priors, calibrate, prepare_responses
from digiskill.calibrate._data import Design
from digiskill.calibrate._models import log_prior, to_irt
from digiskill.calibrate._problem import EMProblem
from digiskill.irt import DICHOTOMOUS, GRADED, PARTIAL_CREDIT, ItemArrays, Quadrature, probability

MU, SD = 0.3, 1.2
ONLY_DIFFICULTY = Priors(guessing=None, slipping=None, asymptote_slope=None, difficulty=(MU, SD))

# dichotomous rows (a, d, logit c, logit u): 2PL, 3PL, 4PL with free slopes; a fixed slope (Rasch, and the rows of
# 1PL items, whose common slope is not a free entry of the row); an anchor (nothing free)
DICH_ETA = np.array(
    [
        [1.3, -2.0, -np.inf, np.inf],
        [0.7, 1.5, -1.0, np.inf],
        [2.1, 0.4, -1.5, 2.0],
        [1.0, 0.4, -np.inf, np.inf],
        [0.8, -3.1, -np.inf, np.inf],
        [1.4, 2.2, -np.inf, np.inf],
    ]
)
DICH_FREE = np.array(
    [[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]],
    dtype=bool,
)
# graded rows (a, d1, d2, d3): four categories, three categories (d3 padded), an anchor
GRM_ETA = np.array([[1.3, 2.0, 0.5, -1.0], [0.8, 1.0, -0.5, 0.0], [1.1, 1.0, 0.0, -1.0]])
GRM_FREE = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [0, 0, 0, 0]], dtype=bool)
# partial-credit rows: GPCM with four and three categories, PCM (slope fixed at 1)
PC_ETA = np.array([[1.3, 0.5, 1.5, -1.0], [0.6, 1.0, -0.5, 0.0], [1.0, -0.4, 0.9, 0.2]])
PC_FREE = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [0, 1, 1, 1]], dtype=bool)

CASES = [
    pytest.param(DICHOTOMOUS, DICH_ETA, DICH_FREE, id="dichotomous"),
    pytest.param(GRADED, GRM_ETA, GRM_FREE, id="graded"),
    pytest.param(PARTIAL_CREDIT, PC_ETA, PC_FREE, id="partial-credit"),
]


def numeric_gradient(family: int, eta: np.ndarray, free: np.ndarray, priors: Priors) -> np.ndarray:
    """Central differences of the log prior in every finite entry of ``eta``."""
    out = np.zeros_like(eta)
    for j, c in zip(*np.nonzero(np.isfinite(eta)), strict=True):
        h = 1e-6 * max(1.0, abs(eta[j, c]))
        up, down = eta.copy(), eta.copy()
        up[j, c] += h
        down[j, c] -= h
        f_up = log_prior(family, up, free, priors, with_grad=False)[0][j]
        f_down = log_prior(family, down, free, priors, with_grad=False)[0][j]
        out[j, c] = (f_up - f_down) / (2 * h)
    return out


def expected_value(family: int, eta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``Σ_k −(b_k − μ)²/(2σ²)`` over the locations whose intercept is free, from the IRT-form conversion."""
    n_cat = np.maximum(2, 1 + free[:, 1:].sum(axis=1))  # the dichotomous conversion does not use it
    b = to_irt(family, eta, n_cat)["b"]
    on = free[:, 1 : 1 + b.shape[1]]
    return np.where(on, -((np.nan_to_num(b) - MU) ** 2) / (2 * SD * SD), 0.0).sum(axis=1)


# ---------------------------------------------------------------------------------------------------- log_prior
@pytest.mark.parametrize(("family", "eta", "free"), CASES)
def test_value_is_the_normal_log_density_of_the_locations(family: int, eta: np.ndarray, free: np.ndarray) -> None:
    value, _, _ = log_prior(family, eta, free, ONLY_DIFFICULTY)
    assert_allclose(value, expected_value(family, eta, free), rtol=1e-12)
    assert not value[~free[:, 1:].any(axis=1)].any()  # anchor rows: no prior
    # hand-computed: the 2PL row has b = 2/1.3; the first GPCM row (d = 0.5, 1.5, −1) has steps −0.5/1.3, −1/1.3,
    # 2.5/1.3, and its log prior is −(0.4687 + 1.1430 + 2.6339)/2.88 = −1.47442
    if family == DICHOTOMOUS:
        assert_allclose(value[0], -((2.0 / 1.3 - MU) ** 2) / (2 * SD * SD))
    if family == PARTIAL_CREDIT:
        steps = np.array([-0.5, -1.0, 2.5]) / 1.3
        assert_allclose(value[0], np.sum(-((steps - MU) ** 2)) / (2 * SD * SD))
        assert_allclose(value[0], -1.474421, rtol=1e-6)


@pytest.mark.parametrize(("family", "eta", "free"), CASES)
def test_gradient_matches_central_differences(family: int, eta: np.ndarray, free: np.ndarray) -> None:
    _, grad, _ = log_prior(family, eta, free, ONLY_DIFFICULTY)
    numeric = numeric_gradient(family, eta, free, ONLY_DIFFICULTY)
    d_cols = np.zeros_like(free)
    d_cols[:, 1:] = True
    if family == DICHOTOMOUS:
        d_cols[:, 2:] = False
    # every intercept entry, free or not, is the exact derivative (zero where the intercept is fixed)
    assert_allclose(grad[:, 1:], numeric[:, 1:], rtol=1e-6, atol=1e-9)
    # the slope column is the exact derivative in a for every row with an active location (free slope: chain rule
    # through a and d; fixed/common slope: the EM problem ignores it for Rasch/PCM rows and sums it for 1PL rows)
    active = free[:, 1:].any(axis=1)
    assert_allclose(grad[active, 0], numeric[active, 0], rtol=1e-6, atol=1e-9)
    assert not grad[~active].any()
    assert np.abs(grad[free & d_cols]).min() > 0  # the prior acts on every free intercept of the test rows


def test_fixed_slope_gradient_in_d_is_minus_b_deviation_over_a_sigma2() -> None:
    # rows 3 and 4 have a fixed slope: the derivative in d is −(b − μ)/σ² · ∂b/∂d = (b − μ)/(a σ²)
    _, grad, _ = log_prior(DICHOTOMOUS, DICH_ETA, DICH_FREE, ONLY_DIFFICULTY)
    a, d = DICH_ETA[3:5, 0], DICH_ETA[3:5, 1]
    b = -d / a
    assert_allclose(grad[3:5, 1], (b - MU) / (a * SD * SD), rtol=1e-12)
    assert_allclose(grad[3:5, 1], [-0.48611111, 3.10329861], rtol=1e-6)
    # and a free-slope row: ∂/∂a = −(b − μ)/σ² · (−b/a)
    b0 = 2.0 / 1.3
    assert_allclose(grad[0, 0], (b0 - MU) * b0 / (1.3 * SD * SD), rtol=1e-12)


@pytest.mark.parametrize(("family", "eta", "free"), CASES)
def test_negative_hessian_is_symmetric_psd_gauss_newton(family: int, eta: np.ndarray, free: np.ndarray) -> None:
    _, _, neg_hess = log_prior(family, eta, free, ONLY_DIFFICULTY)
    assert_allclose(neg_hess, np.swapaxes(neg_hess, 1, 2), atol=0)
    eig = np.linalg.eigvalsh(neg_hess)
    assert eig.min() > -1e-12
    assert eig.max(axis=1)[free[:, 1:].any(axis=1)].min() > 0
    # ∂²b/∂d² = 0, so on the intercept diagonal the Gauss–Newton matrix is exact: Σ_k (∂b_k/∂d)² / σ²
    a = eta[:, 0]
    if family == DICHOTOMOUS:
        expected = np.where(free[:, 1], 1 / (a * a * SD * SD), 0.0)
        assert_allclose(neg_hess[:, 1, 1], expected, rtol=1e-12)
    elif family == GRADED:
        assert_allclose(neg_hess[0, 1:, 1:], np.eye(3) / (1.3**2 * SD * SD), rtol=1e-12, atol=1e-15)
    else:  # step k uses d_k and d_{k−1}: tridiagonal [2, −1; −1, 2, −1; −1, 1] / (a² σ²)
        tri = np.array([[2.0, -1, 0], [-1, 2, -1], [0, -1, 1]])
        assert_allclose(neg_hess[0, 1:, 1:], tri / (1.3**2 * SD * SD), rtol=1e-12)
    # ... and the slope diagonal is Σ_k (b_k/a)² / σ², without the dropped exact term (b − μ)∂²b/∂a²
    b = to_irt(family, eta, np.full(eta.shape[0], eta.shape[1]))["b"][0]
    assert_allclose(neg_hess[0, 0, 0], np.sum((b / a[0]) ** 2) / (SD * SD), rtol=1e-12)


def test_difficulty_prior_adds_to_the_other_priors() -> None:
    without = Priors(slope=(0.0, 0.5), intercept=(0.0, 3.0))
    both = Priors(slope=(0.0, 0.5), intercept=(0.0, 3.0), difficulty=(MU, SD))
    parts = [log_prior(DICHOTOMOUS, DICH_ETA, DICH_FREE, p) for p in (both, without, ONLY_DIFFICULTY)]
    for total, rest, difficulty in zip(*parts, strict=True):  # value, gradient, negative Hessian
        assert_allclose(total, rest + difficulty, rtol=1e-12, atol=1e-15)


def test_zero_slope_gives_minus_infinity_and_finite_derivatives() -> None:
    eta = np.array([[0.0, 1.0, -np.inf, np.inf], [0.0, 0.0, -np.inf, np.inf]])
    free = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from 1/0
        value, grad, neg_hess = log_prior(DICHOTOMOUS, eta, free, ONLY_DIFFICULTY)
    assert value.tolist() == [-np.inf, -np.inf]
    assert np.isfinite(grad).all() and np.isfinite(neg_hess).all()


@pytest.mark.parametrize("bad", [(0.0, 0.0), (0.0, -1.0), (0.0,), (0.0, float("nan"))])
def test_difficulty_prior_needs_a_positive_sd(bad: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"Priors\.difficulty must be Normal"):
        Priors(difficulty=bad)  # type: ignore[arg-type]


def test_default_has_no_difficulty_prior() -> None:
    assert Priors().difficulty is None
    value, grad, _ = log_prior(GRADED, GRM_ETA, GRM_FREE, Priors())
    assert not value.any() and not grad.any()  # GRM stays maximum likelihood


# ---------------------------------------------------------------------------------------------------- calibration
SEED = 20240611


def _simulate_2pl(seed: int, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = probability(rng.normal(size=n), ItemArrays.dichotomous(a, b))
    return (rng.random(p.shape[:2]) < p[..., 1]).astype(int)


def test_extreme_difficulty_shrinks_towards_the_prior_mean() -> None:
    a = np.array([1.2, 1.0, 1.3, 0.8, 1.1, 0.9, 1.4, 1.0, 1.2, 0.9])
    b = np.array([3.5, 0.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, -0.2, 0.3])
    x = _simulate_2pl(SEED, a, b, 300)
    assert x[:, 0].sum() == 10  # 10 of 300 persons answer the hard item correctly
    ml = calibrate(x, "2pl", se="none", tol=1e-7)
    mp = calibrate(x, "2pl", priors=Priors(difficulty=(0.0, 1.0)), se="none", tol=1e-7)
    assert ml.converged and mp.converged
    b_ml, b_mp = ml.params.b[:, 0], mp.params.b[:, 0]
    # the hard item: b 4.00 by maximum likelihood, 2.58 under N(0, 1) (its slope rises from 0.94 to 1.64)
    assert_allclose([b_ml[0], b_mp[0]], [3.998, 2.579], atol=2e-3)
    assert_allclose([ml.params.a[0], mp.params.a[0]], [0.942, 1.643], atol=2e-3)
    assert b_ml[0] - b_mp[0] > 1.0
    # the item at b = 0 barely moves: 0.115 → 0.100
    assert_allclose([b_ml[1], b_mp[1]], [0.1146, 0.0998], atol=1e-3)
    assert abs(b_ml[1] - b_mp[1]) < 0.02
    # every location beyond ±0.5 moves towards 0, none past it (those within ±0.5 by less than 0.025)
    far = np.abs(b_ml) > 0.5
    assert far.sum() == 7 and (np.abs(b_mp[far]) < np.abs(b_ml[far])).all()
    assert (np.sign(b_mp) == np.sign(b_ml)).all() and np.abs(b_mp - b_ml)[~far].max() < 0.025
    assert ml.log_prior == 0 and mp.log_prior < 0
    assert_allclose(mp.log_prior, -0.5 * np.sum(b_mp**2), rtol=1e-9)


def test_common_1pl_slope_is_map_under_a_difficulty_prior() -> None:
    # the prior on b = −d/a depends on the common 1PL slope: the score in that slope includes it, so the EM fixed
    # point is a stationary point of log L + log prior (ignoring it leaves a gradient of about 50 in the slope)
    rng = np.random.default_rng(5)
    b = np.array([-3.0, -2, -1, -0.5, 0, 0.5, 1, 2.5])
    p = probability(rng.normal(size=400), ItemArrays.dichotomous(np.full(8, 1.6), b))
    x = (rng.random(p.shape[:2]) < p[..., 1]).astype(int)
    models = ("1pl",) * 8
    priors = Priors(difficulty=(0.0, 0.5))
    ml = calibrate(x, list(models), se="none", tol=1e-7)
    mp = calibrate(x, list(models), priors=priors, se="none", tol=1e-7)
    assert mp.converged
    assert_allclose(mp.params.a[0], 1.912, atol=2e-3)  # the prior on b pulls the locations in by steepening
    assert mp.params.a[0] > ml.params.a[0]
    assert (np.abs(mp.params.b[:, 0]) < np.abs(ml.params.b[:, 0])).all()
    data = prepare_responses(x)
    problem = EMProblem(data, models, Quadrature.normal().points, priors, latent_var_free=False)
    design = Design(data, dtype=np.float64)
    template = problem.start_etas()
    assert problem.labels[-1] == "1pl.a"

    def objective(phi: np.ndarray) -> float:
        etas, latent = problem.unpack(phi, template)
        return problem.estep(etas, latent, design).loglik + problem.total_log_prior(etas)

    h = 1e-5
    numeric = np.array(
        [(objective(mp.estimates + h * e) - objective(mp.estimates - h * e)) / (2 * h) for e in np.eye(9)]
    )
    assert np.abs(numeric).max() < 1e-3  # a stationary point, the common slope included
    phi = mp.estimates + rng.normal(0, 0.05, 9)
    numeric = np.array([(objective(phi + h * e) - objective(phi - h * e)) / (2 * h) for e in np.eye(9)])
    assert_allclose(problem.score(phi, template, design), numeric, rtol=1e-5, atol=1e-4)


def test_graded_and_partial_credit_calibrations_with_a_difficulty_prior() -> None:
    rng = np.random.default_rng(8)
    n_items = 6
    a = rng.lognormal(0, 0.25, n_items)
    thresholds = np.sort(rng.normal(0, 1, (n_items, 2)), axis=1)
    thresholds[0] = [2.5, 4.0]  # one item whose top category is rare
    for family, model in ((GRADED, "grm"), (PARTIAL_CREDIT, "gpcm")):
        p = probability(rng.normal(size=500), ItemArrays.polytomous(family, a, thresholds))
        x = (rng.random(p.shape[:2])[..., None] > np.cumsum(p, axis=-1)).sum(axis=-1)
        ml = calibrate(x, model, se="none", tol=1e-7)
        mp = calibrate(x, model, priors=Priors(difficulty=(0.0, 1.0)), se="none", tol=1e-7)
        assert ml.converged and mp.converged
        top_ml, top_mp = ml.params.b[0, 1], mp.params.b[0, 1]
        assert top_mp < top_ml - 0.3, (model, top_ml, top_mp)  # the rare top location is pulled in
        assert_allclose(mp.log_prior, -0.5 * np.nansum(mp.params.b**2), rtol=1e-9)
