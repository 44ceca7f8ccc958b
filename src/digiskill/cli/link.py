"""``digiskill link``: put one parameter set on the scale of another through their common items."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from ..bank.linking import DEFAULT_GRID_POINTS, link
from ..bank.parameters import MODELS, ParameterSet, load_parameter_set
from ..errors import InputError, Problem
from ..fileio import check_output_paths, write_all
from .common import fail_on_bad_input, stderr


class LinkMethodChoice(StrEnum):
    mean_mean = "mean-mean"
    mean_sigma = "mean-sigma"
    haebara = "haebara"
    stocking_lord = "stocking-lord"


class GridWeightsChoice(StrEnum):
    normal = "normal"
    uniform = "uniform"


def link_command(
    from_params: Annotated[Path, typer.Argument(metavar="FROM.json", help="parameter set X to transform")],
    to_params: Annotated[Path, typer.Argument(metavar="TO.json", help="parameter set Y whose scale is the target")],
    out: Annotated[Path, typer.Option("--out", help="parameter-set JSON file to write (X on Y's scale)")],
    method: Annotated[LinkMethodChoice, typer.Option(help="linking method")] = LinkMethodChoice.stocking_lord,
    area: Annotated[str | None, typer.Option("--area", help="link only this competence area")] = None,
    set_id: Annotated[str | None, typer.Option("--id", help="id of the new set (default: FROM-id-on-TO-id)")] = None,
    grid_weights: Annotated[
        GridWeightsChoice, typer.Option("--grid-weights", help="weights of the theta grid (haebara, stocking-lord)")
    ] = GridWeightsChoice.normal,
    grid_points: Annotated[
        int, typer.Option("--grid-points", help="points of the theta grid on [-4, 4]", min=2, max=100_001)
    ] = DEFAULT_GRID_POINTS,
) -> None:
    """Link FROM.json to the scale of TO.json through the items they share (by id): theta_TO = A * theta_FROM + B,
    slopes a/A, difficulties and thresholds A*b + B. Writes every item of FROM on the new scale.

    Exit status 2 on bad input (no common items, a common item with different categories, unreadable files), with
    every problem listed; nothing is written then.
    """
    try:
        check_output_paths({"--out": out})
        x = load_parameter_set(from_params)
        y = load_parameter_set(to_params)
        result = link(x, y, method.value, area=area, grid_points=grid_points, grid_weights=grid_weights.value)
        linked = _transformed(result, x, set_id)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if not result.converged:
        stderr.print("[yellow]warning:[/] the linking criterion did not converge", markup=True)
    write_all({out: linked.dump_json() + "\n"})
    for line in result.summary().splitlines():
        stderr.print(line, markup=False)
    stderr.print(f"common items: {', '.join(result.common_items)}", markup=False)
    stderr.print(f"wrote {out}", markup=False)


def _transformed(result, x: ParameterSet, set_id: str | None) -> ParameterSet:
    """X on Y's scale; a transformation that takes a parameter beyond the file's bounds is bad input, not a crash."""
    if not (math.isfinite(result.A) and math.isfinite(result.B) and result.A > 0):
        raise InputError(f"the linking constants A = {result.A!r}, B = {result.B!r} are not usable (need A > 0)")
    try:
        return result.transform(x, set_id=set_id)
    except ValidationError as err:
        raise InputError(
            [
                Problem(
                    f"on the new scale (A = {result.A:.4g}, B = {result.B:.4g}) "
                    + ".".join(str(p) for p in e["loc"] if p not in MODELS)
                    + f" = {e.get('input')!r}: {e['msg']}"
                )
                for e in err.errors()
            ]
        ) from err
