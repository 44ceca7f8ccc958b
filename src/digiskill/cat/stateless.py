"""The stateless step for other systems: given the items asked so far and the answers, the estimate and the next item.

No session, no stored state: the caller sends the whole history each time. Without a configuration there is no
stopping rule (``next_item`` is null only when no item is left in the areas considered), no exposure control and
nothing random; with a configuration its stopping rules are applied and exposure control draws from
``(seed, number of answers)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..bank.parameters import ParameterSet
from ..errors import InputError, Problem
from ..irt.numbers import finite_or_none
from .arrays import CatBank
from .config import ESTIMATORS, RULES, CatConfig, SelectionRule, StoppingRules
from .estimate import fit_area
from .select import History, area_stop, available_mask, choose
from .session import AreaState, Candidate


class StepResult(FrozenModel):
    """Output of :func:`next_step` (and of ``digiskill cat next``)."""

    parameter_set: str
    provisional: bool = Field(False, description="true when the parameter set is provisional (not from real data)")
    theta: float | None = Field(description="estimate of the area of next_item (else of the last answered item)")
    se: float | None
    area: str | None
    estimator: str = Field(description="estimator that produced theta (eap while ML/WLE have no finite value)")
    n_administered: int
    next_item: str | None = Field(description="the item to ask next; null when the test has ended or nothing is left")
    rule: str | None = Field(description="how next_item was chosen")
    selection_theta: float | None = Field(None, description="θ at which the rule was evaluated")
    candidates: list[Candidate] = Field(default_factory=list)
    stop: str | None = Field(None, description="why next_item is null")
    areas: list[AreaState]


def next_step(
    params: ParameterSet | CatBank,
    administered: Sequence[str],
    responses: Sequence[int],
    rule: str = "mfi",
    estimator: str = "eap",
    *,
    config: CatConfig | None = None,
    areas: Sequence[str | None] | None = None,
    seed: int = 0,
) -> StepResult:
    """Estimate from the answers so far and choose the next item.

    Args:
        params: the parameter set, or a :class:`CatBank` prepared for ``config``.
        administered: item ids in the order they were asked.
        responses: the answers, one per item (category codes ``0..K−1``).
        rule, estimator: used when ``config`` is None (``mfi|kl|klp|mepv|astrat|cut_info``, ``eap|map|ml|wle``).
        config: a full configuration (its selection rule and estimator win over ``rule`` and ``estimator``).
        areas: the areas the test covers (default: all of the bank).
        seed: seed of exposure-control draws, if the configuration asks for them.

    Raises:
        InputError: unknown rule/estimator/area/item, an item listed twice, lengths that differ, or a response
            outside an item's categories; every problem is listed.
    """
    if config is None:
        problems = []
        if rule not in RULES:
            problems.append(Problem(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}"))
        if estimator not in ESTIMATORS:
            problems.append(Problem(f"unknown estimator {estimator!r}; expected one of {', '.join(ESTIMATORS)}"))
        if problems:
            raise InputError(problems)
        try:
            config = CatConfig(
                selection=SelectionRule(rule=rule), estimator=estimator, stopping=StoppingRules.exhaustion_only()
            )
        except ValueError as err:  # e.g. cut_info without a cut score
            raise InputError(f"rule {rule!r} cannot be used without a configuration: {err}") from err
    if isinstance(params, CatBank):
        if params.config != config:
            raise InputError("the bank was prepared for another configuration; prepare it again")
        bank = params
    else:
        bank = CatBank.from_parameters(params, config)
    history = _check(bank, administered, responses)
    session_areas = list(bank.area_names) if areas is None else list(dict.fromkeys(areas))
    unknown = [a for a in session_areas if a not in bank.areas]
    if unknown:
        raise InputError(f"unknown area(s) {unknown}; the bank has {list(bank.area_names)}")
    excluded = np.zeros(0, dtype=np.int64)
    states, finished = [], []
    joint = None
    if config.dimensionality == "multidimensional":  # every area from the joint estimate, stops on the final state
        from .joint import joint_state

        joint = joint_state(bank, session_areas, history, excluded)
        for d, a in enumerate(session_areas):
            rule_d = joint.rule[d]
            if rule_d is not None:
                finished.append(a)
            states.append(
                AreaState(
                    area=a,
                    theta=finite_or_none(float(joint.theta[d])),
                    se=finite_or_none(float(joint.se[d])),
                    n_items=int(joint.n[d]),
                    estimator=config.estimator,
                    finished=rule_d is not None,
                    stop_rule=rule_d,
                    classification=joint.classification[d],
                )
            )
    for a in session_areas if joint is None else ():
        local, codes = history.of_area(bank, a)
        fit = fit_area(bank.areas[a], bank.grid, local, codes, config.estimator)
        n_left = int(available_mask(bank, a, history, excluded).sum())
        stop = area_stop(config.stopping, bank.areas[a], local, codes, fit, n_left)
        if stop.rule is not None:
            finished.append(a)
        states.append(
            AreaState(
                area=a,
                theta=finite_or_none(fit.theta),
                se=finite_or_none(fit.se),
                n_items=fit.n,
                estimator=fit.estimator,
                finished=a in finished,
                stop_rule=stop.rule if a in finished else None,
                classification=stop.classification,
            )
        )
    n = int(history.items.size)
    max_total = config.stopping.max_total_items
    if max_total is not None and n >= max_total:
        choice, stop_reason = None, "max_total_items"
    else:
        theta = None if joint is None else [float(t) for t in joint.theta]
        choice = choose(bank, session_areas, history, finished, excluded, seed, n, theta)
        stop_reason = (
            None
            if choice.item is not None
            else (
                "all_areas_finished"
                if any(s.stop_rule not in (None, "items_exhausted") for s in states)
                else "items_exhausted"
            )
        )
    if choice is not None and choice.item is not None:
        area = choice.area
    elif n:
        area = bank.area_of(int(history.items[-1]))
    else:
        area = session_areas[0]
    st = next(s for s in states if s.area == area)
    return StepResult(
        parameter_set=bank.parameter_set,
        provisional=bank.provisional,
        theta=st.theta,
        se=st.se,
        area=area,
        estimator=st.estimator,
        n_administered=n,
        next_item=None if choice is None or choice.item is None else bank.ids[choice.item],
        rule=None if choice is None or choice.item is None else choice.rule,
        selection_theta=None if choice is None or choice.item is None else choice.theta,
        candidates=[] if choice is None else [Candidate(item=bank.ids[i], value=v) for i, v in choice.candidates],
        stop=stop_reason,
        areas=states,
    )


def _check(bank: CatBank, administered: Sequence[str], responses: Sequence[int]) -> History:
    problems = []
    if len(administered) != len(responses):
        raise InputError(f"{len(administered)} administered item(s) but {len(responses)} response(s)")
    seen: set[str] = set()
    for pos, (item, x) in enumerate(zip(administered, responses, strict=True), start=1):
        if item not in bank.index:
            problems.append(Problem(f"position {pos}: unknown item id", item_id=item))
            continue
        if item in seen:
            problems.append(Problem(f"position {pos}: item listed twice", item_id=item))
        seen.add(item)
        k = int(bank.n_cat[bank.index[item]])
        if isinstance(x, bool) or not isinstance(x, int | np.integer) or not 0 <= x < k:
            problems.append(Problem(f"position {pos}: response {x!r} outside 0..{k - 1}", item_id=item))
    if problems:
        raise InputError(problems)
    return History.of([bank.index[i] for i in administered], [int(x) for x in responses])
