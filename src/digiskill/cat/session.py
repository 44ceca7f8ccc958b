"""An adaptive test session: a frozen pydantic model, JSON after every answer, resumable.

Usage::

    bank = CatBank.from_parameters(params, config)     # once per parameter set and configuration
    s = start_session(params, config, seed=42)
    while (item := next_item(s, bank)) is not None:
        s = answer(s, bank, item, ask(item))             # a new session; the old one is unchanged
        store(s.model_dump_json())                       # resume later with Session.model_validate_json

:func:`next_item` is a pure function of the session (the next choice is recomputed from the answers, the items set
aside, the seed and the step number), so a session restored from JSON gives the same next item. :func:`answer`
recomputes the choice, rejects anything but an answer to that item in one of its categories with
:class:`~digiskill.errors.InputError`, and returns the updated session with one more :class:`StepRecord`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from functools import partial
from typing import Literal

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..bank.parameters import ParameterSet
from ..errors import InputError, Problem
from ..irt.numbers import finite_or_none
from .arrays import CatBank
from .config import CatConfig
from .estimate import fit_area
from .select import Choice, History, area_stop, available_mask, choose
from .stopping import Stopper

SESSION_SCHEMA = "digiskill.cat-session/1"


class AreaState(FrozenModel):
    """One area's current estimate and whether it has ended."""

    area: str | None
    theta: float | None = Field(description="current estimate (null only if not finite)")
    se: float | None = Field(description="its standard error (null if infinite)")
    n_items: int = Field(0, ge=0)
    estimator: str = Field(description="estimator that produced theta (eap while ML/WLE have no finite value)")
    finished: bool = False
    stop_rule: str | None = None
    classification: Literal["above", "below"] | None = Field(
        None, description="decision against the area's cut score, once the classification rule has made one"
    )


class Candidate(FrozenModel):
    """An item the rule considered, with its criterion value (information, KL index, expected posterior variance,
    |b − θ̂| for astrat)."""

    item: str
    value: float


class StepRecord(FrozenModel):
    """One answered item: why it was chosen and what it changed."""

    step: int = Field(ge=1)
    item: str
    area: str | None
    response: int
    rule: str = Field(description="how the item was chosen")
    selection_theta: float = Field(description="θ at which the rule was evaluated")
    candidates: list[Candidate] = Field(default_factory=list, description="the best items by the rule, best first")
    set_aside: list[str] = Field(default_factory=list, description="items Sympson–Hetter declined at this step")
    theta: float | None = Field(description="the area's estimate after the answer")
    se: float | None
    estimator: str
    stop: str | None = Field(None, description="the stopping rule that fired after this answer")


class Session(FrozenModel):
    """The whole state of an adaptive test."""

    format: Literal["digiskill.cat-session/1"] = Field(SESSION_SCHEMA, description="session format and version")
    engine: str
    parameter_set: str = Field(description="id of the parameter set the test uses")
    provisional: bool = Field(False, description="true when the parameter set is provisional (not from real data)")
    config: CatConfig
    seed: int = Field(ge=0)
    areas: list[AreaState]
    steps: list[StepRecord] = Field(default_factory=list)
    excluded: list[str] = Field(default_factory=list, description="items set aside by Sympson–Hetter")
    finished: bool = False
    stop_rule: str | None = None

    @property
    def n_items(self) -> int:
        return len(self.steps)

    @property
    def administered(self) -> list[str]:
        return [s.item for s in self.steps]

    def area_state(self, area: str | None) -> AreaState:
        return next(a for a in self.areas if a.area == area)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Session:
        return cls.model_validate_json(text)


def prepare(params: ParameterSet, config: CatConfig | None = None) -> CatBank:
    """The bank arrays for ``config`` (build once, pass to every call)."""
    return CatBank.from_parameters(params, config)


def start_session(
    params: ParameterSet | CatBank,
    config: CatConfig | None = None,
    *,
    seed: int = 0,
    areas: Sequence[str | None] | None = None,
) -> Session:
    """A new session over ``areas`` (default: every area of the bank, in bank order).

    Raises:
        InputError: an unknown area, or a first item that is not in the session's areas.
    """
    from .. import ENGINE

    bank = params if isinstance(params, CatBank) else CatBank.from_parameters(params, config)
    config = config or bank.config
    chosen = list(bank.area_names) if areas is None else list(dict.fromkeys(areas))
    unknown = [a for a in chosen if a not in bank.areas]
    if unknown or not chosen:
        known = ", ".join(str(a) for a in bank.area_names)
        raise InputError(f"unknown area(s) {unknown} for parameter set {bank.parameter_set!r}; it has: {known}")
    targets = config.balancing.targets or {}
    if unknown_targets := sorted(set(targets) - {a for a in bank.area_names if a is not None}):
        raise InputError(f"balancing.targets name area(s) {unknown_targets} that the bank does not have")
    first = config.start.first_item
    if first is not None and (first not in bank.index or bank.area_of(bank.index[first]) not in chosen):
        raise InputError(Problem("start.first_item is not an item of the session's areas", item_id=first))
    states = []
    if config.dimensionality == "multidimensional":  # before any answer: the prior, θ = 0 and SE = √Σ_dd
        assert bank.latent is not None
        for a in chosen:
            code = bank.area_names.index(a)
            var = float(bank.latent[code, code])
            states.append(AreaState(area=a, theta=0.0, se=var**0.5, estimator=config.estimator))
    for a in chosen if config.dimensionality == "unidimensional" else ():
        fit = fit_area(bank.areas[a], bank.grid, np.zeros(0, np.int64), np.zeros(0, np.int64), config.estimator)
        states.append(AreaState(area=a, theta=fit.theta, se=fit.se, estimator=fit.estimator))
    return Session(
        engine=ENGINE,
        parameter_set=bank.parameter_set,
        provisional=bank.provisional,
        config=config,
        seed=seed,
        areas=states,
    )


def _bank_for(session: Session, bank: CatBank | ParameterSet) -> CatBank:
    if isinstance(bank, ParameterSet):
        bank = CatBank.from_parameters(bank, session.config)
    if bank.parameter_set != session.parameter_set:
        raise InputError(
            f"the session uses parameter set {session.parameter_set!r}, the bank given is {bank.parameter_set!r}"
        )
    if bank.config != session.config:
        raise InputError("the bank was prepared for another configuration than the session's; prepare it again")
    return bank


def _history(session: Session, bank: CatBank) -> History:
    return History.of([bank.index[s.item] for s in session.steps], [s.response for s in session.steps])


MAX_CACHED_CHOICES = 4096
_choices: dict[int, tuple[weakref.ref[Session], CatBank, Choice]] = {}
"""The choice :func:`next_item` made for a session, by object identity, so that :func:`answer` checks the item just
chosen for the same (immutable) session and bank without choosing it again. A service that keeps the session objects
of its open tests (``digiskill serve``) thus chooses once per step even when many tests interleave. Entries hold the
session only weakly and go when it does; at most ``MAX_CACHED_CHOICES`` are kept (the oldest go first). Each entry
is replaced whole, so threads may share the map."""


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _choices.get(key)
    if entry is not None and entry[0] is ref:
        _choices.pop(key, None)


def _choice(session: Session, bank: CatBank) -> Choice:
    key = id(session)
    hit = _choices.get(key)
    if hit is not None and hit[0]() is session and hit[1] is bank:
        return hit[2]
    choice = _choose(session, bank)
    while len(_choices) >= MAX_CACHED_CHOICES:
        try:
            _choices.pop(next(iter(_choices)), None)
        except (StopIteration, RuntimeError):  # emptied or changed by another thread meanwhile
            break
    _choices[key] = (weakref.ref(session, partial(_forget, key)), bank, choice)
    return choice


def _choose(session: Session, bank: CatBank) -> Choice:
    if session.finished:
        return Choice(None, None, "finished", float("nan"), None)
    finished = [a.area for a in session.areas if a.finished]
    excluded = np.array([bank.index[i] for i in session.excluded], dtype=np.int64)
    return choose(
        bank,
        [a.area for a in session.areas],
        _history(session, bank),
        finished,
        excluded,
        session.seed,
        len(session.steps),
        _joint_theta(session),
    )


def _joint_theta(session: Session) -> list[float] | None:
    """A multidimensional session's current joint estimate (None: unidimensional, or not finite)."""
    if session.config.dimensionality == "unidimensional" or any(a.theta is None for a in session.areas):
        return None
    return [float(a.theta) for a in session.areas]  # type: ignore[arg-type]


def next_item(session: Session, bank: CatBank | ParameterSet) -> str | None:
    """The item to ask next, or None when the session has ended."""
    bank = _bank_for(session, bank)
    choice = _choice(session, bank)
    return None if choice.item is None else bank.ids[choice.item]


def answer(session: Session, bank: CatBank | ParameterSet, item_id: str, response: int) -> Session:
    """The session after ``response`` to ``item_id``; ``session`` itself is unchanged.

    Raises:
        InputError: the session has ended; the item was already answered; it is not the item the session asks for;
            or the response is not one of the item's categories ``0..K−1``.
    """
    bank = _bank_for(session, bank)
    if session.finished:
        raise InputError(Problem(f"the session has ended ({session.stop_rule}); no more answers", item_id=item_id))
    if item_id in session.administered:
        step = session.administered.index(item_id) + 1
        raise InputError(Problem(f"item was already answered at step {step}; an item is given once", item_id=item_id))
    choice = _choice(session, bank)
    expected = None if choice.item is None else bank.ids[choice.item]
    if item_id != expected:
        raise InputError(Problem(f"not the item the session asked for: expected {expected!r}", item_id=item_id))
    n_cat = int(bank.n_cat[choice.item])
    if isinstance(response, bool) or not isinstance(response, int | np.integer) or not 0 <= response < n_cat:
        raise InputError(
            Problem(
                f"response {response!r} is not a category of the item: expected an integer 0..{n_cat - 1}",
                item_id=item_id,
            )
        )
    response = int(response)
    cfg = session.config
    area = choice.area
    excluded_ids = [*session.excluded, *(bank.ids[i] for i in choice.set_aside)]
    before = _history(session, bank)
    history = History.of([*before.items, choice.item], [*before.codes, response])
    excluded = np.array([bank.index[i] for i in excluded_ids], dtype=np.int64)
    if cfg.dimensionality == "multidimensional":
        areas, theta, se, stop_rule = _joint_answer(session, bank, history, excluded, area)
        estimator = cfg.estimator
    else:
        areas, theta, se, stop_rule, estimator = _area_answer(session, bank, history, excluded, area)
    left = any(available_mask(bank, a.area, history, excluded).any() for a in areas if not a.finished)
    session_stop = Stopper(cfg.stopping).session(
        np.array([history.items.size]), np.array([all(a.finished for a in areas)]), np.array([left])
    )[0]
    record = StepRecord(
        step=len(session.steps) + 1,
        item=item_id,
        area=area,
        response=response,
        rule=choice.rule,
        selection_theta=choice.theta,
        candidates=[Candidate(item=bank.ids[i], value=v) for i, v in choice.candidates],
        set_aside=[bank.ids[i] for i in choice.set_aside],
        theta=theta,
        se=se,
        estimator=estimator,
        stop=stop_rule if stop_rule is not None else session_stop,
    )
    return session.model_copy(
        update={
            "areas": areas,
            "steps": [*session.steps, record],
            "excluded": excluded_ids,
            "finished": session_stop is not None,
            "stop_rule": session_stop,
        }
    )


def _joint_answer(
    session: Session, bank: CatBank, history: History, excluded: np.ndarray, area: str | None
) -> tuple[list[AreaState], float | None, float | None, str | None]:
    """A multidimensional test after an answer: every area's state from the joint estimate (MAP started at the
    previous one), open areas' stopping rules; the answered area's θ, SE and the rule that ended it now (if any)."""
    from .joint import joint_state

    names = [a.area for a in session.areas]
    new = joint_state(bank, names, history, excluded, _joint_theta(session))
    areas = []
    for d, st in enumerate(session.areas):
        ends = not st.finished and new.rule[d] is not None
        areas.append(
            st.model_copy(
                update={
                    "theta": finite_or_none(float(new.theta[d])),
                    "se": finite_or_none(float(new.se[d])),
                    "n_items": int(new.n[d]),
                    "finished": st.finished or ends,
                    "stop_rule": new.rule[d] if ends else st.stop_rule,
                    "classification": new.classification[d] if ends else st.classification,
                }
            )
        )
    mine = names.index(area)
    stop_now = new.rule[mine] if areas[mine].finished and not session.areas[mine].finished else None
    return areas, areas[mine].theta, areas[mine].se, stop_now


def _area_answer(
    session: Session, bank: CatBank, history: History, excluded: np.ndarray, area: str | None
) -> tuple[list[AreaState], float | None, float | None, str | None, str]:
    """A unidimensional test after an answer: the answered area's estimate and stopping rules."""
    cfg = session.config
    ab = bank.areas[area]
    local, codes = history.of_area(bank, area)
    fit = fit_area(ab, bank.grid, local, codes, cfg.estimator)
    n_left = int(available_mask(bank, area, history, excluded).sum())
    stop = area_stop(cfg.stopping, ab, local, codes, fit, n_left)
    areas = []
    for st in session.areas:
        if st.area == area:
            st = AreaState(
                area=area,
                theta=finite_or_none(fit.theta),
                se=finite_or_none(fit.se),
                n_items=fit.n,
                estimator=fit.estimator,
                finished=stop.rule is not None,
                stop_rule=stop.rule,
                classification=stop.classification,
            )
        areas.append(st)
    return areas, finite_or_none(fit.theta), finite_or_none(fit.se), stop.rule, fit.estimator
