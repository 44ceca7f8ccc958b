"""Standard errors of the MML estimates: the information matrix by Oakes' identity or by cross-products of scores.

* ``oakes`` (R mirt's default): Oakes (1999) writes the observed information as
  ``−[∂²Q(η | η')/∂η∂ηᵀ + ∂²Q(η | η')/∂η∂η'ᵀ]`` at ``η' = η``. The first term is the complete-data Hessian at the
  posterior of the estimates; the second is the posterior covariance of the complete-data scores
  ``S_nq = ∂ log f(x_n, θ_q)/∂η`` (Louis, 1982): ``Σ_n w_n [Σ_q post_nq S_nq S_nqᵀ − s_n s_nᵀ]`` with ``s_n`` the
  person's score. :func:`oakes_information` computes both from one posterior: the Hessian by central differences of
  the complete-data gradient at fixed expected counts, batched so that one pair of gradient evaluations covers the same
  parameter of every item (in a between-item model an item's complete-data gradient depends on its own parameters
  only), and the covariance as products of the per-node scores. Cost: one E-step, about ``2 × 4`` kernel evaluations
  and ``Q`` products of ``(N, p)`` score matrices, instead of ``2 · p`` E-steps
  (:func:`oakes_information_numeric`, the direct central differences of the observed score, kept as the reference).
* ``crossprod``: ``Σ_n w_n s_n s_nᵀ`` with ``s_n = Σ_q post_nq ∂ log f(x_n | θ_q)/∂η`` the person's score (the
  outer-product-of-gradients estimate). Cost: about one E-step times the number of parameters per item.
* ``sandwich`` (robust, as mirt's ``SE.type = "sandwich"``): ``cov = H⁻¹ B H⁻¹`` with ``H`` the Oakes observed
  information and ``B = Σ_n w_n s_n s_nᵀ`` the cross-products of the per-person log-likelihood scores (no prior
  term). Consistent when the model is misspecified (e.g. the latent distribution is not normal); equal to the Oakes
  covariance in expectation when the model is right. The condition number reported is that of ``H``.

Oakes and crossprod include the prior's curvature when item priors are used (MAP). Standard errors of derived
quantities (IRT-form ``b = −d/a``, asymptotes ``c = σ(γ_c)``) follow by the delta method with a numerical Jacobian of
the transformation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._data import Design, EStep
from ._models import KERNELS, log_prior
from ._problem import EMProblem

SE_METHODS = ("oakes", "crossprod", "sandwich", "none")
# Relative step of the central differences in the Oakes information (error O(h²) ≈ 1e-8 relative).
OAKES_STEP = 1e-4


@dataclass(frozen=True)
class Information:
    """The information matrix of the free parameters and what it says about their precision."""

    matrix: np.ndarray
    method: str
    condition_number: float
    positive_definite: bool
    cov: np.ndarray | None  # inverse, when positive definite


def summarize_information(info: np.ndarray, method: str) -> Information:
    """Symmetrise, check positive definiteness (smallest eigenvalue > 0) and invert."""
    sym = (info + info.T) / 2
    eig = np.linalg.eigvalsh(sym)
    pd = bool(eig.size and eig[0] > 0)
    cond = float(eig[-1] / eig[0]) if pd else float("inf")
    cov = np.linalg.inv(sym) if pd else None
    return Information(sym, method, cond, pd, cov)


def oakes_information(problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design) -> np.ndarray:
    """Observed information (Oakes' identity in Louis' form): complete-data information at the posterior minus the
    posterior covariance of the complete-data scores; see the module docstring. Symmetric ``(p, p)``."""
    etas, latent = problem.unpack(phi, template)
    es = problem.estep(etas, latent, design)
    hessian = complete_data_hessian(problem, phi, template, es)
    missing = posterior_score_products(problem, phi, template, design) - score_crossproducts(
        problem, phi, template, design
    )
    info = -hessian - missing
    return (info + info.T) / 2


def oakes_information_numeric(
    problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design
) -> np.ndarray:
    """Observed information by central differences of the observed-data score, two E-steps per free parameter (the
    reference for :func:`oakes_information`)."""
    p = phi.size
    h = OAKES_STEP * np.maximum(1.0, np.abs(phi))
    jac = np.empty((p, p))
    for i in range(p):  # one pair of E-steps per free parameter; each E-step is vectorised over persons and items
        e = np.zeros(p)
        e[i] = h[i]
        jac[:, i] = (problem.score(phi + e, template, design) - problem.score(phi - e, template, design)) / (2 * h[i])
    return -(jac + jac.T) / 2


def complete_data_hessian(problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], es: EStep) -> np.ndarray:
    """``∂/∂φ`` of the complete-data gradient (log prior included) at the fixed expected counts of ``es``.

    Item ``j``'s gradient depends only on item ``j``'s parameters, so parameter column ``c`` of every item of a family
    is moved at once and each item's response is read off its own rows. The common 1PL slope and the latent
    parameters (which touch several items or none) get a pair of evaluations each; the rows of the common slope are
    filled from its column (the matrix is symmetric).
    """
    n = phi.size
    h = OAKES_STEP * np.maximum(1.0, np.abs(phi))

    def gradient(x: np.ndarray) -> np.ndarray:
        etas, latent = problem.unpack(x, template)
        g_latent = np.einsum("gq,gqc->gc", es.group_totals, problem.latent_score(latent))
        return problem.pack_gradient(problem.family_gradients(etas, es), g_latent)

    owner = np.full(n, -1, dtype=np.int64)  # bank position of the item a parameter belongs to; −1: several or none
    batches: list[np.ndarray] = []
    for fam in problem.families:
        rows, cols = np.nonzero(fam.free)
        owner[fam.positions[rows, cols]] = fam.idx[rows]
        batches += [fam.positions[fam.free[:, c], c] for c in range(fam.width) if fam.free[:, c].any()]
    singles = np.flatnonzero(owner < 0)
    item_rows = np.flatnonzero(owner >= 0)
    hess = np.zeros((n, n))
    for batch in batches:
        e = np.zeros(n)
        e[batch] = h[batch]
        diff = gradient(phi + e) - gradient(phi - e)
        column_of_item = np.full(problem.family_codes.size, -1, dtype=np.int64)
        column_of_item[owner[batch]] = batch
        cols = column_of_item[owner[item_rows]]
        hit = cols >= 0
        hess[item_rows[hit], cols[hit]] = diff[item_rows[hit]] / (2 * h[cols[hit]])
    for i in singles:
        e = np.zeros(n)
        e[i] = h[i]
        hess[:, i] = (gradient(phi + e) - gradient(phi - e)) / (2 * h[i])
    hess[singles, :] = hess[:, singles].T
    return hess


def posterior_score_products(
    problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design
) -> np.ndarray:
    """``Σ_n w_n Σ_q post_nq S_nq S_nqᵀ`` of the complete-data scores ``S_nq = ∂ log f(x_n, θ_q)/∂φ`` (item terms of
    the answered items plus the person's group's ``∂ log w_q``), one ``(n, p)`` score matrix per node and block."""
    etas, latent = problem.unpack(phi, template)
    theta = problem.theta
    dls = [KERNELS[f.code](theta, e, f.n_cat, True)[1] for f, e in zip(problem.families, etas, strict=True)]
    dlw = problem.latent_score(latent)  # (G, Q, 2)
    codes, w, group = problem.data.codes, problem.data.weights, problem.data.group
    out = np.zeros((problem.n_free, problem.n_free))
    for sl, post, _ in design.posterior_blocks(problem.logp_full(etas), problem.log_latent(latent)):
        # each family's codes with "not answered" (and any code beyond the item's categories) as an extra category
        # whose score is 0, so that one gather per node gives every person's item scores
        sub = [
            np.where((c >= 0) & (c < dl.shape[2]), c, dl.shape[2])
            for c, dl in ((codes[sl][:, fam.idx], dl) for fam, dl in zip(problem.families, dls, strict=True))
        ]
        padded = [np.concatenate([dl, np.zeros_like(dl[:, :, :1])], axis=2) for dl in dls]  # (Q, J_f, K_f + 1, p)
        rows = np.arange(post.shape[0])
        g = np.zeros(post.shape[0], dtype=np.int64) if group is None or dlw.shape[0] == 1 else group[sl]
        for node in range(theta.size):  # the quadrature nodes; each product is over all persons of the block
            scores = [dl[node, np.arange(c.shape[1])[None, :], c] for c, dl in zip(sub, padded, strict=True)]
            lat = np.zeros((post.shape[0], dlw.shape[0], 2))
            lat[rows, g] = dlw[g, node]
            s = problem.pack_gradient(scores, lat)
            out += s.T @ ((w[sl] * post[:, node])[:, None] * s)
    return out


def sandwich_information(
    problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design
) -> Information:
    """Robust covariance ``H⁻¹ B H⁻¹`` (``H`` Oakes, ``B`` score cross-products); ``matrix`` is ``H``."""
    h = summarize_information(oakes_information(problem, phi, template, design), "sandwich")
    if h.cov is None:
        return h
    b = score_crossproducts(problem, phi, template, design)
    cov = h.cov @ b @ h.cov
    return Information(h.matrix, "sandwich", h.condition_number, h.positive_definite, (cov + cov.T) / 2)


def crossprod_information(
    problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design
) -> np.ndarray:
    """Cross-products of the per-person scores (frequency weighted), plus the prior's curvature."""
    etas, _ = problem.unpack(phi, template)
    return score_crossproducts(problem, phi, template, design) + prior_information(problem, etas)


def score_crossproducts(problem: EMProblem, phi: np.ndarray, template: list[np.ndarray], design: Design) -> np.ndarray:
    """``Σ_n w_n s_n s_nᵀ`` of the per-person log-likelihood scores ``s_n`` (frequency weighted)."""
    etas, latent = problem.unpack(phi, template)
    theta = problem.theta
    q = theta.size
    dls = [KERNELS[f.code](theta, e, f.n_cat, True)[1] for f, e in zip(problem.families, etas, strict=True)]
    dlw = problem.latent_score(latent)
    codes, w = problem.data.codes, problem.data.weights
    info = np.zeros((problem.n_free, problem.n_free))
    for sl, post, _ in design.posterior_blocks(problem.logp_full(etas), problem.log_latent(latent)):
        scores = []
        for fam, dl in zip(problem.families, dls, strict=True):
            sub = codes[sl][:, fam.idx]
            j, k_f, p = dl.shape[1:]
            s = np.zeros((sub.shape[0], j, p))
            for k in range(k_f):  # a handful of categories
                s += (sub == k)[..., None] * (post @ dl[:, :, k, :].reshape(q, j * p)).reshape(-1, j, p)
            scores.append(s)
        s_free = problem.pack_gradient(scores, _person_latent_scores(post, dlw, problem.data.group, sl))
        info += s_free.T @ (w[sl, None] * s_free)
    return info


def _person_latent_scores(post: np.ndarray, dlw: np.ndarray, group: np.ndarray | None, sl: slice) -> np.ndarray:
    """``(n, G, 2)`` per-person scores in the latent (mean, variance) of each group: a person's posterior expectation
    of their own group's ``∂ log w_q`` and zero for the other groups."""
    if group is None or dlw.shape[0] == 1:
        return (post @ dlw[0])[:, None, :]
    g = group[sl]
    out = np.zeros((post.shape[0], dlw.shape[0], 2))
    out[np.arange(g.size), g] = np.einsum("nq,nqc->nc", post, dlw[g])
    return out


def prior_information(problem: EMProblem, etas: list[np.ndarray]) -> np.ndarray:
    """The negative Hessian of the log prior, placed in the free-parameter matrix."""
    out = np.zeros((problem.n_free, problem.n_free))
    for fam, eta in zip(problem.families, etas, strict=True):
        _, _, hp = log_prior(fam.code, eta, fam.free, problem.priors)
        if not hp.any():
            continue
        pos = np.where(fam.free, fam.positions, -1)
        rows = np.broadcast_to(pos[:, :, None], hp.shape)
        cols = np.broadcast_to(pos[:, None, :], hp.shape)
        keep = (rows >= 0) & (cols >= 0) & (hp != 0)
        np.add.at(out, (rows[keep], cols[keep]), hp[keep])
    return out


def delta_se(fn: Callable[[np.ndarray], np.ndarray], phi: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Delta-method SEs of ``fn(φ)`` (a flat vector) with a central-difference Jacobian; NaN where ``fn`` does not
    depend on ``φ`` (fixed parameters) or is NaN."""
    base = fn(phi)
    p = phi.size
    jac = np.zeros((base.size, p))
    h = 1e-6 * np.maximum(1.0, np.abs(phi))
    for i in range(p):  # cheap transformation, no E-step
        e = np.zeros(p)
        e[i] = h[i]
        jac[:, i] = (fn(phi + e) - fn(phi - e)) / (2 * h[i])
    jac = np.nan_to_num(jac)
    var = np.einsum("ip,pq,iq->i", jac, cov, jac)
    se = np.sqrt(np.maximum(var, 0.0))
    return np.where(np.isnan(base) | ~(jac != 0).any(axis=1), np.nan, se)
