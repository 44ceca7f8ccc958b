"""Marginal maximum likelihood by EM (Bock & Aitkin, 1981), accelerated by SQUAREM (Varadhan & Roland, 2008).

Model: every person's ability ``θ ~ N(0, σ²)`` (``σ = 1`` unless every item has its slope fixed at 1, as mirt's
``Rasch``), integrated on a fixed grid (by default R mirt's 61 equally spaced points on [−6, 6] with normalised
N(0, σ²) weights, the rectangular rule). Items are conditionally independent given θ; each item follows its own model
(see :mod:`digiskill.calibrate._models` for the slope–intercept parameterisation used inside).

One EM cycle:

1. E-step: the posterior ``post_nq ∝ w_q f(x_n | θ_q)`` of every person on the grid from one matrix product with the
   indicator design, and the expected counts ``r_jkq = Σ_n weight_n 1[x_nj = k] post_nq`` from one transposed
   product (:class:`~digiskill.calibrate._data.Design`). Missing responses contribute nothing.
2. M-step: for each item family, Newton/Fisher-scoring on all items at once, maximising
   ``Σ_qk r_jkq log P_jk(θ_q) + log prior_j`` (separable over items, apart from a common 1PL slope, which is solved
   jointly by block elimination); then ``σ² = Σ_q n_q θ_q² / N`` when the latent variance is free.

Fixed-item parameter calibration (FIPC; Kim, 2006, J. Educ. Meas. 43, 355–381): with ``anchors`` the items found in
that parameter set keep their given parameters, every other item is estimated, and the latent distribution is
N(μ, σ²) with both μ and σ² estimated. What is implemented is Kim's MWU-MEM (multiple weights updating, multiple EM
cycles) in its parametric form: at every EM cycle the quadrature weights are re-set to N(μ, σ²) with μ and σ² the mean
and variance of the current posterior node totals (the M-step of the latent distribution), and the free items'
M-step uses the counts of the E-step under those updated weights; cycles continue to convergence of all free
parameters (μ and σ² included). Since μ and σ² are ordinary MML parameters here, the result is the joint marginal ML
(MAP) estimate with the anchors held fixed, and standard errors cover μ and σ² too. (BILOG-MG/PARSCALE's
non-parametric variant updates an empirical histogram instead; it is not implemented.)

Convergence (mirt's rule): the largest absolute change of any free parameter in one plain EM cycle is below ``tol``
(1e-4). Acceleration extrapolates along two EM steps (SQUAREM, scheme S3) and falls back to the plain step whenever the
extrapolated point is inadmissible or has a lower log-likelihood.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..errors import ConvergenceWarning, DigiskillWarning, InputError, Problem
from ..irt.items import DICHOTOMOUS, ItemArrays
from ..irt.quadrature import Quadrature
from ._data import Design, ResponseData, prepare_responses
from ._models import FIXED_SLOPE_MODELS, MODEL_FAMILY, MODELS, Priors, to_irt
from ._problem import EMProblem, Latent
from ._se import (
    SE_METHODS,
    Information,
    crossprod_information,
    delta_se,
    oakes_information,
    sandwich_information,
    summarize_information,
)
from .fixed import FixedItems
from .flags import LOCATION_WARN, SLOPE_WARN
from .result import CalibrationResult

DEFAULT_TOL = 1e-4  # mirt's TOL for EM
DEFAULT_MAX_ITER = 500  # mirt's NCYCLES
# The single-precision phase stops once the largest change is below this (or ``tol`` if larger): the rounding of its
# float32 sums (the category-0 counts are differences of two of them) leaves a jitter of 1e-6 to 1e-5 in the EM map
# near the optimum, so a smaller ``tol`` is reached by the double-precision cycles that follow, with acceleration and
# the rest of ``max_iter``.
SINGLE_PRECISION_TOL = 1e-4
SQUAREM_MAX_STEP = 64.0  # bound on the SQUAREM step length |α|


def _check_arguments(tol: float, max_iter: int, se: str, latent_sd: str) -> None:
    """The options of :func:`calibrate`, checked before any work."""
    problems = []
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating | np.integer) or not 0 < tol < np.inf:
        problems.append(Problem(f"tol (the convergence tolerance) must be a finite number > 0, got {tol!r}"))
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        problems.append(Problem(f"max_iter (the most EM cycles) must be a whole number >= 1, got {max_iter!r}"))
    if se not in SE_METHODS:
        problems.append(Problem(f"se must be one of {', '.join(SE_METHODS)}, got {se!r}"))
    if latent_sd not in ("auto", "fixed", "free"):
        problems.append(Problem(f"latent_sd must be 'auto', 'fixed' or 'free', got {latent_sd!r}"))
    if problems:
        raise InputError(problems)


def calibrate(
    responses: np.ndarray,
    model: str | Sequence[str] = "2pl",
    *,
    item_ids: Sequence[str] | None = None,
    weights: np.ndarray | Sequence[float] | None = None,
    n_categories: Sequence[int] | np.ndarray | None = None,
    latent_sd: Literal["auto", "fixed", "free"] = "auto",
    priors: Priors | None = None,
    se: Literal["oakes", "crossprod", "sandwich", "none"] = "oakes",
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    accelerate: Literal["squarem", "none"] = "squarem",
    quadrature: Quadrature | None = None,
    precision: Literal["auto", "double", "single"] = "auto",
    collapse: bool | None = None,
    design: Literal["auto", "dense", "sparse"] = "auto",
    anchors: FixedItems | None = None,
    groups: Sequence[object] | np.ndarray | None = None,
    reference_group: object = None,
    start: FixedItems | CalibrationResult | None = None,
    start_latent: dict[str, tuple[float, float]] | None = None,
) -> CalibrationResult:
    """Estimate item parameters by marginal maximum likelihood (MAP with item priors) with the EM algorithm.

    Args:
        responses: ``(N, J)`` category codes ``0..K_j−1``; NaN (float input) or a negative code = not presented.
        model: one model for all items or one per item: ``rasch`` (slope 1; latent variance estimated), ``1pl`` (one
            slope common to all 1PL items; N(0, 1)), ``2pl``, ``3pl`` (with a Beta(5, 17) prior on the lower
            asymptote, see :class:`Priors`), ``4pl``, ``grm``, ``gpcm``, ``pcm`` (slope 1; latent variance estimated).
        item_ids: item identifiers (default: DataFrame columns or ``Item.1..``).
        weights: frequency weights per row, e.g. the counts of a table of response patterns.
        n_categories: categories per item (default: highest observed code + 1; every category must be used).
        latent_sd: ``"auto"`` estimates the latent variance when every item has its slope fixed at 1 (``rasch``,
            ``pcm``) and fixes it at 1 otherwise; ``"fixed"``/``"free"`` force it. With ``anchors``, ``"auto"`` and
            ``"free"`` estimate the latent mean and variance (FIPC with prior updating); ``"fixed"`` keeps N(0, 1)
            (fixed-item calibration without prior updates, Kim's NWU).
        priors: item priors (default :class:`Priors`: Beta on 3PL/4PL asymptotes only).
        se: standard errors from the Oakes observed information (default, as mirt), from score cross-products,
            robust ``"sandwich"`` (Oakes⁻¹ · cross-products · Oakes⁻¹, as mirt's ``SE.type = "sandwich"``), or none.
        tol: convergence tolerance on the largest absolute parameter change of an EM cycle.
        max_iter: the most EM cycles.
        accelerate: ``"squarem"`` (default) or plain EM.
        quadrature: grid of ability values (default ``Quadrature.normal()``: 61 points on [−6, 6]); only its points
            are used, the weights are N(0, σ²) on them.
        precision: ``"auto"`` runs the E-step's matrix products in single precision for large designs until the largest
            change is below ``max(tol, 1e-4)`` and then continues with double-precision cycles to ``tol``; the reported
            log-likelihood and SEs are always double precision.
        collapse: merge identical response patterns (default: when there are at most 30 items).
        design: hold the response indicators as a dense or a scipy sparse matrix; ``"auto"`` goes sparse for large
            designs with at most 20 % of the cells answered (cost then grows with the number of answers).
        anchors: fixed-item calibration onto the scale of existing items (e.g. a parameter set's
            :meth:`~digiskill.bank.ParameterSet.as_fixed_items`): every response column whose item id is in
            ``anchors`` keeps the given parameters and model (``model`` entries for those columns are ignored), the
            other items are estimated, and so are the latent mean and SD (see the module docstring).
            An anchor may have categories nobody used in these data, never a code beyond its categories.
        groups: ``(N,)`` a group label per row for a multiple-group calibration (Bock & Zimowski, 1997): the item
            parameters are common to all groups and every group has its own latent N(μ_g, σ²_g). The reference group
            (``reference_group``, default the first label in sorted order) sets the scale, N(0, 1) (its variance is
            estimated when ``latent_sd`` says so, e.g. Rasch); every other group has its mean and SD estimated
            (its SD fixed at 1 with ``latent_sd="fixed"``). With ``anchors`` every group's mean and SD is estimated.
            Items whose parameters may differ between groups are separate columns, each answered in one group
            only (as :func:`~digiskill.calibrate.lr_dif` does). Results: ``group_labels``, ``group_latent_mean``,
            ``group_latent_sd`` (``latent_mean``/``latent_sd`` are the reference group's).
        reference_group: the label of the reference group (must occur in ``groups``).
        start: start values for the free items whose id is in these items or earlier result (the others
            start from their marginal proportions); an earlier result also gives the start of the latent
            distribution of every group with the same label (or of the single group). Only speeds convergence up.
        start_latent: start ``(mean, SD)`` of the latent distribution by group label (``""`` without groups);
            overrides what ``start`` gives. Fixed means and SDs keep their values (0 and 1).

    Returns:
        :class:`~digiskill.calibrate.CalibrationResult`.

    Raises:
        InputError: bad responses (see :func:`~digiskill.calibrate.prepare_responses`), an unknown model name, a
            model that does not fit an item's number of categories, anchors of which no item is a response column, or
            a response code beyond an anchor's categories.

    Warns:
        ConvergenceWarning: EM stopped at ``max_iter`` before meeting ``tol``.
    """
    _check_arguments(tol, max_iter, se, latent_sd)
    fixed = anchor_pos = given = None
    anchor_items: FixedItems | None = None
    if anchors is not None:
        ids = _column_ids(responses, item_ids)
        by_id = anchors.params.index
        anchor_pos = np.array([i for i, k in enumerate(ids) if k in by_id], dtype=np.int64)
        if not anchor_pos.size:
            raise InputError(
                f"none of the {len(ids)} response columns is an item of the anchor set {anchors.name!r} "
                f"({anchors.params.n_items} items); anchors are matched by item id"
            )
        anchor_items = anchors.take([ids[i] for i in anchor_pos])
        given = anchor_items.params
        fixed = np.zeros(len(ids), bool)
        fixed[anchor_pos] = True
        n_cat_in = np.zeros(len(ids), np.int64)
        if n_categories is not None:
            n_cat_in[:] = np.broadcast_to(np.asarray(n_categories, dtype=np.int64), (len(ids),))
        n_cat_in[anchor_pos] = given.n_cat
        n_categories = n_cat_in
        model = list((model,) * len(ids) if isinstance(model, str) else model)
        if len(model) == len(ids):
            for i, m in zip(anchor_pos, anchor_items.models, strict=True):
                model[i] = m
    group_codes, group_labels = (None, ()) if groups is None else _group_codes(groups, reference_group, responses)
    data = prepare_responses(
        responses,
        item_ids=item_ids,
        weights=weights,
        n_categories=n_categories,
        collapse=collapse,
        fixed=fixed,
        groups=group_codes,
        group_labels=group_labels,
    )
    models = _check_models(model, data)
    if anchors is not None:
        var_free = mean_free = latent_sd != "fixed"
    else:
        var_free = all(m in FIXED_SLOPE_MODELS for m in models) if latent_sd == "auto" else latent_sd == "free"
        mean_free = False
        if data.n_groups > 1:  # the reference group sets the scale; the others are free
            var_free = np.array([var_free] + [latent_sd != "fixed"] * (data.n_groups - 1))
            mean_free = np.arange(data.n_groups) > 0
    quad = quadrature or Quadrature.normal()
    problem = EMProblem(
        data,
        models,
        quad.points,
        priors or Priors(),
        var_free,
        latent_mean_free=mean_free,
        anchors=None if anchor_pos is None else (anchor_pos, given),
    )

    dtype = {"auto": "auto", "double": np.float64, "single": np.float32}[precision]
    if design not in ("auto", "dense", "sparse"):
        raise ValueError(f"design must be 'auto', 'dense' or 'sparse', got {design!r}")
    indicators = Design(data, dtype=dtype, sparse=None if design == "auto" else design == "sparse")
    template = problem.start_etas()
    latent0 = Latent(np.zeros(data.n_groups), np.ones(data.n_groups))
    if start is not None:
        if isinstance(start, CalibrationResult):
            start_latent = {**_latent_by_label(start), **(start_latent or {})}
            start = FixedItems.from_result(start)
        known = start.params.index
        pos = np.array([i for i, k in enumerate(data.ids) if k in known], dtype=np.int64)
        if pos.size:
            template = problem.with_start(template, pos, start.take([data.ids[i] for i in pos]).params)
    for g, name in enumerate(data.group_labels or ("",)):
        if start_latent and name in start_latent:
            latent0.mean[g], latent0.var[g] = start_latent[name][0], start_latent[name][1] ** 2
    phi = problem.pack(template, latent0)
    single = indicators.dtype != np.float64
    phi, history, converged, change, cycles = run_em(
        problem, phi, template, indicators, max(tol, SINGLE_PRECISION_TOL) if single else tol, max_iter, accelerate
    )
    if single:
        indicators = indicators.with_dtype(np.float64)
        phi, more, converged, change, extra = run_em(
            problem, phi, template, indicators, tol, max(max_iter - cycles, 1), accelerate
        )
        history, cycles = np.concatenate([history, more]), cycles + extra
    if not converged:
        warnings.warn(
            f"EM did not converge in {cycles} cycles: largest parameter change {change:.3g} > tol {tol:g}; "
            "the estimates are not maximum-likelihood estimates (raise max_iter, or check for items with extreme "
            "proportions)",
            ConvergenceWarning,
            stacklevel=2,
        )
    etas, latent = problem.unpack(phi, template)
    es = problem.estep(etas, latent, indicators)
    _warn_bounds(problem, etas)

    info: Information | None = None
    if se == "sandwich" and problem.n_free:
        info = sandwich_information(problem, phi, template, indicators)
    elif se != "none" and problem.n_free:
        raw = (oakes_information if se == "oakes" else crossprod_information)(problem, phi, template, indicators)
        info = summarize_information(raw, se)
        if not info.positive_definite:
            warnings.warn(
                f"the {'oakes' if se == 'sandwich' else se} information matrix is not positive definite "
                "(condition number inf); no standard errors",
                ConvergenceWarning,
                stacklevel=2,
            )
    result = _result(problem, data, phi, template, es.loglik, history, converged, change, cycles, info, quad)
    if anchors is None:
        return result
    return _with_anchors(result, anchor_pos, given, anchor_items)


def _latent_by_label(result: CalibrationResult) -> dict[str, tuple[float, float]]:
    """``(mean, SD)`` of a result's latent distributions by group label (``""`` for a single-group result)."""
    if not result.group_labels:
        return {"": (result.latent_mean, result.latent_sd)}
    return {
        name: (float(m), float(sd))
        for name, m, sd in zip(result.group_labels, result.group_latent_mean, result.group_latent_sd, strict=True)
    }


def _group_codes(
    groups: Sequence[object] | np.ndarray, reference: object, responses: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Group codes ``0..G−1`` per row (the reference group is 0) and the labels, from any labels (compared as text)."""
    n = np.shape(responses)[0] if np.ndim(responses) == 2 else -1
    labels = np.asarray(groups, dtype=object).reshape(-1)
    if labels.size != n:
        raise InputError(f"{labels.size} group labels given for {n} response rows")
    text = np.array(["" if g is None or (isinstance(g, float) and np.isnan(g)) else str(g) for g in labels])
    blank = np.flatnonzero(text == "")
    if blank.size:
        rows = ", ".join(str(r + 1) for r in blank[:10]) + (" …" if blank.size > 10 else "")
        raise InputError(f"{blank.size} row(s) have no group label (rows {rows}); drop them or give them a group")
    present, inverse = np.unique(text, return_inverse=True)  # sorted labels, and each row's index among them
    order = np.arange(present.size)
    if reference is not None:
        ref = str(reference)
        if ref not in present:
            raise InputError(f"reference group {ref!r} not found; group labels present: {', '.join(present)}")
        k = int(np.flatnonzero(present == ref)[0])
        order = np.concatenate([[k], np.delete(order, k)])  # the reference group first
    code_of = np.empty(present.size, dtype=np.int16)
    code_of[order] = np.arange(present.size)
    return code_of[inverse.reshape(-1)], tuple(str(g) for g in present[order])


def _column_ids(responses: np.ndarray, item_ids: Sequence[str] | None) -> tuple[str, ...]:
    """The item ids :func:`prepare_responses` will use (DataFrame columns, ``item_ids`` or ``Item.1..``)."""
    if item_ids is None and hasattr(responses, "columns"):
        return tuple(str(c) for c in responses.columns)
    if item_ids is not None:
        return tuple(str(i) for i in item_ids)
    shape = np.shape(responses)
    if len(shape) != 2:
        raise InputError(f"responses must be a non-empty (persons, items) matrix; got shape {shape}")
    return tuple(f"Item.{i + 1}" for i in range(shape[1]))


def _with_anchors(
    result: CalibrationResult, pos: np.ndarray, given: ItemArrays, items: FixedItems
) -> CalibrationResult:
    """The anchors' given IRT-form values exactly (no round trip through the slope–intercept form) and NaN SEs."""
    p = result.params
    a, b, c, d = p.a.copy(), p.b.copy(), p.c.copy(), p.d.copy()
    k = min(b.shape[1], given.b.shape[1])
    a[pos], c[pos], d[pos] = given.a, given.c, given.d
    b[pos] = np.nan
    b[pos, :k] = given.b[:, :k]
    params = ItemArrays(family=p.family, a=a, b=b, c=c, d=d, n_cat=p.n_cat, ids=p.ids)
    se = result.se
    if se is not None:
        se_b = se.b.copy()
        se_b[pos] = np.nan
        nan = np.full(pos.size, np.nan)
        se = ItemArrays(
            family=se.family,
            a=_put(se.a, pos, nan),
            b=se_b,
            c=_put(se.c, pos, nan),
            d=_put(se.d, pos, nan),
            n_cat=se.n_cat,
            ids=se.ids,
        )
    mask = np.zeros(p.n_items, bool)
    mask[pos] = True
    return dataclasses.replace(result, params=params, se=se, anchored=mask, anchors=items)


def _put(x: np.ndarray, pos: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[pos] = v
    return out


def run_em(
    problem: EMProblem,
    phi: np.ndarray,
    template: list[np.ndarray],
    design: Design,
    tol: float,
    max_iter: int,
    accelerate: str,
) -> tuple[np.ndarray, np.ndarray, bool, float, int]:
    """Iterate the EM map from ``φ``: returns ``(φ, loglik history, converged, last max change, cycles)``."""
    history: list[float] = []
    cycles = 0
    change = np.inf

    def step(x: np.ndarray) -> np.ndarray:
        nonlocal cycles
        new, ll = problem.em_map(x, template, design)
        cycles += 1
        history.append(ll)
        return new

    if problem.n_free == 0:
        return phi, np.array(history), True, 0.0, 0
    while cycles < max_iter:
        phi1 = step(phi)
        change = float(np.max(np.abs(phi1 - phi)))
        if change < tol:
            return phi1, np.array(history), True, change, cycles
        if accelerate != "squarem" or cycles >= max_iter:
            phi = phi1
            continue
        ll0 = history[-1]
        phi2 = step(phi1)
        change = float(np.max(np.abs(phi2 - phi1)))
        if change < tol:
            return phi2, np.array(history), True, change, cycles
        r = phi1 - phi
        v = phi2 - phi1 - r
        vv = float(v @ v)
        alpha = -np.sqrt(float(r @ r) / vv) if vv > 0 else -1.0
        alpha = max(min(alpha, -1.0), -SQUAREM_MAX_STEP)
        if alpha == -1.0 or cycles >= max_iter:
            phi = phi2
            continue
        cand = phi - 2 * alpha * r + alpha * alpha * v
        if not problem.valid(cand, template):
            phi = phi2
            continue
        new = step(cand)
        if (
            np.isfinite(history[-1])
            and history[-1] >= max(ll0, history[-2]) - 1e-10 * abs(ll0)
            and problem.valid(new, template)
        ):
            phi = new
        else:
            phi = phi2
    return phi, np.array(history), False, change, cycles


def _check_models(model: str | Sequence[str], data: ResponseData) -> tuple[str, ...]:
    j = data.n_cat.size
    models = (model,) * j if isinstance(model, str) else tuple(model)
    if len(models) != j:
        raise InputError(f"{len(models)} models given for {j} items")
    models = tuple(m.lower() for m in models)
    problems = []
    for i, m in enumerate(models):  # validation only
        if m not in MODEL_FAMILY:
            problems.append(Problem(f"unknown model {m!r}; expected one of {', '.join(MODELS)}", item_id=data.ids[i]))
        elif MODEL_FAMILY[m] == DICHOTOMOUS and data.n_cat[i] != 2:
            problems.append(
                Problem(
                    f"model {m} needs 2 categories, the item has {int(data.n_cat[i])} (use grm, gpcm or pcm)",
                    item_id=data.ids[i],
                )
            )
    if problems:
        raise InputError(problems)
    return models


def _result(
    problem: EMProblem,
    data: ResponseData,
    phi: np.ndarray,
    template: list[np.ndarray],
    loglik: float,
    history: np.ndarray,
    converged: bool,
    change: float,
    cycles: int,
    info: Information | None,
    quad: Quadrature,
) -> CalibrationResult:
    j, k_max = data.n_cat.size, problem.k_max

    def arrays(x: np.ndarray) -> dict[str, np.ndarray]:
        etas, _ = problem.unpack(x, template)
        out = {
            "a": np.empty(j),
            "b": np.full((j, k_max - 1), np.nan),
            "c": np.zeros(j),
            "d": np.ones(j),
            "intercepts": np.full((j, k_max - 1), np.nan),
        }
        for fam, eta in zip(problem.families, etas, strict=True):
            irt = to_irt(fam.code, eta, fam.n_cat)
            out["a"][fam.idx], out["c"][fam.idx], out["d"][fam.idx] = irt["a"], irt["c"], irt["d"]
            out["b"][fam.idx, : irt["b"].shape[1]] = irt["b"]
            thr = np.arange(1, eta.shape[1]) < fam.n_cat[:, None] if fam.code != DICHOTOMOUS else np.ones((1, 1), bool)
            out["intercepts"][fam.idx, : eta.shape[1] - 1] = (
                np.where(thr, eta[:, 1:], np.nan) if fam.code != DICHOTOMOUS else eta[:, 1:2]
            )
        return out

    def flat(x: np.ndarray) -> np.ndarray:
        o = arrays(x)
        return np.concatenate([o["a"], o["b"].ravel(), o["c"], o["d"], o["intercepts"].ravel()])

    est = arrays(phi)

    def item_arrays(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> ItemArrays:
        return ItemArrays(family=problem.family_codes.copy(), a=a, b=b, c=c, d=d, n_cat=data.n_cat.copy(), ids=data.ids)

    se_items = se_d = se_var = se_mean = None
    if info is not None and info.cov is not None:
        s = delta_se(flat, phi, info.cov)
        nb = j * (k_max - 1)
        parts = np.split(s, [j, j + nb, j + nb + j, j + nb + 2 * j])
        se_items = item_arrays(parts[0], parts[1].reshape(j, -1), parts[2], parts[3])
        se_d = parts[4].reshape(j, -1)
        diag = np.sqrt(np.maximum(np.diag(info.cov), 0.0))
        se_mean = np.where(problem.latent_mean_free, diag[problem.mean_positions], np.nan)
        se_var = np.where(problem.latent_var_free, diag[problem.var_positions], np.nan)
    etas, latent = problem.unpack(phi, template)
    lp = problem.total_log_prior(etas)
    return CalibrationResult(
        params=item_arrays(est["a"], est["b"], est["c"], est["d"]),
        models=problem.models,
        intercepts=est["intercepts"],
        loglik=float(loglik),
        log_prior=lp,
        n_parameters=problem.n_free,
        n_persons=data.n_persons,
        n_persons_dropped=data.n_dropped,
        iterations=cycles,
        converged=converged,
        max_change=float(change),
        loglik_history=history,
        latent_mean=float(latent.mean[0]),
        latent_sd=float(np.sqrt(latent.var[0])),
        parameter_names=problem.labels,
        estimates=phi,
        quadrature_points=int(quad.points.size),
        quadrature_range=(float(quad.points[0]), float(quad.points[-1])),
        se_method=None if info is None else info.method,
        cov=None if info is None else info.cov,
        condition_number=None if info is None else info.condition_number,
        information_positive_definite=None if info is None else info.positive_definite,
        se=se_items,
        se_intercepts=se_d,
        se_latent_var=None if se_var is None or np.isnan(se_var[0]) else float(se_var[0]),
        se_latent_mean=None if se_mean is None or np.isnan(se_mean[0]) else float(se_mean[0]),
        group_labels=data.group_labels,
        group_latent_mean=latent.mean if data.n_groups > 1 else None,
        group_latent_sd=np.sqrt(latent.var) if data.n_groups > 1 else None,
        se_group_latent_mean=se_mean if data.n_groups > 1 else None,
        se_group_latent_var=se_var if data.n_groups > 1 else None,
    )


def _warn_bounds(problem: EMProblem, etas: list[np.ndarray]) -> None:
    """Warn about items whose estimates sit at or beyond a plausible bound (never silently)."""
    notes = []
    for fam, eta in zip(problem.families, etas, strict=True):
        irt = to_irt(fam.code, eta, fam.n_cat)
        free_a = fam.free[:, 0] & ~problem.fixed[fam.idx]
        for r in np.flatnonzero(free_a & ~(irt["a"] > 0)):  # warning text only
            notes.append(f"{problem.data.ids[fam.idx[r]]}: slope {irt['a'][r]:.3g} <= 0")
        for r in np.flatnonzero(free_a & (irt["a"] > SLOPE_WARN)):
            notes.append(f"{problem.data.ids[fam.idx[r]]}: slope {irt['a'][r]:.3g} > {SLOPE_WARN:g}")
        with np.errstate(invalid="ignore"):
            far = (np.nanmax(np.abs(irt["b"]), axis=1, initial=0.0) > LOCATION_WARN) & ~problem.fixed[fam.idx]
        for r in np.flatnonzero(far):
            notes.append(f"{problem.data.ids[fam.idx[r]]}: a location beyond ±{LOCATION_WARN:g}")
    if notes:
        shown = "; ".join(notes[:10]) + (f"; and {len(notes) - 10} more" if len(notes) > 10 else "")
        warnings.warn(f"estimates at or near a bound: {shown}", DigiskillWarning, stacklevel=3)
