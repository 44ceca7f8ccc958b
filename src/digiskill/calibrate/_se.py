"""Standard errors of the MML estimates: the information matrix by Oakes' identity or by cross-products of scores.

* ``oakes`` (R mirt's default): Oakes (1999) writes the observed information as
  ``−[∂²Q(η | η')/∂η∂ηᵀ + ∂²Q(η | η')/∂η∂η'ᵀ]`` at ``η' = η``. The sum of the two terms is the total derivative of
  ``∂Q(η | η)/∂η``, which by Fisher's identity is the observed-data score. We differentiate that score (analytic, from
  one E-step) numerically by central differences, one pair of E-steps per free parameter, and symmetrise. Cost:
  ``2 · n_parameters`` E-steps.
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

from ._data import Design
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
    """Observed information by central differences of the observed-data score (Oakes' identity)."""
    p = phi.size
    h = OAKES_STEP * np.maximum(1.0, np.abs(phi))
    jac = np.empty((p, p))
    for i in range(p):  # one pair of E-steps per free parameter; each E-step is vectorised over persons and items
        e = np.zeros(p)
        e[i] = h[i]
        jac[:, i] = (problem.score(phi + e, template, design) - problem.score(phi - e, template, design)) / (2 * h[i])
    return -(jac + jac.T) / 2


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
