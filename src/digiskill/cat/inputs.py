"""Inputs of the adaptive-test commands, checked before any work: a configuration from the options of the stateless
step, the areas of its administered items, the true abilities of a simulation, and the complete response matrix of a
post-hoc simulation.

Every problem is an :class:`~digiskill.errors.InputError` naming the option, or the file, line and column or item.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import ValidationError

from ..bank.loading import read_text_file
from ..bank.parameters import PARAMETER_BOUND, ParameterSet
from ..errors import InputError, Problem
from .config import CatConfig, SelectionRule, StoppingRules


def step_config(
    rule: str = "mfi", estimator: str = "eap", *, catr: bool = False, cut: float | None = None
) -> CatConfig:
    """The configuration of the stateless step built from its options: selection ``rule``, ``estimator``, the cut
    score ``cut`` (for ``cut_info``), no stopping rule (a test ends when no item is left), nothing random; with
    ``catr`` catR's grid (:meth:`CatConfig.catr`), else the project's default.

    Raises:
        InputError: a combination the configuration refuses (e.g. ``cut_info`` without a cut score).
    """
    try:
        blocks = {
            "selection": SelectionRule(rule=rule),  # type: ignore[arg-type]
            "estimator": estimator,
            "stopping": StoppingRules.exhaustion_only(),
            "cut_score": cut,
        }
        return CatConfig.catr(**blocks) if catr else CatConfig.model_validate(blocks)
    except ValidationError as err:
        raise InputError([Problem(e["msg"]) for e in err.errors()]) from err


def check_administered_areas(params: ParameterSet, administered: Sequence[str], areas: Sequence[str] | None) -> None:
    """With areas given, every administered item must belong to one of them (else its answer would count nowhere
    and the test would silently go on as if it had not been asked).

    Raises:
        InputError: one problem per administered item outside ``areas`` (its position and id).
    """
    if not areas:
        return
    by_id = params.items_by_id()
    problems = [
        Problem(f"--administered position {pos}: the item is in area {by_id[i].area!r}, not in --area", item_id=i)
        for pos, i in enumerate(administered, start=1)
        if i in by_id and by_id[i].area not in areas
    ]
    if problems:
        raise InputError([*problems, Problem(f"--area given: {', '.join(areas)}")])


def read_theta_file(path: str | Path, areas: Sequence[str | None]) -> np.ndarray:
    """True abilities ``(N, A)`` from a CSV: a ``theta`` column used for every area, or one column per area id.

    Raises:
        InputError: unreadable, not CSV, no header and row, a missing column, or a cell that is not a finite number
            within ±:data:`~digiskill.bank.parameters.PARAMETER_BOUND` (every such cell, by line and column).
    """
    text = read_text_file(path, "θ file")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise InputError(Problem(f"not a valid CSV file: {err}", path=str(path))) from err
    if len(rows) < 2:
        raise InputError(Problem("expected a header and at least one row of θ", path=str(path)))
    header = [h.strip() for h in rows[0]]
    if "theta" in header:
        cols = [header.index("theta")]
    else:
        missing = [a for a in areas if a not in header]
        if missing:
            raise InputError(Problem(f"no column 'theta' and no column for area(s) {missing}", path=str(path), line=1))
        cols = [header.index(a) for a in areas]
    out = np.empty((len(rows) - 1, len(cols)))
    problems = []
    for i, r in enumerate(rows[1:]):
        for k, c in enumerate(cols):
            try:
                out[i, k] = float(r[c])
                if not abs(out[i, k]) <= PARAMETER_BOUND:  # NaN fails too
                    raise ValueError
            except (ValueError, IndexError):
                problems.append(
                    Problem(
                        f"not a finite number between -{PARAMETER_BOUND:g} and {PARAMETER_BOUND:g}",
                        path=str(path),
                        line=i + 2,
                        column=header[c],
                    )
                )
    if problems:
        raise InputError(problems)
    return out


class ResponseMatrix(Protocol):
    """What a post-hoc simulation needs of a read response file."""

    path: str
    person_ids: list[str]
    item_ids: list[str]
    codes: np.ndarray


def posthoc_responses(table: ResponseMatrix, params: ParameterSet) -> np.ndarray:
    """The codes ``(N, J)`` of ``table`` in the bank's item order, for a post-hoc simulation.

    Raises:
        InputError: a bank item without a column, or an empty cell (the first one, by line and item).
    """
    missing = [i for i in params.item_ids if i not in table.item_ids]
    if missing:
        raise InputError(Problem(f"post-hoc simulation needs every bank item; missing {missing[:5]}", path=table.path))
    cols = [table.item_ids.index(i) for i in params.item_ids]
    values = table.codes[:, cols]
    if (holes := values < 0).any():
        row, col = (int(v) for v in np.argwhere(holes)[0])
        raise InputError(
            Problem(
                "post-hoc simulation needs complete responses; empty cell",
                path=table.path,
                line=row + 2,
                item_id=params.item_ids[col],
            )
        )
    return values
