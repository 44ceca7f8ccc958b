"""Verify a session by replaying it: the adaptive test is deterministic given its configuration, seed, areas and
responses, so every stored item, estimate and stop decision must come out again.

:func:`verify_session` starts a new session with the stored configuration, seed and areas and calls
:func:`~digiskill.cat.session.answer` with each logged response. Every administered item, every step record
(rule, selection θ, candidates, items set aside, θ, SE, estimator, stop), the area states, ``excluded``,
``finished`` and ``stop_rule`` are compared with the stored ones (floats to a relative and absolute tolerance of
1e-9). An edited response changes the next θ or item; an edited order changes the item the rule picks; a session
marked finished early disagrees with the replayed stopping rules.

What replay cannot see: a consistent rewrite of the configuration together with every value that follows from it.
That is what the MAC of a session file is for (:mod:`digiskill.cat.sessionfile`).
"""

from __future__ import annotations

import math
from typing import Any

from ..bank.parameters import ParameterSet
from ..errors import InputError, Problem
from .arrays import CatBank
from .session import Session, answer, next_item, start_session

TOLERANCE = 1e-9


class SessionMismatch(InputError):
    """The stored session differs from its replay (or cannot be replayed): it was changed or damaged."""


def verify_session(session: Session, bank: CatBank | ParameterSet) -> Session:
    """The session recomputed from its log, after checking that it equals the stored one.

    Args:
        session: a stored session (e.g. read from a file).
        bank: the parameter set the session claims to use (or a :class:`CatBank` prepared for its configuration).

    Returns:
        The replayed session (equal to ``session`` up to float tolerance and the engine version).

    Raises:
        SessionMismatch: another parameter set; an unknown area or item; an item asked twice; a response outside
            the item's categories; or any field that differs from the replay (the message names the step and field).
    """
    if isinstance(bank, ParameterSet):
        params_id = bank.id
    else:
        params_id = bank.parameter_set
    if session.parameter_set != params_id:
        raise SessionMismatch(
            Problem(f"parameter_set: the session uses {session.parameter_set!r}, the bank here is {params_id!r}")
        )
    try:
        cat_bank = bank if isinstance(bank, CatBank) else CatBank.from_parameters(bank, session.config)
    except (ValueError, KeyError) as err:
        raise SessionMismatch(Problem(f"config: cannot prepare the bank for the stored configuration: {err}")) from err
    if cat_bank.config != session.config:
        raise SessionMismatch("config: the bank was prepared for another configuration than the session's")
    _check_log(session, cat_bank)
    areas = [a.area for a in session.areas]
    try:
        replay = start_session(cat_bank, session.config, seed=session.seed, areas=areas)
    except InputError as err:
        raise SessionMismatch(Problem(f"areas: {err}")) from err
    if len(set(areas)) != len(areas):
        raise SessionMismatch(Problem(f"areas: an area is listed twice: {areas}"))
    for stored in session.steps:
        k = len(replay.steps) + 1
        if replay.finished:
            raise SessionMismatch(
                Problem(f"step {k}: the test had ended after step {k - 1} ({replay.stop_rule}); no more answers")
            )
        expected = next_item(replay, cat_bank)
        if stored.item != expected:
            raise SessionMismatch(
                Problem(f"step {k}: item: the test asks {expected!r} here, the session lists {stored.item!r}")
            )
        try:
            replay = answer(replay, cat_bank, stored.item, stored.response)
        except InputError as err:
            raise SessionMismatch(Problem(f"step {k}: {err}")) from err
        _compare(f"step {k}", replay.steps[-1].model_dump(), stored.model_dump())
    for field in ("areas", "excluded", "finished", "stop_rule", "provisional"):
        _compare(field, getattr(replay, field), getattr(session, field))
    return replay


def _check_log(session: Session, bank: CatBank) -> None:
    """Every problem of the step log that needs no replay: unknown items, repeats, responses out of range."""
    problems = []
    seen: dict[str, int] = {}
    for k, s in enumerate(session.steps, start=1):
        if s.step != k:
            problems.append(Problem(f"step {k}: numbered {s.step}", item_id=s.item))
        if s.item not in bank.index:
            problems.append(Problem(f"step {k}: unknown item (not in {bank.parameter_set!r})", item_id=s.item))
            continue
        if s.item in seen:
            problems.append(Problem(f"step {k}: item already asked at step {seen[s.item]}", item_id=s.item))
        seen.setdefault(s.item, k)
        n_cat = int(bank.n_cat[bank.index[s.item]])
        if not 0 <= s.response < n_cat:
            problems.append(
                Problem(
                    f"step {k}: response {s.response} is not a category of the item (0..{n_cat - 1})", item_id=s.item
                )
            )
    if problems:
        raise SessionMismatch(problems)


def _compare(where: str, replayed: Any, stored: Any) -> None:
    if (diff := _diff(replayed, stored)) is not None:
        path, want, got = diff
        field = f"{where}.{path}" if path else where
        raise SessionMismatch(Problem(f"{field}: the replay gives {want!r}, the session stores {got!r}"))


def _diff(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place where ``a`` and ``b`` differ (floats to :data:`TOLERANCE`), as (path, a value, b value)."""
    if hasattr(a, "model_dump") and hasattr(b, "model_dump"):
        a, b = a.model_dump(), b.model_dump()
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            if key not in a or key not in b:
                return f"{path}.{key}".lstrip("."), a.get(key), b.get(key)
            if (d := _diff(a[key], b[key], f"{path}.{key}".lstrip("."))) is not None:
                return d
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path} (length)".lstrip(), len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (d := _diff(x, y, f"{path}[{i}]")) is not None:
                return d
        return None
    if isinstance(a, float) and isinstance(b, int | float) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return None
        return None if math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE) else (path, a, b)
    if type(a) is not type(b) or a != b:
        return path, a, b
    return None
