"""MML-EM calibration: published values (R mirt, ltm), internal consistency, recovery, bad input.

Golden values come from tests/data/irt-datasets/REFERENCE_VALUES.md (sources and versions listed there).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import reference_data
from numpy.testing import assert_allclose
from scipy.special import logsumexp

from digiskill.bank import ParameterSet
from digiskill.calibrate import Priors, calibrate, collapse_patterns, prepare_responses
from digiskill.calibrate._data import Design
from digiskill.calibrate._problem import EMProblem
from digiskill.errors import ConvergenceWarning, InputError
from digiskill.irt import (
    GRADED,
    PARTIAL_CREDIT,
    ItemArrays,
    Quadrature,
    encode_responses,
    log_probability,
    loglik_matrix,
    probability,
)

DATA = reference_data("irt-datasets")


def load_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A pattern table: responses and the frequency column (the last one)."""
    raw = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    return raw[:, :-1].astype(int), raw[:, -1]


def simulate(rng: np.random.Generator, bank: ItemArrays, theta: np.ndarray) -> np.ndarray:
    """Responses drawn by inverting the cumulative category probabilities."""
    p = probability(theta, bank)
    u = rng.random(p.shape[:2])[..., None]
    return (u > np.cumsum(p, axis=-1)).sum(axis=-1)


# ---------------------------------------------------------------------------------------------------- LSAT7 (mirt)
def test_lsat7_2pl_matches_mirt() -> None:
    x, freq = load_table("LSAT7.csv")
    r = calibrate(x, "2pl", weights=freq)
    # mirt 1.45.5, 61 rectangular points: logLik -2658.805, AIC 5337.61, BIC 5386.688 (pkgdown LSAT7 example)
    assert r.converged
    assert r.n_parameters == 10 and r.n_persons == 1000
    assert_allclose(r.loglik, -2658.805, atol=1e-3)
    assert_allclose([r.aic, r.bic], [5337.61, 5386.688], atol=2e-3)
    # tests/testthat/test-01-mirtOne.R (checked there to 1e-2)
    assert_allclose(r.params.a, [0.988, 1.081, 1.706, 0.7651, 0.7358], atol=1e-2)
    assert_allclose(r.intercepts[:, 0], [1.8561, 0.808, 1.8043, 0.486, 1.8545], atol=1e-2)
    # information condition number: mirt SEM 30.13, Richardson 30.24, Fisher 29.03; SE(a1 item 1) ≈ 0.179 from the
    # SEM 95 % interval [0.6367, 1.3384]
    assert r.information_positive_definite
    assert 29.5 < r.condition_number < 31.0
    assert_allclose(r.se.a[0], (1.3384 - 0.6367) / 3.92, rtol=0.03)
    assert_allclose(r.se_intercepts[0, 0], (2.1139 - 1.5978) / 3.92, rtol=0.03)


def test_lsat7_expanded_persons_equal_weighted_patterns() -> None:
    x, freq = load_table("LSAT7.csv")
    persons = np.repeat(x, freq.astype(int), axis=0)
    r_pat = calibrate(x, "2pl", weights=freq, se="none")
    r_per = calibrate(persons, "2pl", se="none", collapse=False)
    assert_allclose(r_per.loglik, r_pat.loglik, atol=1e-8)
    assert_allclose(r_per.estimates, r_pat.estimates, atol=1e-8)
    patterns, counts = collapse_patterns(persons)
    assert patterns.shape[0] == int((freq > 0).sum()) and counts.sum() == 1000


def test_lsat7_crossprod_standard_errors_close_to_oakes() -> None:
    x, freq = load_table("LSAT7.csv")
    oakes = calibrate(x, "2pl", weights=freq)
    cross = calibrate(x, "2pl", weights=freq, se="crossprod")
    assert cross.se_method == "crossprod" and cross.information_positive_definite
    assert_allclose(cross.se.a, oakes.se.a, rtol=0.15)
    assert_allclose(cross.se.b, oakes.se.b, rtol=0.15)


# ---------------------------------------------------------------------------------------------------- LSAT6
def test_lsat6_rasch_matches_mirt() -> None:
    x, freq = load_table("LSAT6.csv")
    r = calibrate(x, "rasch", weights=freq)
    assert r.n_parameters == 6
    assert_allclose(r.loglik, -2466.938, atol=1e-3)
    assert_allclose(r.params.a, 1.0)
    assert_allclose(r.intercepts[:, 0], [2.730, 0.999, 0.240, 1.307, 2.100], atol=2e-3)
    # mirt reports var 0.572; the maximum-likelihood value is 0.5702 (= the squared common 1PL slope 0.7551² of ltm).
    # mirt's figure is where plain EM stops under TOL 1e-4, which our plain EM reproduces (0.5718).
    assert_allclose(r.latent_sd**2, 0.5702, atol=5e-4)
    plain = calibrate(x, "rasch", weights=freq, accelerate="none", se="none")
    assert_allclose(plain.latent_sd**2, 0.572, atol=5e-4)
    # SEM 95 % intervals: d1 [2.478, 2.983], var [0.371, 0.77]
    assert_allclose(r.se_intercepts[0, 0], (2.983 - 2.478) / 3.92, rtol=0.03)
    assert_allclose(r.se_latent_var, (0.77 - 0.371) / 3.92, rtol=0.05)


def test_lsat6_1pl_common_slope_matches_ltm_and_mirt() -> None:
    x, freq = load_table("LSAT6.csv")
    r = calibrate(x, "1pl", weights=freq)
    assert r.n_parameters == 6 and r.latent_sd == 1.0
    assert_allclose(r.loglik, -2466.938, atol=1e-3)
    assert_allclose(r.params.a, 0.7551, atol=1e-3)  # ltm rasch(LSAT); mirt 0.755
    assert_allclose(r.params.b[:, 0], [-3.6153, -1.3224, -0.3176, -1.7301, -2.7802], atol=2e-3)
    assert_allclose(r.se.b[:, 0], [0.3266, 0.1422, 0.0977, 0.1691, 0.2510], rtol=0.02)
    assert_allclose(r.se.a, 0.0694, rtol=0.02)


def test_lsat6_rasch_standard_normal_latent() -> None:
    x, freq = load_table("LSAT6.csv")
    r = calibrate(x, "rasch", weights=freq, latent_sd="fixed")
    assert r.n_parameters == 5
    assert_allclose(r.loglik, -2473.054, atol=1e-3)
    assert_allclose(r.params.b[:, 0], [-2.8719, -1.0630, -0.2576, -1.3880, -2.2188], atol=1e-3)


def test_lsat6_2pl_matches_mirt_and_ltm() -> None:
    x, freq = load_table("LSAT6.csv")
    r = calibrate(x, "2pl", weights=freq)
    assert_allclose(r.loglik, -2466.653, atol=1e-3)
    assert_allclose([r.aic, r.bic], [4953.307, 5002.384], atol=2e-3)
    # ltm (21 Gauss-Hermite points): close, not identical, to the 61-point grid
    assert_allclose(r.params.a, [0.8253715, 0.7229499, 0.8904748, 0.6885502, 0.6574516], atol=1e-2)
    assert_allclose(r.params.b[:, 0], [-3.3597341, -1.3696497, -0.2798983, -1.8659189, -3.1235725], atol=1e-2)
    assert_allclose(r.se.a, [0.2581, 0.1867, 0.2326, 0.1852, 0.2100], rtol=0.03)
    assert_allclose(r.se.b[:, 0], [0.8669, 0.3073, 0.0997, 0.4341, 0.8700], rtol=0.03)


# ---------------------------------------------------------------------------------------------------- Science (GRM)
SCIENCE_MIRT = np.array(
    [
        [1.041, 4.864, 2.640, -1.466],
        [1.226, 2.924, 0.901, -2.266],
        [2.296, 5.238, 2.216, -1.965],
        [1.095, 3.348, 0.992, -1.688],
    ]
)
SCIENCE_LOUIS_SE = np.array(
    [
        [0.18838, 0.49088, 0.22267, 0.15868],
        [0.18189, 0.23928, 0.14289, 0.20308],
        [0.48269, 0.72817, 0.3564, 0.32209],
        [0.18336, 0.27659, 0.14053, 0.16864],
    ]
)


def test_science_grm_matches_mirt() -> None:
    raw = np.loadtxt(DATA / "Science.csv", delimiter=",", skiprows=1).astype(int)
    r = calibrate(raw - 1, "grm")  # mirt codes the categories 1..4 as 0..3
    assert r.converged and r.n_parameters == 16
    assert_allclose(r.loglik, -1608.87, atol=5e-3)
    assert_allclose([r.aic, r.bic], [3249.739, 3313.279], atol=1e-2)
    assert_allclose(np.column_stack([r.params.a, r.intercepts]), SCIENCE_MIRT, atol=1e-2)
    # Oakes vs mirt's Louis SEs (the same observed information in theory), and the condition number (Oakes 97.86)
    se = np.column_stack([r.se.a, r.se_intercepts])
    assert_allclose(se, SCIENCE_LOUIS_SE, rtol=0.03)
    assert_allclose(r.condition_number, 97.8644, rtol=0.03)
    # IRT form b_k = -d_k / a
    assert_allclose(r.params.b, -r.intercepts / r.params.a[:, None])


# ---------------------------------------------------------------------------------------------------- simulations
def _gpcm_data() -> tuple[ItemArrays, np.ndarray]:
    rng = np.random.default_rng(20240607)
    j = 8
    bank = ItemArrays.polytomous(PARTIAL_CREDIT, rng.lognormal(0, 0.25, j), np.sort(rng.normal(0, 1, (j, 3)), axis=1))
    return bank, simulate(rng, bank, rng.normal(size=4000))


def test_gpcm_recovery_fixed_seed() -> None:
    bank, x = _gpcm_data()
    r = calibrate(x, "gpcm")
    assert r.converged and r.information_positive_definite
    z_a = (r.params.a - bank.a) / r.se.a
    z_b = (r.params.b - bank.b) / r.se.b
    assert np.abs(z_a).max() < 3.5 and np.abs(z_b).max() < 3.5
    assert np.sqrt(np.mean(z_b**2)) < 1.5  # errors in line with the reported SEs
    assert np.sqrt(np.mean((r.params.a - bank.a) ** 2)) < 0.06
    assert np.sqrt(np.mean((r.params.b - bank.b) ** 2)) < 0.12
    cross = calibrate(x, "gpcm", se="crossprod")
    assert_allclose(cross.se.a, r.se.a, rtol=0.15)


def test_pcm_estimates_latent_sd() -> None:
    _, x = _gpcm_data()
    r = calibrate(x, "pcm", se="none")
    assert r.converged and "latent.var" in r.parameter_names
    assert_allclose(r.params.a, 1.0)
    assert 0.7 < r.latent_sd < 1.3


def _mixed_bank(rng: np.random.Generator) -> tuple[ItemArrays, list[str]]:
    parts = [
        ItemArrays.dichotomous(rng.lognormal(0, 0.25, 6), rng.normal(0, 1, 6)),
        ItemArrays.dichotomous(rng.lognormal(0.3, 0.2, 4), rng.normal(0, 0.7, 4), c=0.2),
        ItemArrays.polytomous(GRADED, rng.lognormal(0, 0.25, 3), np.sort(rng.normal(0, 1, (3, 2)), axis=1)),
        ItemArrays.polytomous(PARTIAL_CREDIT, rng.lognormal(0, 0.25, 3), np.sort(rng.normal(0, 1, (3, 3)), axis=1)),
    ]
    return ItemArrays.concat(parts), ["2pl"] * 6 + ["3pl"] * 4 + ["grm"] * 3 + ["gpcm"] * 3


def test_mixed_models_with_missing_data() -> None:
    rng = np.random.default_rng(11)
    bank, models = _mixed_bank(rng)
    x = simulate(rng, bank, rng.normal(size=4000)).astype(float)
    x[rng.random(x.shape) < 0.25] = np.nan
    perm = rng.permutation(bank.n_items)
    r = calibrate(x, models, se="crossprod")
    rp = calibrate(x[:, perm], [models[i] for i in perm], se="none")
    assert r.converged and rp.converged
    # the log-likelihood recomputed independently with the irt kernel (IRT form, loglik_matrix)
    q = Quadrature.normal()
    ll = loglik_matrix(encode_responses(x, r.params), log_probability(q.points, r.params)) + q.log_weights
    assert_allclose(r.loglik, logsumexp(ll, axis=1).sum(), rtol=1e-10)
    # permuting items permutes the estimates and leaves the fit unchanged
    assert_allclose(rp.loglik, r.loglik, atol=1e-6)
    assert_allclose(rp.params.a, r.params.a[perm], atol=1e-4)
    # recovery, loose bounds for N = 4000 with a quarter missing
    assert np.abs(r.params.a - bank.a).max() < 0.5
    assert np.nanmax(np.abs(r.params.b - bank.b)) < 0.6
    assert np.all((r.params.c[6:10] > 0.05) & (r.params.c[6:10] < 0.4))
    assert np.all(r.params.c[:6] == 0) and np.isnan(r.se.c[:6]).all() and np.isfinite(r.se.c[6:10]).all()
    # round trip through the parameter-set file
    ps = ParameterSet.model_validate_json(ParameterSet.from_calibration(r, "mixed-test", "simulation").dump_json())
    arr = ps.to_arrays()
    assert ps.calibration.model == "mixed" and ps.calibration.n_parameters == r.n_parameters
    assert_allclose(arr.a, r.params.a)
    assert_allclose(arr.b, r.params.b)
    assert ps.items[7].se is not None and ps.items[7].se.c is not None


def test_dense_and_sparse_designs_agree() -> None:
    rng = np.random.default_rng(5)
    bank, models = _mixed_bank(rng)
    x = simulate(rng, bank, rng.normal(size=3000)).astype(float)
    x[rng.random(x.shape) < 0.7] = np.nan
    dense = calibrate(x, models, design="dense", se="none", collapse=False)
    sparse = calibrate(x, models, design="sparse", se="none", collapse=False)
    assert_allclose(sparse.loglik, dense.loglik, rtol=1e-12)
    assert_allclose(sparse.estimates, dense.estimates, atol=1e-8)


def test_single_precision_polished_to_double() -> None:
    rng = np.random.default_rng(2)
    bank = ItemArrays.dichotomous(rng.lognormal(0, 0.3, 40), rng.normal(0, 1, 40))
    x = simulate(rng, bank, rng.normal(size=5000))
    single = calibrate(x, "2pl", precision="single", se="none")
    double = calibrate(x, "2pl", precision="double", se="none")
    assert_allclose(single.estimates, double.estimates, atol=1e-4)
    assert_allclose(single.loglik, double.loglik, atol=1e-3)


def test_single_precision_phase_hands_a_small_tol_to_double_cycles() -> None:
    # The float32 E-step jitters the EM map by about 1e-6 near the optimum, so it can never itself meet tol=1e-7
    # (it used all 500 cycles and left one double cycle); the double-precision cycles that follow must.
    rng = np.random.default_rng(2)
    bank = ItemArrays.dichotomous(rng.lognormal(0, 0.3, 40), rng.normal(0, 1, 40))
    x = simulate(rng, bank, rng.normal(size=5000))
    single = calibrate(x, "2pl", precision="single", se="none", tol=1e-7)
    double = calibrate(x, "2pl", precision="double", se="none", tol=1e-7)
    assert single.converged and single.max_change < 1e-7 and single.iterations < 60
    assert_allclose(single.estimates, double.estimates, atol=1e-6)


def test_score_is_zero_at_estimates_and_matches_numerical_gradient() -> None:
    rng = np.random.default_rng(3)
    bank, models = _mixed_bank(rng)
    models[:3] = ["1pl"] * 3  # a common slope shared by three items
    models[3] = "4pl"
    x = simulate(rng, bank, rng.normal(size=3000))
    r = calibrate(x, models, se="none", tol=1e-7)
    data = prepare_responses(x)
    problem = EMProblem(data, tuple(models), Quadrature.normal().points, Priors(), latent_var_free=False)
    design = Design(data, dtype=np.float64)
    template = problem.start_etas()
    assert problem.labels == r.parameter_names
    score = problem.score(r.estimates, template, design)
    assert np.abs(score).max() < 1e-3  # first-order condition of the MAP (3PL/4PL priors included)

    def objective(phi: np.ndarray) -> float:
        etas, var = problem.unpack(phi, template)
        from digiskill.calibrate._models import log_prior

        lp = sum(
            log_prior(f.code, e, f.free, problem.priors, with_grad=False)[0].sum()
            for f, e in zip(problem.families, etas, strict=True)
        )
        return problem.estep(etas, var, design).loglik + lp

    phi = r.estimates + rng.normal(0, 0.05, r.estimates.size)  # away from the optimum
    h = 1e-5
    numeric = np.array([(objective(phi + h * e) - objective(phi - h * e)) / (2 * h) for e in np.eye(phi.size)])
    assert_allclose(problem.score(phi, template, design), numeric, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------------------------------- bad input
def test_bad_input_names_the_item() -> None:
    x = np.array([[0, 1, 2], [1, 0, 0], [0, 1, 1], [1, 1, 0]])
    with pytest.raises(InputError, match=r"Item\.3"):
        calibrate(x, "2pl")  # three categories under a dichotomous model
    with pytest.raises(InputError, match="unknown model"):
        calibrate(x, "3plx")
    with pytest.raises(InputError, match="never used"):
        calibrate(np.array([[0, 0], [2, 1], [0, 1]]), "grm")
    with pytest.raises(InputError, match="one category"):
        calibrate(np.array([[1, 0], [1, 1], [1, 0]]), "2pl")
    with pytest.raises(InputError, match="nobody answered"):
        calibrate(np.array([[np.nan, 0], [np.nan, 1]]), "2pl")
    with pytest.raises(InputError, match="not category codes"):
        calibrate(np.array([[0.5, 0], [1, 1]]), "2pl")


def test_non_convergence_warns() -> None:
    rng = np.random.default_rng(0)
    bank = ItemArrays.dichotomous(rng.lognormal(0, 0.3, 10), rng.normal(0, 1, 10))
    x = simulate(rng, bank, rng.normal(size=500))
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        r = calibrate(x, "2pl", max_iter=3, se="none")
    assert not r.converged and r.iterations == 3 and r.loglik_history.size == 3


def test_persons_without_answers_are_left_out() -> None:
    rng = np.random.default_rng(1)
    bank = ItemArrays.dichotomous(rng.lognormal(0, 0.3, 6), rng.normal(0, 1, 6))
    x = simulate(rng, bank, rng.normal(size=400)).astype(float)
    padded = np.vstack([x, np.full((3, 6), np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = calibrate(padded, "2pl", se="none")
    assert r.n_persons == 400 and r.n_persons_dropped == 3
    assert_allclose(r.loglik, calibrate(x, "2pl", se="none").loglik)


def test_e_step_blocks_on_threads_give_the_same_numbers_as_one_after_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """Row blocks run on a thread pool are summed in block order: bit-identical to running them in turn."""
    from digiskill.calibrate import _data

    rng = np.random.default_rng(21)
    theta = rng.normal(size=3000)
    a, b = rng.lognormal(0, 0.3, 12), rng.normal(0, 1, 12)
    x = (rng.random((3000, 12)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan  # missing cells: the answered-count products run too
    monkeypatch.setattr(_data, "DOUBLE_BLOCK_ROWS", 500)  # several blocks
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # BLAS on one thread: the blocks go to the pool
    pools = []
    real_pool = _data._block_pool
    monkeypatch.setattr(_data, "_block_pool", lambda: pools.append(1) or real_pool())
    threaded = calibrate(x, "2pl", se="none")
    assert len(pools) >= threaded.iterations  # every E-step ran on the pool
    calls = []

    def in_turn(fn, blocks):
        calls.append(len(blocks))
        return [fn(block) for block in blocks]

    monkeypatch.setattr(_data, "_map_blocks", in_turn)
    sequential = calibrate(x, "2pl", se="none")
    assert calls and min(calls) >= 2
    assert threaded.loglik == sequential.loglik
    assert threaded.iterations == sequential.iterations
    assert np.array_equal(threaded.params.a, sequential.params.a)
    assert np.array_equal(threaded.params.b, sequential.params.b, equal_nan=True)
