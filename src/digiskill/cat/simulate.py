"""Simulation harness: many adaptive tests at once, all simulees stepping in lockstep, and a summary report.

Every step works on ``(N, J)`` arrays for the ``N`` simulees still testing: one criterion matrix, one masked argmax
(or a top-k / Sympson–Hetter draw), one gather of the answers from the response matrix, one update of the
``(N, Q)`` log-likelihoods. No loop over simulees or items in the step.

Responses come from a complete matrix ``(N, J)`` of category codes: drawn from the model at the simulees' true θ
(:func:`generate_responses`), or given (post-hoc simulation on real data). With exposure control ``none`` a simulee's
test is exactly the test a :class:`~digiskill.cat.session.Session` gives for the same answers.

Scope of this first version: each area is simulated as its own test (its own true θ, its own stopping rules, one area
after the other); ``max_total_items`` and Kingsbury–Zara interleaving, which only order the areas' items within a
session, do not change an area's items and are not simulated. Random draws (true θ, responses, randomesque,
Sympson–Hetter) come from one ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

from ..bank.parameters import ParameterSet
from ..irt.estimation import estimate
from ..irt.likelihood import finite_logp, indicator_products
from ..irt.response import category_terms, probability
from .arrays import AreaBank, CatBank, Grid
from .config import CatConfig
from .criteria import (
    NEGLIGIBLE_WEIGHT,
    astrat_distance,
    dichotomous_information,
)
from .respond import draw_categories
from .select import competence_allowed

_CHUNK = 2048  # simulees per block when a criterion needs (N, J, K) arrays


def generate_responses(params: ParameterSet | CatBank, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category codes ``(N, J)`` drawn from the model; ``theta`` is ``(N,)`` or ``(N, A)`` (one column per area)."""
    bank = params if isinstance(params, CatBank) else CatBank.from_parameters(params)
    theta = np.asarray(theta, dtype=float)
    theta = theta[:, None] if theta.ndim == 1 else theta
    n = theta.shape[0]
    codes = np.empty((n, len(bank.ids)), dtype=np.int16)
    for a, name in enumerate(bank.area_names):
        ab = bank.areas[name]
        th = theta[:, min(a, theta.shape[1] - 1)]
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            codes[sl, ab.index] = draw_categories(probability(th[sl], ab.items), rng, ab.items.n_cat)  # (n, J_a)
    return codes


@dataclass(frozen=True, eq=False)
class AreaRun:
    """The tests of one area: ``items`` ``(N, L_max)`` bank positions in order (−1 after the end), final ``theta``
    and ``se``, ``length``, the rule that ended each test, the decision against the cut (if any), and per item of
    the area how often it was *selected* (administered, or chosen and declined by Sympson–Hetter)."""

    area: str | None
    true_theta: np.ndarray
    items: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    length: np.ndarray
    stop_rule: np.ndarray
    classification: np.ndarray
    selected: np.ndarray


def run_area(
    bank: CatBank,
    area: str | None,
    codes: np.ndarray,
    true_theta: np.ndarray,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> AreaRun:
    """All ``N`` tests of one area in lockstep; ``codes`` is the ``(N, J)`` response matrix of the whole bank."""
    cfg = bank.config
    ab = bank.areas[area]
    grid = bank.grid
    x = codes[:, ab.index].astype(np.int64)  # (N, J_a)
    n, j = x.shape
    stop = cfg.stopping
    max_len = min(j, stop.max_items_per_area or j)
    loglik = np.zeros((n, grid.points.size))
    used = np.zeros((n, j), dtype=bool)
    excluded = np.zeros((n, j), dtype=bool)
    items = np.full((n, max_len), -1, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    theta = np.full(n, np.nan)
    se = np.full(n, np.nan)
    rule = np.full(n, None, dtype=object)
    decision = np.full(n, None, dtype=object)
    sprt = np.zeros(n)
    active = np.arange(n)
    first = cfg.start.first_item
    first_local = None
    if first in bank.index and bank.area_of(bank.index[first]) == area:
        first_local = int(bank.local[bank.index[first]])
    step = 0
    while active.size:
        th, sd, log_post = _estimate(ab, grid, cfg.estimator, loglik[active], x[active], used[active])
        open_items = ~(used[active] | excluded[active])
        allowed = competence_allowed(ab, used[active], open_items, cfg.balancing)
        chosen = _select(
            bank,
            ab,
            th,
            sd,
            log_post,
            loglik[active],
            ~allowed,
            length[active],
            rng,
            excluded,
            active,
        )
        if step == 0 and first_local is not None:
            chosen[:] = first_local
        resp = x[active, chosen]
        used[active, chosen] = True
        items[active, length[active]] = chosen
        length[active] += 1
        loglik[active] += ab.logp[:, chosen, resp].T
        if ab.sprt_logp is not None:
            sprt[active] += ab.sprt_logp[1, chosen, resp] - ab.sprt_logp[0, chosen, resp]
        th, sd, _ = _estimate(ab, grid, cfg.estimator, loglik[active], x[active], used[active])
        theta[active], se[active] = th, sd
        left = (~(used[active] | excluded[active])).sum(axis=1)
        fired = _stop_rules(cfg, ab, th, sd, length[active], sprt[active], left, decision, active)
        done = fired != None  # noqa: E711 - object array comparison
        rule[active[done]] = fired[done]
        active = active[~done]
        if progress is not None:
            progress(int(done.sum()))
        step += 1
    declined = excluded.sum(axis=0)
    selected = np.bincount(items[items >= 0], minlength=j) + declined
    return AreaRun(area, true_theta, items, theta, se, length, rule, decision, selected)


def _estimate(
    ab: AreaBank, grid: Grid, estimator: str, loglik: np.ndarray, x: np.ndarray, used: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ̂, SE and normalised log posterior ``(N, Q)`` for a block of simulees (EAP; MAP/ML/WLE where they apply)."""
    log_post = loglik + grid.log_weights
    top = log_post.max(axis=1, keepdims=True)
    log_post = log_post - (top + np.log(np.exp(log_post - top).sum(axis=1, keepdims=True)))
    post = np.exp(log_post)
    q = grid.points
    mean = post @ q
    sd = np.sqrt(np.maximum(post @ (q * q) - mean * mean, 0.0))
    if estimator == "eap":
        return mean, sd, log_post
    seen = used
    fit = seen.any(axis=1)
    if estimator in ("ml", "wle"):
        max_code = ab.items.n_cat - 1
        all_min = ((x == 0) | ~seen).all(axis=1)
        all_max = ((x == max_code) | ~seen).all(axis=1)
        fit &= ~all_min & ~all_max
    if fit.any():
        codes = np.where(seen[fit], x[fit], -1).astype(np.int16)
        est = estimate(
            codes, ab.items, estimator, prior_mean=grid.prior_mean, prior_sd=grid.prior_sd, bounds=grid.bounds
        )  # type: ignore[arg-type]
        mean, sd = mean.copy(), sd.copy()
        mean[fit], sd[fit] = est.theta, est.se
    return mean, sd, log_post


def _select(
    bank: CatBank,
    ab: AreaBank,
    theta: np.ndarray,
    se: np.ndarray,
    log_post: np.ndarray,
    loglik: np.ndarray,
    unavailable: np.ndarray,
    n_given: np.ndarray,
    rng: np.random.Generator,
    excluded: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    cfg = bank.config
    rule = cfg.selection.rule
    started = n_given > 0
    th = np.where(started, theta, cfg.start.theta)
    score = np.empty(unavailable.shape)
    for start in range(0, th.size, _CHUNK):
        sl = slice(start, min(start + _CHUNK, th.size))
        score[sl] = _scores(bank, ab, rule, th[sl], started[sl], log_post[sl], loglik[sl], unavailable[sl], n_given[sl])
    score[unavailable] = -np.inf
    method = cfg.exposure.method
    if method == "randomesque":
        k = min(cfg.exposure.top_k, score.shape[1])
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        finite = np.isfinite(np.take_along_axis(score, top, axis=1))
        n_ok = finite.sum(axis=1)
        order = np.argsort(~finite, axis=1, kind="stable")  # finite candidates first
        top = np.take_along_axis(top, order, axis=1)
        pick = (rng.random(th.size) * n_ok).astype(np.int64)
        return top[np.arange(th.size), pick]
    if method == "sympson_hetter":
        u = rng.random(score.shape)
        accept = u < ab.sh[None, :]
        masked = np.where(accept, score, -np.inf)
        best_acc = np.argmax(masked, axis=1)
        has = np.isfinite(masked[np.arange(th.size), best_acc])
        best = np.where(has, best_acc, np.argmax(score, axis=1))
        s_best = score[np.arange(th.size), best]
        above = (score > s_best[:, None]) & np.isfinite(score) & ~accept & has[:, None]
        excluded[active] |= above
        return best
    return np.argmax(score, axis=1)


def _scores(
    bank: CatBank,
    ab: AreaBank,
    rule: str,
    theta: np.ndarray,
    started: np.ndarray,
    log_post: np.ndarray,
    loglik: np.ndarray,
    unavailable: np.ndarray,
    n_given: np.ndarray,
) -> np.ndarray:
    """Criterion ``(n, J)`` (higher is better) for a block of simulees."""
    cfg = bank.config
    if rule == "cut_info":
        return np.broadcast_to(ab.cut_info, unavailable.shape).copy()
    if rule == "astrat":
        n_strata = cfg.selection.strata
        stage = np.minimum(n_strata - 1, n_given * n_strata // cfg.stopping.max_items_per_area)
        avail = ~unavailable
        in_stage = (ab.stratum[None, :] == stage[:, None]) & avail
        dist = np.where(in_stage, np.abs(ab.b_center[None, :] - theta[:, None]), np.inf)
        for r in np.flatnonzero(~in_stage.any(axis=1)):  # stratum used up: nearest stratum, rare
            dist[r], _ = astrat_distance(ab.b_center, ab.stratum, avail[r], int(stage[r]), float(theta[r]))
        return -dist
    info = _information(ab, theta)
    if rule == "mfi":
        return info
    out = info.copy()  # before the first answer: MFI at the start θ
    go = np.flatnonzero(started)
    if go.size == 0:
        return out
    th = theta[go]
    t = category_terms(th, ab.items)
    p_hat = t.prob  # (n, J, K)
    q, j, k = ab.logp.shape
    if rule in ("kl", "klp"):
        log_w = loglik[go] + bank.grid.log_integration if rule == "kl" else log_post[go]
        u = _weights(log_w)
        expected = (u @ ab.logp.reshape(q, j * k)).reshape(-1, j, k)
        out[go] = np.einsum("njk,njk->nj", p_hat, finite_logp(t.logp) - expected)
    else:  # mepv
        post = _weights(log_post[go])
        pts = bank.grid.points
        prob = ab.prob.reshape(q, j * k)
        m0 = (post @ prob).reshape(-1, j, k)
        m1 = ((post * pts) @ prob).reshape(-1, j, k)
        m2 = ((post * pts * pts) @ prob).reshape(-1, j, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = m1 / m0
            var = np.where(m0 > 0, np.maximum(m2 / m0 - mean * mean, 0.0), 0.0)
        out[go] = -np.einsum("njk,njk->nj", p_hat, var)
    return out


def _weights(log_w: np.ndarray) -> np.ndarray:
    u = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    u /= u.sum(axis=1, keepdims=True)
    u[u < NEGLIGIBLE_WEIGHT] = 0.0
    return u


def _information(ab: AreaBank, theta: np.ndarray) -> np.ndarray:
    if ab.dichotomous:
        it = ab.items
        return dichotomous_information(it.a, it.b[:, 0], it.c, it.d, theta[:, None])
    return category_terms(theta, ab.items, with_logp=False).information()


def _stop_rules(
    cfg: CatConfig,
    ab: AreaBank,
    theta: np.ndarray,
    se: np.ndarray,
    n: np.ndarray,
    sprt: np.ndarray,
    left: np.ndarray,
    decision: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """The rule that ends each test of the block (None: it goes on), as :func:`~digiskill.cat.stopping.area_stop`."""
    stop = cfg.stopping
    above = below = np.zeros(theta.size, dtype=bool)
    if ab.cut is not None and stop.classification == "ci":
        z = float(norm.ppf(1.0 - stop.alpha / 2.0))
        ok = np.isfinite(se)
        above, below = ok & (theta - z * se >= ab.cut), ok & (theta + z * se <= ab.cut)
    elif ab.cut is not None and stop.classification == "sprt":
        above = sprt >= np.log((1.0 - stop.beta) / stop.alpha)
        below = sprt <= np.log(stop.beta / (1.0 - stop.alpha))
    decision[active] = np.where(above, "above", np.where(below, "below", None))
    enough = n >= stop.min_items_per_area
    at_max = n >= stop.max_items_per_area if stop.max_items_per_area is not None else np.zeros(n.size, dtype=bool)
    precise = enough & (se <= stop.se_target) if stop.se_target is not None else np.zeros(n.size, dtype=bool)
    classified = "ci_classification" if stop.classification == "ci" else "sprt"
    return np.select(
        [at_max, precise, enough & (above | below), left == 0],
        np.array(["max_items_area", "se_target", classified, "items_exhausted"], dtype=object),
        default=None,
    )


# ------------------------------------------------------------------------------------------------------ report
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThetaBin(_Model):
    """Simulees whose true θ lies in one decile."""

    lower: float
    upper: float
    n: int
    bias: float
    rmse: float
    mean_se: float
    mean_length: float


class ExposureSummary(_Model):
    """Item exposure rates (share of simulees who saw the item); they sum to the mean test length."""

    max: float
    mean: float
    quantiles: dict[str, float] = Field(description="rate at the 50, 90 and 99 percent quantile of items")
    share_never_used: float
    share_above_0_2: float
    test_overlap: float = Field(
        description="expected share of items two simulees share, N/(N−1) Σr²/L̄ − 1/(N−1) (Chen et al. 2003; L̄ the "
        "mean length)"
    )


class PersonRun(_Model):
    """One simulee's test (post-hoc reports)."""

    person: str
    items: list[str]
    theta: float
    se: float


class AreaReport(_Model):
    area: str | None
    n_simulees: int
    bias: float
    rmse: float
    mean_se: float
    correlation: float
    mean_length: float
    min_length: int
    max_length: int
    stop_rules: dict[str, int]
    conditional: list[ThetaBin]
    exposure: ExposureSummary
    classification_accuracy: dict[str, float] = Field(
        default_factory=dict, description="per cut score: share with (θ̂ ≥ cut) == (θ ≥ cut)"
    )
    persons: list[PersonRun] | None = None


class SimulationReport(_Model):
    """Summary of a simulation (``digiskill simulate``)."""

    parameter_set: str
    engine: str
    seed: int
    n_simulees: int
    config: CatConfig
    areas: list[AreaReport]


@dataclass(frozen=True, eq=False)
class Simulation:
    """Arrays of a simulation run and its report."""

    runs: list[AreaRun]
    report: SimulationReport


def simulate(
    params: ParameterSet | CatBank,
    config: CatConfig | None = None,
    *,
    n: int = 1000,
    seed: int = 0,
    theta: np.ndarray | None = None,
    theta_mean: float = 0.0,
    theta_sd: float = 1.0,
    responses: np.ndarray | None = None,
    person_ids: list[str] | None = None,
    cuts: list[float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Simulate complete adaptive tests.

    Args:
        params: the bank (or a :class:`CatBank` prepared for ``config``).
        config: the CAT configuration.
        n: number of simulees (ignored when ``theta`` or ``responses`` is given).
        seed: seed of every draw.
        theta: true θ, ``(N,)`` or ``(N, A)`` for ``A`` areas; default N(theta_mean, theta_sd²) per area.
        responses: a complete ``(N, J)`` matrix of category codes (post-hoc simulation); true θ is then unknown, and
            bias/RMSE compare with ``theta`` if given, else with the EAP of the complete responses.
        person_ids: ids of the rows (post-hoc; the report then lists each person's test).
        cuts: cut scores for the classification accuracy (default: the configuration's cut, if any).
        progress: called with the number of tests that ended after each lockstep step (``N`` per area in all).
    """
    from .. import ENGINE

    if isinstance(params, CatBank):
        bank = params
        config = config or bank.config
    else:
        config = config or CatConfig()
        bank = CatBank.from_parameters(params, config)
    rng = np.random.default_rng(seed)
    n_areas = len(bank.area_names)
    if responses is not None:
        codes = np.asarray(responses).astype(np.int16)
        n = codes.shape[0]
        if theta is None:
            theta = _complete_eap(bank, codes)
    if theta is None:
        theta = rng.normal(theta_mean, theta_sd, size=(n, n_areas))
    theta = np.asarray(theta, dtype=float)
    theta = theta[:, None] if theta.ndim == 1 else theta
    n = theta.shape[0]
    if responses is None:
        codes = generate_responses(bank, theta, rng)
    runs, reports = [], []
    for a, name in enumerate(bank.area_names):
        true = theta[:, min(a, theta.shape[1] - 1)]
        run = run_area(bank, name, codes, true, rng, progress)
        runs.append(run)
        area_cuts = cuts if cuts is not None else [c for c in [config.cut_for(name)] if c is not None]
        reports.append(_area_report(bank, run, area_cuts, person_ids if responses is not None else None))
    report = SimulationReport(
        parameter_set=bank.parameter_set, engine=ENGINE, seed=seed, n_simulees=n, config=config, areas=reports
    )
    return Simulation(runs, report)


def _complete_eap(bank: CatBank, codes: np.ndarray) -> np.ndarray:
    out = np.empty((codes.shape[0], len(bank.area_names)))
    for a, name in enumerate(bank.area_names):
        ab = bank.areas[name]
        x = codes[:, ab.index].astype(np.int64)
        loglik = indicator_products(x, ab.logp)  # (N, Q): K matrix products, no loop over items
        out[:, a], _, _ = _estimate(ab, bank.grid, "eap", loglik, x, np.ones_like(x, dtype=bool))
    return out


def _area_report(bank: CatBank, run: AreaRun, cuts: list[float], person_ids: list[str] | None) -> AreaReport:
    ab = bank.areas[run.area]
    err = run.theta - run.true_theta
    n = err.size
    edges = np.quantile(run.true_theta, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(edges, run.true_theta, side="right") - 1, 0, 9)
    bins = []
    for d in range(10):
        m = which == d
        if m.any():
            bins.append(
                ThetaBin(
                    lower=float(edges[d]),
                    upper=float(edges[d + 1]),
                    n=int(m.sum()),
                    bias=float(err[m].mean()),
                    rmse=float(np.sqrt((err[m] ** 2).mean())),
                    mean_se=float(run.se[m].mean()),
                    mean_length=float(run.length[m].mean()),
                )
            )
    given = run.items[run.items >= 0]
    rates = np.bincount(given, minlength=ab.n_items) / n
    mean_len = float(run.length.mean())
    overlap = (n / (n - 1)) * float((rates**2).sum()) / mean_len - 1 / (n - 1) if n > 1 else 1.0
    exposure = ExposureSummary(
        max=float(rates.max()),
        mean=float(rates.mean()),
        quantiles={f"{q:g}": float(np.quantile(rates, q)) for q in (0.5, 0.9, 0.99)},
        share_never_used=float((rates == 0).mean()),
        share_above_0_2=float((rates > 0.2).mean()),
        test_overlap=float(overlap),
    )
    rules, counts = np.unique(run.stop_rule.astype(str), return_counts=True)
    persons = None
    if person_ids is not None:
        persons = [
            PersonRun(
                person=person_ids[i],
                items=[bank.ids[ab.index[k]] for k in run.items[i, : run.length[i]]],
                theta=float(run.theta[i]),
                se=float(run.se[i]),
            )
            for i in range(n)
        ]
    return AreaReport(
        area=run.area,
        n_simulees=n,
        bias=float(err.mean()),
        rmse=float(np.sqrt((err**2).mean())),
        mean_se=float(run.se.mean()),
        correlation=float(np.corrcoef(run.theta, run.true_theta)[0, 1]) if n > 1 else float("nan"),
        mean_length=mean_len,
        min_length=int(run.length.min()),
        max_length=int(run.length.max()),
        stop_rules={str(r): int(c) for r, c in zip(rules, counts, strict=True)},
        conditional=bins,
        exposure=exposure,
        classification_accuracy={f"{c:g}": float(((run.theta >= c) == (run.true_theta >= c)).mean()) for c in cuts},
        persons=persons,
    )


def derive_sympson_hetter(
    params: ParameterSet | CatBank,
    config: CatConfig | None = None,
    *,
    target: float = 0.25,
    n: int = 2000,
    iterations: int = 12,
    seed: int = 0,
) -> dict[str, float]:
    """Sympson–Hetter parameters that keep every item's exposure rate near or below ``target``.

    The classical iteration (Sympson & Hetter 1985): start with ``k_j = 1``; simulate ``n`` tests with the current
    parameters; with ``P(S_j)`` the share of simulees for whom item ``j`` was selected (given, or declined), set
    ``k_j = target / P(S_j)`` where ``P(S_j) > target`` and ``k_j = 1`` otherwise; repeat. Each iteration draws new
    simulees from ``seed + iteration``. The configuration's exposure block is replaced by Sympson–Hetter.

    Returns:
        item id → parameter, for the items whose parameter is below 1.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target exposure rate must be in (0, 1], got {target}")
    if isinstance(params, CatBank):
        raise TypeError("derive_sympson_hetter needs the ParameterSet: the bank is prepared again per iteration")
    config = config or CatConfig()
    k: dict[str, float] = {}
    for it in range(iterations):
        exposure = config.exposure.model_copy(update={"method": "sympson_hetter", "sh_parameters": dict(k)})
        cfg = config.model_copy(update={"exposure": exposure})
        sim = simulate(params, cfg, n=n, seed=seed + it)
        bank = CatBank.from_parameters(params, cfg)
        new: dict[str, float] = {}
        for run in sim.runs:
            ab = bank.areas[run.area]
            p_sel = run.selected / n
            for local in np.flatnonzero(p_sel > target):
                new[bank.ids[ab.index[local]]] = float(min(1.0, target / p_sel[local]))
        k = new
    return k
