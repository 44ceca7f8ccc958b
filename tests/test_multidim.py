"""Between-item multidimensional estimation (:mod:`digiskill.irt.multidim`) against brute-force integrals and a
general-purpose optimiser."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from digiskill.irt.items import GRADED, ItemArrays
from digiskill.irt.multidim import (
    LatentNormal,
    item_information,
    joint_eap,
    joint_eap_from_grid,
    joint_map,
)
from digiskill.irt.response import category_terms
from digiskill.irt.response import item_information as uni_information

R2 = np.array([[1.0, 0.6], [0.6, 1.0]])


def _two_area_case(seed: int = 1):
    rng = np.random.default_rng(seed)
    items = [
        ItemArrays.dichotomous(rng.lognormal(0.2, 0.3, 4), rng.normal(0, 1, 4)),
        ItemArrays.polytomous(GRADED, rng.lognormal(0.0, 0.2, 3), np.sort(rng.normal(0, 1, (3, 2)), axis=1)),
    ]
    codes = [rng.integers(0, 2, (4, 4)), rng.integers(0, 3, (4, 3))]
    codes[0][0, 2:] = -1  # partly answered
    codes[1][1, :] = -1  # nothing in the second area
    codes[0][3, :] = -1
    codes[1][3, :] = -1  # nothing at all
    return items, codes


def _grid_log_posterior(items, codes, n, grid):
    """Log posterior on a 2-D product grid (brute force)."""
    t1, t2 = np.meshgrid(grid, grid, indexing="ij")
    p = np.linalg.inv(R2)
    lp = -0.5 * (p[0, 0] * t1**2 + 2 * p[0, 1] * t1 * t2 + p[1, 1] * t2**2)
    for d in range(2):
        logp = category_terms(grid, items[d]).logp
        for j, c in enumerate(codes[d][n]):
            if c >= 0:
                lp = lp + (logp[:, j, c][:, None] if d == 0 else logp[:, j, c][None, :])
    return t1, t2, lp


def test_eap_equals_the_brute_force_integral_on_a_fine_product_grid():
    items, codes = _two_area_case()
    est = joint_eap(codes, items, LatentNormal(R2), n_points=4096)
    grid = np.linspace(-7, 7, 561)
    for n in range(4):
        t1, t2, lp = _grid_log_posterior(items, codes, n, grid)
        w = np.exp(lp - lp.max())
        w /= w.sum()
        m = np.array([(w * t1).sum(), (w * t2).sum()])
        d1, d2 = t1 - m[0], t2 - m[1]
        cov = np.array([[(w * d1 * d1).sum(), (w * d1 * d2).sum()], [(w * d1 * d2).sum(), (w * d2 * d2).sum()]])
        np.testing.assert_allclose(est.theta[n], m, atol=2e-4)
        np.testing.assert_allclose(est.cov[n], cov, atol=2e-4)
    # no answers: the prior itself
    np.testing.assert_array_equal(est.theta[3], 0.0)
    np.testing.assert_array_equal(est.cov[3], R2)


def test_level_probabilities_equal_the_brute_force_tails():
    """``P(θ_d ≥ c | answers)`` from the QMC weights against the same tail on a fine 2-D grid."""
    items, codes = _two_area_case()
    cuts = [np.array([-1.0, 0.0, 0.7]), np.array([-0.5, 1.2])]
    est = joint_eap(codes, items, LatentNormal(R2), n_points=4096, cuts=cuts)
    plain = joint_eap(codes, items, LatentNormal(R2), n_points=4096)
    np.testing.assert_array_equal(est.theta, plain.theta)  # the tails do not change the estimate
    assert est.tails is not None and plain.tails is None
    grid = np.linspace(-7, 7, 1401)
    for n in range(4):
        t1, t2, lp = _grid_log_posterior(items, codes, n, grid)
        w = np.exp(lp - lp.max())
        w /= w.sum()
        for d, t in enumerate((t1, t2)):
            brute = [(w * (t >= c)).sum() for c in cuts[d]]
            np.testing.assert_allclose(est.tails[d][n], brute, atol=6e-3)
    # no answers: the prior's own tails, exactly (Φ(−c) under N(0, 1))
    np.testing.assert_allclose(est.tails[0][3], [0.8413447460685429, 0.5, 0.2419636522230730], rtol=1e-12)
    with pytest.raises(ValueError, match="sets of cuts"):
        joint_eap(codes, items, LatentNormal(R2), cuts=cuts[:1])


def test_map_is_the_mode_and_its_covariance_the_inverse_negative_hessian():
    items, codes = _two_area_case()
    prior = LatentNormal(R2)
    est = joint_map(codes, items, prior)
    assert est.converged.all()

    def neg_log_post(theta, n):
        t = theta.reshape(1, 2)
        out = 0.5 * float(theta @ prior.precision @ theta)
        for d in range(2):
            logp = category_terms(t[:, d], items[d]).logp[0]
            out -= sum(logp[j, c] for j, c in enumerate(codes[d][n]) if c >= 0)
        return out

    for n in range(4):
        ref = minimize(neg_log_post, np.zeros(2), args=(n,), method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(est.theta[n], ref.x, atol=1e-6)
        # the Hessian by central differences of the gradient-free objective
        h = 1e-4
        hess = np.empty((2, 2))
        for a in range(2):
            for b in range(2):
                ea, eb = np.eye(2)[a] * h, np.eye(2)[b] * h
                x = est.theta[n]
                hess[a, b] = (
                    neg_log_post(x + ea + eb, n)
                    - neg_log_post(x + ea - eb, n)
                    - neg_log_post(x - ea + eb, n)
                    + neg_log_post(x - ea - eb, n)
                ) / (4 * h * h)
        np.testing.assert_allclose(est.cov[n], np.linalg.inv(hess), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(est.theta[3], 0.0, atol=1e-12)
    np.testing.assert_allclose(est.cov[3], R2, atol=1e-12)


def test_map_from_a_far_start_and_with_a_3pl_item():
    rng = np.random.default_rng(3)
    items = [ItemArrays.dichotomous([1.5, 1.0, 2.0], [0.0, 1.0, -1.0], c=[0.2, 0.0, 0.25]) for _ in range(3)]
    prior = LatentNormal(np.array([[1, 0.5, 0.3], [0.5, 1, 0.4], [0.3, 0.4, 1.0]]))
    codes = [rng.integers(0, 2, (50, 3)) for _ in range(3)]
    a = joint_map(codes, items, prior)
    b = joint_map(codes, items, prior, start=np.full((50, 3), 3.0))
    assert a.converged.all() and b.converged.all()
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-8)


def test_eap_from_a_fine_grid_agrees_with_the_exact_eap_in_six_dimensions():
    rng = np.random.default_rng(7)
    d = 6
    corr = np.full((d, d), 0.6) + 0.4 * np.eye(d)
    prior = LatentNormal(corr)
    items = [ItemArrays.dichotomous(rng.lognormal(0.2, 0.25, 8), rng.normal(0, 1, 8)) for _ in range(d)]
    theta = rng.multivariate_normal(np.zeros(d), corr, size=40)
    codes = []
    for k in range(d):
        p = np.exp(category_terms(theta[:, k], items[k]).logp[..., 1])
        x = (rng.random(p.shape) < p).astype(np.int64)
        x[rng.random(x.shape) < 0.4] = -1
        codes.append(x)
    exact = joint_eap(codes, items, prior, n_points=4096)
    grid = np.linspace(-6, 6, 481)
    loglik = []
    for k in range(d):
        logp = category_terms(grid, items[k]).logp  # (Q, J, 2)
        seen = codes[k] >= 0
        loglik.append(
            np.einsum("nj,qj->nq", (codes[k] == 1) & seen, logp[:, :, 1])
            + np.einsum("nj,qj->nq", (codes[k] == 0) & seen, logp[:, :, 0])
        )
    gridded = joint_eap_from_grid(grid, loglik, prior, n_points=2048)
    np.testing.assert_allclose(gridded.theta, exact.theta, atol=0.01)
    np.testing.assert_allclose(gridded.se, exact.se, atol=0.01)
    # the same estimate again: seeded QMC is deterministic
    np.testing.assert_array_equal(joint_eap(codes, items, prior, n_points=4096).theta, exact.theta)
    # MAP and EAP agree roughly on a normal-looking posterior; the SEs shrink below the prior's 1
    mode = joint_map(codes, items, prior)
    assert np.abs(mode.theta - exact.theta).max() < 0.15
    assert (exact.se < 1).all()


@pytest.mark.parametrize("persons", [2, 9000])  # the dimensions' items joined in one call; dimension by dimension
def test_item_information_is_each_items_own_area_information(persons):
    items = [
        ItemArrays.dichotomous([1.0, 2.0], [0.0, 1.0]),
        ItemArrays.dichotomous([], []),
        ItemArrays.concat(
            [
                ItemArrays.dichotomous([1.5], [-1.0], c=[0.2]),
                ItemArrays.polytomous(GRADED, [1.2], [[-0.5, 0.4]], ids=["g1"]),
            ]
        ),
    ]
    theta = np.random.default_rng(3).normal(0, 1, (persons, 3))
    info = item_information(theta, items)
    assert [i.shape for i in info] == [(persons, 2), (persons, 0), (persons, 2)]
    np.testing.assert_allclose(info[0], uni_information(theta[:, 0], items[0]), rtol=1e-14)
    np.testing.assert_allclose(info[2], uni_information(theta[:, 2], items[2]), rtol=1e-14)


def test_bad_inputs_are_refused_clearly():
    with pytest.raises(ValueError, match="positive definite"):
        LatentNormal(np.array([[1.0, 1.2], [1.2, 1.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        LatentNormal(np.array([[1.0, 0.2], [0.3, 1.0]]))
    items = [ItemArrays.dichotomous([1.0], [0.0])] * 2
    with pytest.raises(ValueError, match="outside"):
        joint_map([np.array([[2]]), np.array([[0]])], items, LatentNormal(R2))
    with pytest.raises(ValueError, match="power of 2"):
        joint_eap([np.array([[1]]), np.array([[0]])], items, LatentNormal(R2), n_points=1000)
