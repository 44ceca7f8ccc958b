"""Level cut scores on each area's θ scale, and how they were set (item mapping at a response probability).

Method (item mapping / bookmark, RP67): every item is placed on the θ scale at the ability where a person has a
``rp`` (default 0.67) chance of answering it fully (dichotomous: ``P(X = 1 | θ) = rp``, i.e.
``θ = b + log(rp / (1 − rp)) / a`` for a 2PL item; polytomous: expected score = ``rp`` × maximum score). The cut
score of level ``L`` in an area is the median of those locations over the area's items whose intended level is
``L``: a person at the cut has a 67 % chance on a typical item written for that level. Cut scores are then made
strictly increasing across levels (each at least ``min_gap`` above the previous one), and levels without items get
no cut score. The panel judgement of a full standard-setting study replaces the intended levels when it is made.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..irt.items import ItemArrays
from ..irt.response import expected_score
from .frozen import FrozenModel
from .parameters import Location

Level = Annotated[int, Field(ge=1, le=8)]

SCHEMA_ID = "digiskill.cut-scores/1"
DEFAULT_RP = 0.67
MIN_GAP = 0.1
_GRID = np.linspace(-8.0, 8.0, 16001)


class AreaCuts(FrozenModel):
    cuts: dict[Level, Location] = Field(description="level -> θ cut score (a person reaches level L at θ ≥ cut)")
    n_items: dict[Level, Annotated[int, Field(ge=0)]] = Field(description="level -> number of items the cut rests on")

    @model_validator(mode="after")
    def _increasing(self) -> AreaCuts:
        ordered = [self.cuts[level] for level in sorted(self.cuts)]
        if any(hi <= lo for lo, hi in itertools.pairwise(ordered)):
            raise ValueError(f"cut scores must increase with the level, got {dict(sorted(self.cuts.items()))}")
        return self


class CutScores(BaseModel):
    """Per-area level cut scores on the scale of one parameter set (file ``digiskill.cut-scores/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_id: Literal["digiskill.cut-scores/1"] = Field(SCHEMA_ID, alias="schema")
    parameter_set: str = Field(description="id of the parameter set whose θ scales the cuts are on")
    framework_version: str
    created: datetime
    method: str
    response_probability: float = Field(gt=0, lt=1)
    provisional: bool = False
    areas: dict[str, AreaCuts]

    def cut(self, area: str, level: int) -> float:
        return self.areas[area].cuts[level]

    def dump_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)

    def save(self, path: str | Path) -> None:
        from ..fileio import atomic_write_text

        atomic_write_text(path, self.dump_json() + "\n")


def load_cut_scores(path: str | Path) -> CutScores:
    """Read and validate a cut-score file (through :func:`digiskill.bank.loading.load_model_file`).

    Raises:
        InputError: the file cannot be read, is not JSON, or fails validation; each problem names file, line, field.
    """
    from .loading import load_model_file

    return load_model_file(path, CutScores, what="cut-score file", fmt="json")


def rp_locations(items: ItemArrays, rp: float = DEFAULT_RP) -> np.ndarray:
    """θ at which each item's expected score is ``rp`` × its maximum score (by interpolation on a fine grid)."""
    relative = expected_score(_GRID, items) / (items.n_cat - 1)  # (G, J), increasing in θ
    hi = np.clip(np.argmax(relative >= rp, axis=0), 1, _GRID.size - 1)  # first grid point at or above rp
    cols = np.arange(items.n_items)
    r0, r1 = relative[hi - 1, cols], relative[hi, cols]
    frac = np.clip((rp - r0) / np.maximum(r1 - r0, 1e-300), 0.0, 1.0)
    return _GRID[hi - 1] + frac * (_GRID[hi] - _GRID[hi - 1])


def item_mapping_cuts(
    items: ItemArrays,
    levels: dict[str, int],
    *,
    rp: float = DEFAULT_RP,
    min_gap: float = MIN_GAP,
) -> AreaCuts:
    """Cut scores of one area from its items' parameters and intended levels (see module notes)."""
    loc = rp_locations(items, rp)
    lv = np.array([levels[i] for i in items.ids])
    cuts: dict[int, float] = {}
    counts: dict[int, int] = {}
    previous = -np.inf
    for level in sorted(set(lv.tolist())):
        value = float(np.median(loc[lv == level]))
        value = max(value, previous + min_gap)
        cuts[level], counts[level] = round(value, 4), int((lv == level).sum())
        previous = value
    return AreaCuts(cuts=cuts, n_items=counts)


def set_cut_scores(params, content, *, rp: float = DEFAULT_RP) -> CutScores:
    """Item-mapping cut scores for every area of ``content`` on the scales of parameter set ``params``."""
    levels = {it.id: it.level for it in content.items}
    by_area: dict[str, list[str]] = {}
    for it in params.items:
        by_area.setdefault(it.area, []).append(it.id)
    areas = {area: item_mapping_cuts(params.to_arrays(ids), levels, rp=rp) for area, ids in by_area.items()}
    return CutScores(
        parameter_set=params.id,
        framework_version=content.framework.version,
        created=datetime.now(UTC).replace(microsecond=0),
        method=f"item mapping at RP{round(rp * 100)} over the items' intended levels (median per level), "
        f"made increasing by at least {MIN_GAP}; see digiskill.bank.cut_scores",
        response_probability=rp,
        provisional=params.provisional,
        areas=areas,
    )
