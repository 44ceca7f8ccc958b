"""Category probabilities, their θ-derivatives, information and expected scores for a whole bank.

Everything is computed in log space and from identities that stay finite at extreme θ and extreme parameters:

* dichotomous: ``log P1 = logaddexp(log c, log(d − c) + log σ(z))``, ``log P0 = logaddexp(log(1 − d), log(d − c) +
  log σ(−z))`` with ``z = a(θ − b)``;
* graded: ``σ(z_k) − σ(z_{k+1}) = σ(z_k) σ(−z_{k+1}) (1 − exp(−a(b_{k+1} − b_k)))``, so
  ``log P_k = log σ(z_k) + log σ(−z_{k+1}) + log1p(−exp(−a(b_{k+1} − b_k)))``; the last term does not depend on θ;
* partial credit: ``log P = log_softmax(s)`` with ``s_k = Σ_{v≤k} a(θ − b_v)``.

The main entry point, :func:`category_terms`, returns for each θ, item and category the triple
``(log P, ∂ log P/∂θ, ∂² log P/∂θ²)``. Fisher information ``I = Σ_k P_k (∂ log P_k)²`` and Warm's
``J = Σ_k P'_k P''_k / P_k = Σ_k P_k ∂log P_k ((∂log P_k)² + ∂² log P_k)`` follow from it for every family.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .items import DICHOTOMOUS, GRADED, PARTIAL_CREDIT, ItemArrays
from .special import expit, log_expit, log_softmax  # numpy versions: scipy.special is slow to import


class CategoryTerms(NamedTuple):
    """Per θ, item and category: ``logp``, ``prob``, ``dlogp`` (first θ-derivative of log P), ``d2logp`` (second).

    Shapes are ``theta.shape + (J, K_max)``. Categories an item does not have hold ``logp = −inf``, ``prob = 0``
    and zero derivatives. ``logp`` is None when :func:`category_terms` was asked not to compute it.
    """

    logp: np.ndarray | None
    prob: np.ndarray
    dlogp: np.ndarray
    d2logp: np.ndarray

    def information(self) -> np.ndarray:
        """Item Fisher information, ``theta.shape + (J,)``."""
        return np.einsum("...k,...k->...", self.prob, self.dlogp**2)

    def warm_j(self) -> np.ndarray:
        """Warm's (1989) ``J(θ) = Σ_k P'_k P''_k / P_k`` per item, ``theta.shape + (J,)``."""
        return np.einsum("...k,...k->...", self.prob, self.dlogp * (self.dlogp**2 + self.d2logp))


def category_terms(theta: np.ndarray | float, items: ItemArrays, *, with_logp: bool = True) -> CategoryTerms:
    """Probabilities, log-probabilities and the first two θ-derivatives of log P for every item and category.

    Args:
        theta: ability values, any shape ``S``.
        items: the bank.
        with_logp: compute ``logp`` (skip it where only derivatives and probabilities are needed: it saves
            the most expensive transcendental functions of the dichotomous kernel).

    Returns:
        :class:`CategoryTerms` with arrays of shape ``S + (J, K_max)``.
    """
    theta = np.asarray(theta, dtype=float)[..., None]
    if len(items.family_index) == 1:
        families = {f: (slice(None), items, theta) for f in items.family_index}
    else:
        families = {f: (idx, items.family_subset(f), theta) for f, idx in items.family_index.items()}
    return _by_family(families, (*theta.shape[:-1], items.n_items, items.max_cat), with_logp)


def category_terms_at(
    theta: np.ndarray, items: ItemArrays, idx: np.ndarray, *, with_logp: bool = True
) -> CategoryTerms:
    """:func:`category_terms` of item–ability pairs: item ``idx[p]`` at ``theta[..., p]`` alone.

    Element ``[..., p, k]`` equals ``category_terms(theta[..., p], items)[..., idx[p], k]`` (the same arithmetic), at
    the cost of ``P`` items instead of ``J``: e.g. each person's answered items at that person's own θ.

    Args:
        theta: ability values, shape ``S + (P,)``.
        items: the bank.
        idx: ``(P,)`` item positions in ``items`` (repeats allowed).
        with_logp: as in :func:`category_terms`.

    Returns:
        :class:`CategoryTerms` with arrays of shape ``S + (P, K_max)``.
    """
    theta = np.asarray(theta, dtype=float)
    return _by_family(_pairs(theta, items, idx), (*theta.shape, items.max_cat), with_logp)


def log_probability_at(theta: np.ndarray, items: ItemArrays, idx: np.ndarray) -> np.ndarray:
    """``log P`` alone of item–ability pairs, as :func:`category_terms_at` gives it (the same arithmetic, without the
    probabilities and derivatives): item ``idx[p]`` at ``theta[..., p]``, shape ``S + (P, K_max)``."""
    theta = np.asarray(theta, dtype=float)
    return _by_family(_pairs(theta, items, idx), (*theta.shape, items.max_cat), True, derivatives=False).logp


def _pairs(theta: np.ndarray, items: ItemArrays, idx: np.ndarray) -> dict:
    """Per family present: the pairs' positions, their items' parameters and their abilities."""
    idx = np.asarray(idx, dtype=np.int64)
    if theta.shape[-1:] != idx.shape:
        raise ValueError(f"theta's last axis {theta.shape[-1:]} must match the {idx.size} item positions")
    family = items.family[idx] if len(items.family_index) > 1 else None
    families = {}
    for f in items.family_index:  # at most three families
        pos = slice(None) if family is None else np.flatnonzero(family == f)
        families[f] = (pos, _Gathered.of(items, idx[pos]), theta[..., pos])
    return families


def _by_family(families: dict, shape: tuple[int, ...], with_logp: bool, derivatives: bool = True) -> CategoryTerms:
    """Run each family's kernel on ``(positions, items, theta)`` and place its arrays at the positions (axis −2)."""
    kernels = {DICHOTOMOUS: _dichotomous, GRADED: _graded, PARTIAL_CREDIT: _partial_credit}
    if len(families) == 1:  # one family: the kernel's arrays are the answer
        ((family, (_, it, theta)),) = families.items()
        return CategoryTerms(*kernels[family](theta, it, with_logp, derivatives))
    logp = np.full(shape, -np.inf) if with_logp else None
    prob, dlogp, d2logp = (np.zeros(shape), np.zeros(shape), np.zeros(shape)) if derivatives else (None, None, None)
    for family, (idx, it, theta) in families.items():  # at most three families
        lp, p, dl, d2 = kernels[family](theta, it, with_logp, derivatives)
        if derivatives:
            k = p.shape[-1]
            prob[..., idx, :k], dlogp[..., idx, :k], d2logp[..., idx, :k] = p, dl, d2
        if logp is not None:
            logp[..., idx, : lp.shape[-1]] = lp
    return CategoryTerms(logp, prob, dlogp, d2logp)


def log_probability(theta: np.ndarray | float, items: ItemArrays) -> np.ndarray:
    """``log P(X = k | θ)``, shape ``theta.shape + (J, K_max)`` (−inf for categories an item lacks)."""
    return category_terms(theta, items).logp


def probability(theta: np.ndarray | float, items: ItemArrays) -> np.ndarray:
    """``P(X = k | θ)``, shape ``theta.shape + (J, K_max)`` (0 for categories an item lacks)."""
    return category_terms(theta, items, with_logp=False).prob


def item_information(theta: np.ndarray | float, items: ItemArrays) -> np.ndarray:
    """Fisher information of each item, shape ``theta.shape + (J,)``."""
    return category_terms(theta, items, with_logp=False).information()


def test_information(theta: np.ndarray | float, items: ItemArrays) -> np.ndarray:
    """Fisher information of the whole set of items, shape ``theta.shape``."""
    return item_information(theta, items).sum(axis=-1)


test_information.__test__ = False  # not a pytest test despite the name


def expected_score(theta: np.ndarray | float, items: ItemArrays) -> np.ndarray:
    """Expected item scores ``E[X_j | θ] = Σ_k k P_jk``, shape ``theta.shape + (J,)``."""
    return probability(theta, items) @ np.arange(items.max_cat, dtype=float)


# ---------------------------------------------------------------------------------------------------- kernels
# Each kernel takes theta of shape S + (1,) (or S + (J,): item j at theta[..., j]) and items of one family, and returns
# (logp, prob, dlogp, d2logp), each of shape S + (J, K_family); logp may be None when with_logp is False, and the
# other three are None when derivatives is False (then logp alone is computed).
_Kernel = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]


class _Gathered(NamedTuple):
    """The parameters a kernel reads, gathered at item positions (repeats allowed; ``b`` keeps the bank's width)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    n_cat: np.ndarray

    @classmethod
    def of(cls, items: ItemArrays, idx: np.ndarray) -> _Gathered:
        return cls(items.a[idx], items.b[idx], items.c[idx], items.d[idx], items.n_cat[idx])


def _dichotomous(theta: np.ndarray, it: ItemArrays | _Gathered, with_logp: bool, derivatives: bool = True) -> _Kernel:
    a, b, c, d = it.a, it.b[:, 0], it.c, it.d
    z = a * (theta - b)
    shape = (*z.shape, 2)
    if not (c.any() or (d != 1.0).any()):  # 1PL/2PL
        logp = None
        if with_logp:
            logp = np.empty(shape)
            logp[..., 1] = log_expit(z)
            logp[..., 0] = logp[..., 1] - z  # log σ(−z) = log σ(z) − z
        if not derivatives:
            return logp, None, None, None
        prob, dl, d2l = np.empty(shape), np.empty(shape), np.empty(shape)
        s1, s0 = expit(z), expit(-z)  # σ(z) and 1 − σ(z), each accurate in its own tail
        prob[..., 0], prob[..., 1] = s0, s1
        dl[..., 1] = a * s0
        dl[..., 0] = -a * s1
        d2l[..., 0] = -(a * a) * s1 * s0
        d2l[..., 1] = d2l[..., 0]
        return logp, prob, dl, d2l
    ls1 = log_expit(z)
    ls0 = ls1 - z
    with np.errstate(divide="ignore"):  # c = 0, d = 1 or d = c give log 0 = −inf, which logaddexp handles
        log_c, log_1md, log_dmc = np.log(c), np.log1p(-d), np.log(d - c)
    logp = np.empty(shape)
    logp[..., 1] = np.logaddexp(log_c, log_dmc + ls1)
    logp[..., 0] = np.logaddexp(log_1md, log_dmc + ls0)
    if not derivatives:
        return logp, None, None, None
    prob, dl, d2l = np.empty(shape), np.empty(shape), np.empty(shape)
    s1, s0 = expit(z), expit(-z)
    prob[...] = np.exp(logp)
    # r1 = (d − c) σ / P1 and r0 = (d − c)(1 − σ) / P0, both in [0, 1], computed without 0/0
    r1 = np.exp(log_dmc + ls1 - logp[..., 1])
    r0 = np.exp(log_dmc + ls0 - logp[..., 0])
    dl[..., 1] = a * s0 * r1
    dl[..., 0] = -a * s1 * r0
    curv = a * a * (s0 - s1)  # a²(1 − 2σ)
    d2l[..., 1] = curv * s0 * r1 - dl[..., 1] ** 2
    d2l[..., 0] = -curv * s1 * r0 - dl[..., 0] ** 2
    return logp, prob, dl, d2l


def _graded(theta: np.ndarray, it: ItemArrays | _Gathered, with_logp: bool, derivatives: bool = True) -> _Kernel:
    a = it.a[:, None]
    b = it.b  # (J, K−1), NaN padded
    k_max = b.shape[1] + 1
    present = np.arange(k_max) < it.n_cat[:, None]  # (J, K)
    z = a * (theta[..., None] - b)  # S + (J, K−1)
    z = np.where(np.isnan(b), -np.inf, z)  # absent thresholds: P(X ≥ k) = 0
    lead = np.full((*z.shape[:-1], 1), np.inf)
    tail = np.full((*z.shape[:-1], 1), -np.inf)
    upper = np.concatenate([lead, z], axis=-1)  # z_k, with z_0 = +inf
    lower = np.concatenate([z, tail], axis=-1)  # z_{k+1}, with z_K = −inf
    gap = np.diff(b, axis=1) * a  # a (b_{k+1} − b_k) > 0, NaN where absent
    with np.errstate(invalid="ignore"):
        const = np.where(np.isnan(gap), 0.0, np.log1p(-np.exp(-np.nan_to_num(gap, nan=1.0))))
    edge = np.zeros((b.shape[0], 1))
    const = np.concatenate([edge, const, edge], axis=1)  # (J, K): the lowest and highest category have no gap term
    with np.errstate(invalid="ignore"):
        logp = log_expit(upper) + log_expit(-lower) + const
    if not derivatives:
        return np.where(present, logp, -np.inf), None, None, None
    su, sl = expit(upper), expit(lower)
    dl = a * ((1.0 - su) - sl)
    d2l = -(a * a) * (su * (1.0 - su) + sl * (1.0 - sl))
    logp = np.where(present, logp, -np.inf)
    dl = np.where(present, dl, 0.0)
    d2l = np.where(present, d2l, 0.0)
    return logp, np.exp(logp), dl, d2l


def _partial_credit(
    theta: np.ndarray, it: ItemArrays | _Gathered, with_logp: bool, derivatives: bool = True
) -> _Kernel:
    a = it.a[:, None]
    b = it.b
    k_max = b.shape[1] + 1
    present = np.arange(k_max) < it.n_cat[:, None]
    cum_b = np.concatenate([np.zeros((b.shape[0], 1)), np.cumsum(np.nan_to_num(b), axis=1)], axis=1)  # (J, K)
    k = np.arange(k_max, dtype=float)
    s = a * (k * theta[..., None] - cum_b)  # S + (J, K)
    s = np.where(present, s, -np.inf)
    if not derivatives:  # log P alone: max and sum across the few category slabs (a reduction along a short last
        # axis runs element by element); the same log-softmax as below, its sum taken in category order
        slabs = [s[..., i] for i in range(k_max)]
        top = functools.reduce(np.maximum, slabs)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            lse = np.log(sum(np.exp(x - top) for x in slabs))
        return (s - top[..., None]) - lse[..., None], None, None, None
    logp = log_softmax(s, axis=-1)
    p = np.exp(logp)
    mean = p @ k
    var = np.maximum(p @ (k * k) - mean**2, 0.0)
    dl = np.where(present, a * (k - mean[..., None]), 0.0)
    d2l = np.where(present, -(a * a) * var[..., None], 0.0)
    return logp, p, dl, d2l
