"""The joint MAP and EAP evaluate only each person's answered items (issue #17, "EAP speed"): the same numbers as the
straightforward evaluation of every item at every point, on a small sparse case with mixed item families."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from digiskill.irt import multidim
from digiskill.irt.items import GRADED, PARTIAL_CREDIT, ItemArrays
from digiskill.irt.multidim import (
    LatentNormal,
    _Answers,
    _derivatives,
    _FamilyAnswers,
    _importance_moments,
    joint_eap,
    joint_map,
)
from digiskill.irt.response import category_terms, category_terms_at, log_probability_at

R3 = np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.5], [0.4, 0.5, 1.0]])


def _mixed_bank(rng: np.random.Generator, j: int) -> ItemArrays:
    """``j`` items of every kind: 2PL, 3PL, 4PL, graded (3 and 4 categories), partial credit (3 and 5)."""
    k = j // 4
    dich = ItemArrays.dichotomous(
        rng.lognormal(0.1, 0.3, k), rng.normal(0, 1, k), c=np.r_[0.0, rng.uniform(0.1, 0.25, k - 1)], d=0.97
    )
    plain = ItemArrays.dichotomous(rng.lognormal(0.1, 0.3, k), rng.normal(0, 1, k))
    grm = ItemArrays.polytomous(
        GRADED, rng.lognormal(0, 0.2, k), [np.sort(rng.normal(0, 1, 2 + i % 2)) for i in range(k)]
    )
    pc = ItemArrays.polytomous(
        PARTIAL_CREDIT, rng.lognormal(0, 0.2, j - 3 * k), [rng.normal(0, 1, 2 + 2 * (i % 2)) for i in range(j - 3 * k)]
    )
    return ItemArrays.concat([dich, grm, plain, pc])


def _sparse_case(seed: int = 4, n: int = 40, j: int = 12):
    """Three areas of ``j`` mixed items; each person answers 0–4 random items an area; person 0 answers nothing."""
    rng = np.random.default_rng(seed)
    items = [_mixed_bank(rng, j) for _ in range(3)]
    codes = []
    for it in items:
        c = np.floor(rng.random((n, j)) * it.n_cat).astype(np.int16)
        shown = np.argsort(rng.random((n, j)), axis=1).argsort(axis=1) < rng.integers(0, 5, (n, 1))
        shown[0] = False
        codes.append(np.where(shown, c, -1).astype(np.int16))
    return items, codes


def _dense_loglik_terms(theta_d: np.ndarray, codes: np.ndarray, items: ItemArrays, n_lead: int):
    """Every item at ``theta_d`` (``(N,) + S``), then each person's answered categories picked and summed."""
    t = category_terms(theta_d, items)
    code = codes.reshape(codes.shape[:1] + (1,) * n_lead + codes.shape[1:])  # (N, 1.., J)
    seen = code != -1
    out = []
    for v in (t.logp, t.dlogp, t.d2logp):
        picked = np.take_along_axis(v, np.where(seen, code, 0)[..., None], axis=-1)[..., 0]
        out.append(np.where(seen, picked, 0.0).sum(axis=-1))
    return out


def test_category_terms_at_equals_the_full_evaluation_at_each_pair() -> None:
    rng = np.random.default_rng(0)
    items = _mixed_bank(rng, 12)
    idx = rng.integers(0, 12, 30)  # repeats
    theta = rng.normal(0, 2, (7, 30))
    theta[0, :3] = [-30.0, 30.0, 0.0]
    got = category_terms_at(theta, items, idx)
    full = category_terms(theta, items)  # (7, 30, J, K): every item at every θ
    for name in ("logp", "prob", "dlogp", "d2logp"):
        want = getattr(full, name)[:, np.arange(30), idx, :]
        assert_array_equal(getattr(got, name), want, err_msg=name)
    assert_array_equal(log_probability_at(theta, items, idx), got.logp)
    for cols in items.family_index.values():  # one family at a time: the kernel alone (3PL/4PL, graded, credit)
        one, at = items.subset(cols), idx % cols.size
        want = category_terms_at(theta, one, at).logp
        assert_allclose(log_probability_at(theta, one, at), want, rtol=1e-15, atol=1e-14)  # partial credit: sum order
    two_pl = ItemArrays.dichotomous([1.2, 0.8], [0.0, 1.0])
    assert_array_equal(
        log_probability_at(theta, two_pl, idx % 2), category_terms(theta, two_pl).logp[:, range(30), idx % 2]
    )
    single = ItemArrays.dichotomous([1.2, 0.8], [0.0, 1.0], c=[0.2, 0.0])
    at = category_terms_at(theta[:, :4], single, np.array([1, 0, 0, 1]), with_logp=False)
    assert_array_equal(at.d2logp, category_terms(theta[:, :4], single).d2logp[:, np.arange(4), [1, 0, 0, 1], :])
    with pytest.raises(ValueError, match="item positions"):
        category_terms_at(theta, items, idx[:5])


def test_answers_are_each_persons_answers_one_family_at_a_time() -> None:
    items = ItemArrays.concat(
        [ItemArrays.polytomous(GRADED, [1, 1], [[0, 1], [0, 1]]), ItemArrays.dichotomous(1, [0, 1])]
    )
    codes = np.array([[-1, 2, -1, 0], [-1, -1, -1, -1], [1, 1, 1, -1]])
    none = np.full((3, 0), -1)
    dich, graded = _Answers.split([none, codes, codes[:, 2:] * 0 - 1], [items.subset([]), items, items.subset([2, 3])])
    assert (dich.dim, graded.dim) == (1, 1)
    assert graded.items.ids == items.ids[:2] and dich.items.ids == items.ids[2:]
    assert_array_equal(graded.start, [0, 1, 1, 3])
    assert_array_equal(graded.person, [0, 2, 2])
    assert_array_equal(graded.item, [1, 0, 1])
    assert_array_equal(graded.code, [2, 1, 1])
    assert_array_equal(dich.start, [0, 1, 1, 2])
    assert_array_equal(dich.item, [1, 0])
    assert_array_equal(dich.code, [0, 1])
    assert graded.widest == 2
    sub = graded.rows(np.array([2, 1, 0]))
    assert_array_equal(sub.start, [0, 2, 2, 3])
    assert_array_equal(sub.person, [0, 0, 2])
    assert_array_equal(sub.item, [0, 1, 1])
    assert_array_equal(graded.rows(slice(1, 3)).code, [1, 1])
    assert_array_equal(graded.per_person(np.array([[1.0, 2.0, 3.0]])), [[1.0, 0.0, 5.0]])


@pytest.mark.parametrize("block", [1 << 14, 1])  # every family in one block; every dimension's part alone
def test_map_derivatives_equal_the_dense_evaluation(block, monkeypatch) -> None:
    monkeypatch.setattr(multidim, "_BLOCK_ANSWERS", block)
    items, codes = _sparse_case()
    theta = np.random.default_rng(1).normal(0, 1.5, (40, 3))
    parts = _Answers.split(codes, items)
    blocks = _FamilyAnswers.merge(parts, 3)
    assert len(blocks) == (len({int(p.items.family[0]) for p in parts}) if block > 1 else len(parts))
    loglik, grad, hess = _derivatives(theta, blocks, with_logp=True)
    for d in range(3):
        _, g, h = _dense_loglik_terms(theta[:, d], codes[d], items[d], 0)
        assert_allclose(grad[:, d], g, rtol=1e-13, atol=1e-13)
        assert_allclose(hess[:, d], h, rtol=1e-13, atol=1e-13)
    dense = sum(_dense_loglik_terms(theta[:, d], codes[d], items[d], 0)[0] for d in range(3))
    assert_allclose(loglik, dense, rtol=1e-13)
    rows = np.array([3, 7, 8, 30])  # some persons only, renumbered
    sub_ll, sub_grad, sub_hess = _derivatives(theta[rows], [b.rows(rows) for b in blocks], with_logp=True)
    assert_allclose(sub_ll, loglik[rows], rtol=1e-13)
    assert_allclose(sub_grad, grad[rows], rtol=1e-13, atol=1e-13)
    assert_allclose(sub_hess, hess[rows], rtol=1e-13, atol=1e-13)
    # the mode: the dense gradient of the log posterior vanishes there, its covariance is the dense Hessian's inverse
    prior = LatentNormal(R3)
    mode = joint_map(codes, items, prior)
    assert mode.converged.all()
    terms = [_dense_loglik_terms(mode.theta[:, d], codes[d], items[d], 0) for d in range(3)]
    g = np.stack([t[1] for t in terms], axis=1) - mode.theta @ prior.precision
    assert np.abs(g).max() < 1e-8
    neg_h = prior.precision - np.stack([t[2] for t in terms], axis=1)[:, :, None] * np.eye(3)
    pd = np.linalg.eigvalsh(neg_h)[:, 0] > 0
    assert pd.sum() > 30
    assert_allclose(mode.cov[pd], np.linalg.inv(neg_h[pd]), rtol=1e-9, atol=1e-12)


def test_eap_equals_the_dense_evaluation_of_every_item_at_every_point() -> None:
    items, codes = _sparse_case()
    prior = LatentNormal(R3)
    got = joint_eap(codes, items, prior, n_points=512, seed=3)
    mode = joint_map(codes, items, prior)

    def dense_log_target(rows, theta):  # every item of every area at every point, as before issue #17
        out = -0.5 * np.einsum("nmd,de,nme->nm", theta, prior.precision, theta)
        for d in range(3):
            out += _dense_loglik_terms(theta[:, :, d], codes[d][rows], items[d], 1)[0]
        return out

    mean, cov, _ = _importance_moments(dense_log_target, mode.theta, mode.cov, 512, 3, 12 * 5)
    mean[0], cov[0] = 0.0, prior.cov  # person 0 answered nothing: the prior
    assert_allclose(got.theta, mean, rtol=1e-12, atol=1e-12)
    assert_allclose(got.cov, cov, rtol=1e-12, atol=1e-12)
    assert got.method == "eap" and np.isfinite(got.se).all()
