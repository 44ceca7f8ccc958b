"""Simulation harness: many adaptive tests at once, all simulees stepping in lockstep, and a summary report.

Each simulee takes a whole session over every area of the bank (its own true θ per area), and every step calls the
rules of :mod:`~digiskill.cat.rules`, the ones a live session calls with N = 1, on ``(N, J_a)`` arrays for the
simulees still testing: Kingsbury–Zara chooses each simulee's area, then per area (at most a handful) one criterion
matrix, one exposure-control pick, one gather of the answers from the response matrix, one update of the ``(N, Q)``
log-likelihoods and the stopping rules. No loop over simulees or items in the step.

Responses come from a complete matrix ``(N, J)`` of category codes: drawn from the model at the simulees' true θ
(:func:`generate_responses`), or given (post-hoc simulation on real data). True θ, the responses and one session seed
per simulee come from ``numpy.random.default_rng(seed)``; exposure control draws from each simulee's session seed as
a live session does. A simulee's test is therefore exactly the test a :class:`~digiskill.cat.session.Session` with
that seed gives for the same answers, for every rule, estimator, exposure method, balancing and stopping option.

A multidimensional configuration runs :func:`run_joint_sessions` instead (the strategy of
:mod:`~digiskill.cat.joint`, again the one a session calls): true θ are drawn jointly from ``N(mean, sd² Σ)``, each
step makes one joint selection and one joint estimate for all simulees still testing, and a post-hoc report lists
each person's whole item sequence and final θ per area (``SimulationReport.persons``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..bank.parameters import ParameterSet
from ..irt.likelihood import indicator_products
from ..irt.response import probability
from .arrays import AreaBank, CatBank, Grid
from .balancing import area_targets, competence_allowed, kingsbury_zara
from .config import CatConfig
from .estimate import Fit, fit_rows, posterior
from .respond import draw_categories
from .rules import PersonDraws, Rules

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


@dataclass(eq=False)
class _AreaTests:
    """The lockstep state of one area for all ``N`` simulees; owned and updated by :func:`run_sessions` alone."""

    area: AreaBank
    x: np.ndarray  # (N, J_a) the complete answers
    loglik: np.ndarray  # (N, Q)
    used: np.ndarray  # (N, J_a)
    excluded: np.ndarray  # (N, J_a) set aside by Sympson–Hetter
    items: np.ndarray  # (N, L_max)
    length: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    llr: np.ndarray
    finished: np.ndarray
    rule: np.ndarray
    decision: np.ndarray

    @classmethod
    def start(cls, bank: CatBank, area: str | None, codes: np.ndarray) -> _AreaTests:
        ab = bank.areas[area]
        x = codes[:, ab.index].astype(np.int64)
        n, j = x.shape
        max_len = min(j, bank.config.stopping.max_items_per_area or j)
        loglik = np.zeros((n, bank.grid.points.size))
        _, theta, se = posterior(loglik, bank.grid)  # the estimate before any answer
        none = np.full(n, None, dtype=object)
        return cls(
            ab,
            x,
            loglik,
            np.zeros((n, j), dtype=bool),
            np.zeros((n, j), dtype=bool),
            np.full((n, max_len), -1, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            theta,
            se,
            np.zeros(n),
            np.zeros(n, dtype=bool),
            none,
            none.copy(),
        )

    def left(self, rows: np.ndarray) -> np.ndarray:
        """``(n, J_a)`` items neither answered nor set aside."""
        return ~(self.used[rows] | self.excluded[rows])

    def choose(self, rules: Rules, grid: Grid, rows: np.ndarray, draws: PersonDraws) -> np.ndarray:
        """The next item of the tests ``rows`` (positions in the area); records what Sympson–Hetter set aside."""
        log_post, _, _ = posterior(self.loglik[rows], grid)
        n = self.length[rows]
        fit = Fit(self.theta[rows], self.se[rows], n, np.zeros(n.size, dtype=bool), self.loglik[rows], log_post)
        allowed = competence_allowed(self.area, self.used[rows], self.left(rows), rules.config.balancing)
        sel = rules.select(self.area, grid, fit, allowed, draws)
        self.excluded[rows] |= sel.pick.set_aside
        return sel.pick.item

    def answer(self, rules: Rules, grid: Grid, rows: np.ndarray, chosen: np.ndarray) -> None:
        """Record the answers of the tests ``rows`` to ``chosen``, estimate again and apply the stopping rules."""
        ab = self.area
        resp = self.x[rows, chosen]
        self.used[rows, chosen] = True
        self.items[rows, self.length[rows]] = chosen
        self.length[rows] += 1
        self.loglik[rows] += ab.logp[:, chosen, resp].T
        if ab.sprt_logp is not None:
            self.llr[rows] += ab.sprt_logp[1, chosen, resp] - ab.sprt_logp[0, chosen, resp]
        seen = np.where(self.used[rows], self.x[rows], -1)
        fit = fit_rows(ab, grid, self.loglik[rows], seen, rules.config.estimator)
        self.theta[rows], self.se[rows] = fit.theta, fit.se
        n_left = self.left(rows).sum(axis=1)
        stops = rules.stopper.area(ab, self.length[rows], fit.theta, fit.se, self.llr[rows], n_left)
        self.finished[rows] = stops.rule != None  # noqa: E711 - object array comparison
        self.rule[rows] = stops.rule
        self.decision[rows] = stops.classification

    def run(self, true_theta: np.ndarray) -> AreaRun:
        declined = self.excluded.sum(axis=0)
        selected = np.bincount(self.items[self.items >= 0], minlength=self.area.n_items) + declined
        return AreaRun(
            self.area.area,
            true_theta,
            self.items,
            self.theta,
            self.se,
            self.length,
            self.rule,
            self.decision,
            selected,
        )


def run_sessions(
    bank: CatBank,
    codes: np.ndarray,
    true_theta: np.ndarray,
    seeds: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> list[AreaRun]:
    """``N`` whole sessions over every area of the bank, in lockstep: each step picks each simulee's area
    (Kingsbury–Zara), its item (the area's selector and exposure control, drawing from the simulee's session seed),
    takes the answer from ``codes`` ``(N, J)`` and applies the stopping rules. Simulee ``i``'s test is the live
    session with seed ``seeds[i]`` given the same answers.

    Args:
        bank: the prepared bank.
        codes: ``(N, J)`` complete category codes.
        true_theta: ``(N, A)`` true θ per area (reported, not used).
        seeds: ``(N,)`` session seed per simulee.
        progress: called after each step with the number of area tests that ended in it (``N · A`` in all).
    """
    cfg = bank.config
    rules = Rules.from_config(cfg)
    grid = bank.grid
    tests = [_AreaTests.start(bank, name, codes) for name in bank.area_names]
    target = area_targets(bank.area_names, cfg.balancing.targets)
    first = cfg.start.first_item
    first_pos = bank.index.get(first) if first is not None else None
    active = np.arange(codes.shape[0])
    step = 0
    while active.size:
        finished = np.stack([t.finished[active] for t in tests], axis=1)  # (n, A)
        if step == 0 and first_pos is not None:
            which = np.full(active.size, int(bank.area_code[first_pos]))
        else:
            has_left = np.stack([t.left(active).any(axis=1) for t in tests], axis=1)
            counts = np.stack([t.length[active] for t in tests], axis=1)
            which = kingsbury_zara(counts, has_left & ~finished, target)
        for a, t in enumerate(tests):
            rows = active[which == a]
            if rows.size == 0:
                continue
            if step == 0 and first_pos is not None:
                chosen = np.full(rows.size, int(bank.local[first_pos]))
            else:
                chosen = t.choose(rules, grid, rows, PersonDraws(seeds[rows], step))
            t.answer(rules, grid, rows, chosen)
        now = np.stack([t.finished[active] for t in tests], axis=1)
        has_left = np.stack([t.left(active).any(axis=1) for t in tests], axis=1)
        total = np.stack([t.length[active] for t in tests], axis=1).sum(axis=1)
        session = rules.stopper.session(total, now.all(axis=1), (has_left & ~now).any(axis=1))
        done = session != None  # noqa: E711 - object array comparison
        for t in tests:  # areas still open when the session ends are ended by the session's rule
            cut_short = active[done & ~t.finished[active]]
            t.rule[cut_short] = session[done & ~t.finished[active]]
        if progress is not None:
            progress(int((now & ~finished).sum() + (~now[done]).sum()))
        active = active[~done]
        step += 1
    return [t.run(true_theta[:, min(a, true_theta.shape[1] - 1)]) for a, t in enumerate(tests)]


def run_joint_sessions(
    bank: CatBank,
    codes: np.ndarray,
    true_theta: np.ndarray,
    seeds: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[AreaRun], np.ndarray]:
    """:func:`run_sessions` for a multidimensional configuration: ``N`` tests over every area of the bank in lockstep
    with :class:`~digiskill.cat.joint.JointRules`, the strategy a live session calls with N = 1. Each step: one joint
    selection over the bank for all simulees still testing, the answers from ``codes``, one joint estimate of all of
    them (MAP started at the previous estimate) and every open area's stopping rules. Also returns each test's whole
    item sequence ``(N, L_max)`` (bank positions in the order given, −1 after the end)."""
    from .joint import JointRules

    cfg = bank.config
    rules = JointRules.for_session(bank, bank.area_names)
    x = codes.astype(np.int64)
    n, j = x.shape
    dims = rules.dim
    answered = np.zeros((n, j), dtype=bool)
    excluded = np.zeros((n, j), dtype=bool)
    theta = np.zeros((n, dims))
    se = np.tile(np.sqrt(np.diag(rules.prior.cov)), (n, 1))
    n_own = np.zeros((n, dims), dtype=np.int64)
    finished = np.zeros((n, dims), dtype=bool)
    rule = np.full((n, dims), None, dtype=object)
    decision = np.full((n, dims), None, dtype=object)
    cap = cfg.stopping.max_items_per_area
    items = [np.full((n, min(ab.n_items, cap or ab.n_items)), -1, dtype=np.int64) for ab in rules.areas]
    total_cap = sum(i.shape[1] for i in items)
    sequence = np.full((n, min(total_cap, cfg.stopping.max_total_items or total_cap)), -1, dtype=np.int64)
    first = cfg.start.first_item
    first_pos = bank.index.get(first) if first is not None else None
    active = np.arange(n)
    step = 0
    while active.size:
        seen = answered[active]
        if step == 0 and first_pos is not None:
            chosen = np.full(active.size, first_pos)
        else:
            allowed = rules.candidates(seen, excluded[active], ~finished[active])
            th = theta[active] if step else np.full((active.size, dims), cfg.start.theta)
            sel = rules.select(th, seen, rules.balance(seen, allowed), PersonDraws(seeds[active], step))
            excluded[active] |= sel.pick.set_aside
            chosen = sel.pick.item
        dim = rules.dim_of[chosen]
        sequence[active, step] = chosen
        for d in range(dims):
            rows = active[dim == d]
            items[d][rows, n_own[rows, d]] = bank.local[chosen[dim == d]]
        n_own[active, dim] += 1
        answered[active, chosen] = True
        est = rules.estimate(np.where(answered[active], x[active], -1), theta[active])
        theta[active], se[active] = est.theta, est.se
        every = np.ones((active.size, dims), dtype=bool)
        left = rules.own_counts(rules.candidates(answered[active], excluded[active], every))
        before = finished[active]
        for d, stops in enumerate(rules.stops(est, n_own[active], left)):
            ends = ~before[:, d] & (stops.rule != None)  # noqa: E711 - object array comparison
            finished[active[ends], d] = True
            rule[active[ends], d] = stops.rule[ends]
            decision[active[ends], d] = stops.classification[ends]
        now = finished[active]
        session = rules.stopper.session(n_own[active].sum(axis=1), now.all(axis=1), ((left > 0) & ~now).any(axis=1))
        done = session != None  # noqa: E711 - object array comparison
        for d in range(dims):  # areas still open when the session ends are ended by the session's rule
            cut_short = done & ~now[:, d]
            rule[active[cut_short], d] = session[cut_short]
        if progress is not None:
            progress(int((now & ~before).sum() + (~now[done]).sum()))
        active = active[~done]
        step += 1
    runs = []
    for d, ab in enumerate(rules.areas):
        given = items[d][items[d] >= 0]
        selected = np.bincount(given, minlength=ab.n_items) + excluded[:, ab.index].sum(axis=0)
        true_d = true_theta[:, min(d, true_theta.shape[1] - 1)]
        runs.append(
            AreaRun(ab.area, true_d, items[d], theta[:, d], se[:, d], n_own[:, d], rule[:, d], decision[:, d], selected)
        )
    return runs, sequence


# ------------------------------------------------------------------------------------------------------ report


class ThetaBin(FrozenModel):
    """Simulees whose true θ lies in one decile."""

    lower: float
    upper: float
    n: int
    bias: float
    rmse: float
    mean_se: float
    mean_length: float


class ExposureSummary(FrozenModel):
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


class PersonRun(FrozenModel):
    """One simulee's test (post-hoc reports)."""

    person: str
    items: list[str]
    theta: float
    se: float


class PersonSequence(FrozenModel):
    """One person's whole multidimensional test (post-hoc reports): the items in the order given and the final
    estimate and SE of every area."""

    person: str
    items: list[str]
    theta: dict[str, float]
    se: dict[str, float]


class AreaReport(FrozenModel):
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


class SimulationReport(FrozenModel):
    """Summary of a simulation (``digiskill simulate``)."""

    parameter_set: str
    engine: str
    seed: int
    n_simulees: int
    config: CatConfig
    areas: list[AreaReport]
    mean_total_length: float | None = Field(None, description="mean number of items of a whole test (all areas)")
    persons: list[PersonSequence] | None = Field(
        None, description="multidimensional post-hoc runs: each person's item sequence and final θ per area"
    )


@dataclass(frozen=True, eq=False)
class Simulation:
    """Arrays of a simulation run, its report and the session seed of each simulee."""

    runs: list[AreaRun]
    report: SimulationReport
    seeds: np.ndarray
    sequence: np.ndarray | None = None  # multidimensional: (N, L_max) bank positions in the order given, −1 after


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
    seeds: np.ndarray | None = None,
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
        progress: called with the number of area tests that ended after each lockstep step (``N`` per area in all).
        seeds: session seed of each simulee (default: drawn from ``seed`` after θ and the responses).
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
    if theta is None and bank.latent is not None:  # multidimensional: θ ~ N(mean, sd² Σ) jointly
        theta = theta_mean + theta_sd * rng.standard_normal((n, n_areas)) @ np.linalg.cholesky(bank.latent).T
    if theta is None:
        theta = rng.normal(theta_mean, theta_sd, size=(n, n_areas))
    theta = np.asarray(theta, dtype=float)
    theta = theta[:, None] if theta.ndim == 1 else theta
    n = theta.shape[0]
    if responses is None:
        codes = generate_responses(bank, theta, rng)
    if seeds is None:
        seeds = rng.integers(0, 2**32, size=n, dtype=np.int64)
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.shape != (n,) or (seeds < 0).any():
        raise ValueError(f"seeds must be {n} non-negative integers, one per simulee")
    sequence = None
    if config.dimensionality == "multidimensional":
        runs, sequence = run_joint_sessions(bank, codes, theta, seeds, progress)
    else:
        runs = run_sessions(bank, codes, theta, seeds, progress)
    reports = []
    for run in runs:
        name = run.area
        area_cuts = cuts if cuts is not None else [c for c in [config.cut_for(name)] if c is not None]
        reports.append(_area_report(bank, run, area_cuts, person_ids if responses is not None else None))
    report = SimulationReport(
        parameter_set=bank.parameter_set,
        engine=ENGINE,
        seed=seed,
        n_simulees=n,
        config=config,
        areas=reports,
        mean_total_length=float(sum(r.mean_length for r in reports)),
        persons=_sequences(bank, runs, sequence, person_ids)
        if sequence is not None and responses is not None
        else None,
    )
    return Simulation(runs, report, seeds, sequence)


def _sequences(
    bank: CatBank, runs: list[AreaRun], sequence: np.ndarray, person_ids: list[str] | None
) -> list[PersonSequence]:
    ids = person_ids or [str(i + 1) for i in range(sequence.shape[0])]
    names = [str(r.area) for r in runs]
    return [
        PersonSequence(
            person=ids[i],
            items=[bank.ids[k] for k in sequence[i][sequence[i] >= 0]],
            theta={a: float(r.theta[i]) for a, r in zip(names, runs, strict=True)},
            se={a: float(r.se[i]) for a, r in zip(names, runs, strict=True)},
        )
        for i in range(sequence.shape[0])
    ]


def _complete_eap(bank: CatBank, codes: np.ndarray) -> np.ndarray:
    out = np.empty((codes.shape[0], len(bank.area_names)))
    for a, name in enumerate(bank.area_names):
        ab = bank.areas[name]
        x = codes[:, ab.index].astype(np.int64)
        loglik = indicator_products(x, ab.logp)  # (N, Q): K matrix products, no loop over items
        out[:, a] = fit_rows(ab, bank.grid, loglik, x, "eap").theta
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
        correlation=_correlation(run.theta, run.true_theta),
        mean_length=mean_len,
        min_length=int(run.length.min()),
        max_length=int(run.length.max()),
        stop_rules={str(r): int(c) for r, c in zip(rules, counts, strict=True)},
        conditional=bins,
        exposure=exposure,
        classification_accuracy={f"{c:g}": float(((run.theta >= c) == (run.true_theta >= c)).mean()) for c in cuts},
        persons=persons,
    )


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r, NaN when either side has no spread (e.g. one simulee, or tests cut short before the area)."""
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


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
