"""Person scoring of a response table: θ and SE per person and area, and the record of one row of output.

Items that carry an ``area`` are scored per area, each on its own θ scale: one row per person and area.
:func:`estimate_areas` is the one loop over areas, shared by :func:`score_table` (``digiskill score``) and
:func:`digiskill.results.batch.batch_results` (``digiskill score --results``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from ..bank.frozen import FrozenModel
from ..bank.parameters import ParameterSet
from ..bank.responses import ResponseTable
from ..irt.estimation import STATUS_NAMES, AbilityEstimates, Method, estimate
from ..irt.numbers import finite_or_none

PROGRESS_BLOCK = 20_000  # persons scored at a time: bounds the (persons × items) temporaries of the estimators


class PersonScore(FrozenModel):
    """One person's estimate in one area (a row of ``digiskill score`` output)."""

    person: str
    area: str | None = Field(None, description="competence area, when the items carry areas")
    theta: float | None = Field(description="ability estimate; null only for an empty pattern under ML/WLE")
    se: float | None = Field(description="standard error of theta")
    n_answered: int = Field(ge=0)
    status: Literal["ok", "empty", "all_min", "all_max", "at_bound"]
    method: Literal["eap", "map", "ml", "wle"]
    parameter_set: str = Field(description="id of the parameter set used")
    provisional: bool = Field(description="true when the parameter set is provisional (not from real response data)")


def estimate_areas(
    table: ResponseTable,
    params: ParameterSet,
    method: Method = "eap",
    *,
    areas: Sequence[str | None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[str | None, list[str], np.ndarray, AbilityEstimates]]:
    """``(area, item ids, codes, estimates)`` for every area with items among the table's columns.

    Each area is its own θ scale with the prior N(mean, sd²) of the parameter set's latent distribution (N(0, 1)
    without one); every person is estimated at once, :data:`PROGRESS_BLOCK` persons at a time (each person's
    estimate does not depend on the others in the block).

    Args:
        areas: the areas in the order wanted (default: in the order of first appearance among the columns); areas
            without columns are left out.
        progress: called with the number of persons estimated after each block.
    """
    by_id = params.items_by_id()
    present = list(dict.fromkeys(by_id[i].area for i in table.item_ids))
    order = present if areas is None else [a for a in areas if a in present]
    latent = params.calibration.latent if params.calibration else None
    prior_mean, prior_sd = (latent.mean, latent.sd) if latent else (0.0, 1.0)
    out = []
    for area in order:  # one θ scale per area; every person of the block at once
        cols = [c for c, i in enumerate(table.item_ids) if by_id[i].area == area]
        ids = [table.item_ids[c] for c in cols]
        items = params.to_arrays(ids)
        block = table.codes[:, cols]
        parts = []
        for start in range(0, table.n_persons, PROGRESS_BLOCK):
            part = block[start : start + PROGRESS_BLOCK]
            parts.append(estimate(part, items, method, prior_mean=prior_mean, prior_sd=prior_sd))
            if progress is not None:
                progress(part.shape[0])
        out.append((area, ids, block, _concat(parts, method)))
    return out


def score_table(
    table: ResponseTable,
    params: ParameterSet,
    method: Method = "eap",
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[PersonScore]:
    """Score every person, per area when the items carry areas.

    The estimation runs at once; the returned iterator builds the records (ordered by person, then area) lazily,
    so a large batch is never held twice in memory.
    """
    per_area = [(area, est) for area, _, _, est in estimate_areas(table, params, method, progress=progress)]
    return ScoreRecords(table.person_ids, per_area, method, params.id, params.provisional)


class ScoreRecords:
    """The scores of a batch, ordered by person then area: iterate for :class:`PersonScore` records (built lazily);
    :func:`write_scores` writes CSV and JSON Lines straight from the arrays, without a model object per row."""

    def __init__(
        self,
        person_ids: list[str],
        per_area: list[tuple[str | None, AbilityEstimates]],
        method: str,
        set_id: str,
        provisional: bool,
    ) -> None:
        self.person_ids, self.per_area, self.method = person_ids, per_area, method
        self.set_id, self.provisional = set_id, provisional

    def __iter__(self) -> Iterator[PersonScore]:
        return _records(self.person_ids, self.per_area, self.method, self.set_id, self.provisional)

    def rows(self) -> Iterator[tuple[str, str | None, float | None, float | None, int, str]]:
        """``(person, area, theta, se, n_answered, status)`` per person and area, NaN as None."""
        columns = [
            (
                area,
                [finite_or_none(v) for v in e.theta.tolist()],
                [finite_or_none(v) for v in e.se.tolist()],
                e.n_answered.tolist(),
                [STATUS_NAMES[s] for s in e.status],
            )
            for area, e in self.per_area
        ]
        for n, person in enumerate(self.person_ids):  # output rows: one per person and area
            for area, theta, se, n_ans, status in columns:
                yield person, area, theta[n], se[n], n_ans[n], status[n]


def _concat(parts: list[AbilityEstimates], method: str) -> AbilityEstimates:
    return AbilityEstimates(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("theta", "se", "n_answered", "status")),
        method=method,
    )


def _records(
    person_ids: list[str],
    per_area: list[tuple[str | None, AbilityEstimates]],
    method: str,
    set_id: str,
    provisional: bool,
) -> Iterator[PersonScore]:
    columns = [
        (area, e.theta.tolist(), e.se.tolist(), e.n_answered.tolist(), [STATUS_NAMES[s] for s in e.status])
        for area, e in per_area
    ]
    for n, person in enumerate(person_ids):
        for area, theta, se, n_ans, status in columns:
            yield PersonScore.model_construct(
                person=person,
                area=area,
                theta=finite_or_none(theta[n]),
                se=finite_or_none(se[n]),
                n_answered=n_ans[n],
                status=status[n],
                method=method,
                parameter_set=set_id,
                provisional=provisional,
            )
