"""Linking parameter-set files: :func:`link` puts one set on the scale of another through their common items, and
:func:`transform_parameter_set` writes a set on the new scale (the arrays and the methods are in
:mod:`digiskill.calibrate.linking`)."""

from __future__ import annotations

import dataclasses

from ..calibrate.linking import (
    DEFAULT_GRID_POINTS,
    DEFAULT_GRID_RANGE,
    GridWeights,
    LinkingResult,
    LinkMethod,
    check_slope,
    link_items,
)
from ..errors import InputError, Problem
from .parameters import (
    DichotomousItem,
    DichotomousSE,
    ItemParams,
    ParameterSet,
    PartialCreditItem,
    PolytomousSE,
    new_parameter_set,
)

__all__ = ["DEFAULT_GRID_POINTS", "SetLinkingResult", "link", "transform_parameter_set"]

UNIT_SLOPE_TOL = 1e-12  # |A − 1| within this keeps Rasch/PCM items (slope 1) as they are


class SetLinkingResult(LinkingResult):
    """A :class:`~digiskill.calibrate.linking.LinkingResult` between two parameter sets, which can write set X on
    Y's scale."""

    def transform(
        self, params: ParameterSet, *, set_id: str | None = None, provenance: str | None = None
    ) -> ParameterSet:
        """A new :class:`~digiskill.bank.ParameterSet`: ``params`` (set X) on Y's scale; see
        :func:`transform_parameter_set`. Only items of :attr:`area` are transformed when an area was linked."""
        note = (
            f"linked to {self.to_id or 'the target set'} by {self.method} through {len(self.common_items)} common "
            f"item(s): theta_new = {self.A:.6g} * theta + {self.B:.6g}"
        )
        return transform_parameter_set(
            params,
            self.A,
            self.B,
            area=self.area,
            set_id=set_id or f"{params.id}-on-{self.to_id or 'target'}",
            provenance=provenance or (f"{params.provenance}; {note}" if params.provenance else note),
        )


def transform_parameter_set(
    params: ParameterSet,
    A: float,
    B: float,
    *,
    area: str | None = None,
    set_id: str | None = None,
    provenance: str | None = None,
) -> ParameterSet:
    """A new parameter set with every item (or every item of ``area``) put on the new scale ``θ_new = A·θ + B``.

    Slopes become ``a / A`` and difficulties, thresholds and steps ``A·b + B``; ``c`` and ``d`` are unchanged; SEs
    are scaled (``SE(a)/A``, ``A·SE(b)``). A slope-1 model cannot keep slope 1 when ``A ≠ 1``: ``rasch`` items become
    ``1pl`` (a common slope ``1/A``) and ``pcm`` items ``gpcm``. The calibration record is kept (the log-likelihood
    does not change under a linear transformation) with its latent distribution moved to ``N(A·m + B, (A·s)²)``.
    """
    check_slope(A)
    unit = abs(A - 1.0) <= UNIT_SLOPE_TOL
    items: list[ItemParams] = []
    for it in params.items:  # conversion at the boundary, once per item
        if area is not None and it.area != area:
            items.append(it)
            continue
        raw = it.model_dump(exclude_none=True)
        raw["a"] = it.a / A
        if isinstance(it, DichotomousItem):
            raw["b"] = A * it.b + B
            if it.model == "rasch" and not unit:
                raw["model"] = "1pl"
            if it.se is not None:
                raw["se"] = DichotomousSE(
                    a=_scaled(it.se.a, 1 / A), b=_scaled(it.se.b, A), c=it.se.c, d=it.se.d
                ).model_dump(exclude_none=True)
        else:
            raw["b"] = [A * v + B for v in it.b]
            if isinstance(it, PartialCreditItem) and it.model == "pcm" and not unit:
                raw["model"] = "gpcm"
            if it.se is not None:
                raw["se"] = PolytomousSE(
                    a=_scaled(it.se.a, 1 / A), b=None if it.se.b is None else [A * v for v in it.se.b]
                ).model_dump(exclude_none=True)
        if unit and raw.get("model") in ("rasch", "pcm"):
            raw["a"] = 1.0
        items.append(type(it).model_validate(raw))
    calibration = params.calibration
    if calibration is not None and area is None:
        latent = calibration.latent.model_copy(
            update={"mean": A * calibration.latent.mean + B, "sd": A * calibration.latent.sd}
        )
        calibration = calibration.model_copy(update={"latent": latent})
    return new_parameter_set(
        items,
        set_id=set_id or params.id,
        provenance=provenance if provenance is not None else params.provenance,
        provisional=params.provisional,
        calibration=calibration,
    )


def _scaled(v: float | None, factor: float) -> float | None:
    return None if v is None else v * factor


def link(
    from_set: ParameterSet,
    to_set: ParameterSet,
    method: LinkMethod = "stocking-lord",
    *,
    area: str | None = None,
    grid_points: int = DEFAULT_GRID_POINTS,
    grid_range: tuple[float, float] = DEFAULT_GRID_RANGE,
    grid_weights: GridWeights = "normal",
) -> SetLinkingResult:
    """Put ``from_set`` (X) on the scale of ``to_set`` (Y) through the items they share (matched by id).

    Args:
        from_set, to_set: parameter sets X and Y.
        method: ``mean-mean``, ``mean-sigma``, ``haebara`` or ``stocking-lord``.
        area: link only this competence area (its common items; only its items are transformed). Needed when
            X has items of more than one area, since each area has its own scale.
        grid_points, grid_range, grid_weights: θ grid (on Y's scale) of the characteristic-curve methods.

    Raises:
        InputError: no common items, common items whose model family or number of categories differ between the
            sets, several areas without ``area``, or too little spread for the method.
    """
    x_by_id = from_set.items_by_id()
    y_by_id = to_set.items_by_id()
    x_areas = {it.area for it in from_set.items}
    if area is None and len(x_areas) > 1:
        raise InputError(
            Problem(
                f"set {from_set.id!r} has items of {len(x_areas)} areas "
                f"({', '.join(sorted(str(a) for a in x_areas))}); each area has its own scale: link one area at a "
                "time"
            )
        )
    if area is not None and area not in x_areas:
        raise InputError(Problem(f"no item of set {from_set.id!r} is in area {area!r}"))
    common = [i for i in from_set.item_ids if i in y_by_id and (area is None or x_by_id[i].area == area)]
    if not common:
        where = "" if area is None else f" in area {area!r}"
        raise InputError(
            Problem(f"sets {from_set.id!r} and {to_set.id!r} have no item ids in common{where}: nothing to link")
        )
    res = link_items(
        from_set.to_arrays(common),
        to_set.to_arrays(common),
        method,
        grid_points=grid_points,
        grid_range=grid_range,
        grid_weights=grid_weights,
    )
    fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    return SetLinkingResult(**(fields | {"from_id": from_set.id, "to_id": to_set.id, "area": area}))
