"""The parameter-set file: the contract between calibration, scoring, banks and other systems.

A parameter set is one JSON document (``"schema": "digiskill.parameters/1"``) with item parameters in IRT form:

* dichotomous (``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``): ``P(X=1|θ) = c + (d − c) / (1 + exp(−a(θ − b)))``;
  ``rasch`` has ``a = 1``; ``1pl``/``2pl`` have ``c = 0, d = 1``; ``3pl`` has ``d = 1``.
* ``grm``: ``P(X ≥ k | θ) = logistic(a(θ − b_k))`` with strictly increasing thresholds ``b``.
* ``gpcm`` / ``pcm``: ``P(X = k | θ) ∝ exp(Σ_{v≤k} a(θ − b_v))`` with step parameters ``b`` in IRT form (as R
  mirt's ``IRTpars``); ``pcm`` has ``a = 1``.

Items may carry ``area`` (competence area id). Items of one area share one θ scale.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from ..errors import InputError, ParameterFileError, Problem
from ..irt.items import DICHOTOMOUS, GRADED, PARTIAL_CREDIT, ItemArrays
from ..irt.numbers import finite_or_none
from .frozen import FrozenModel

if TYPE_CHECKING:
    from ..calibrate.fixed import FixedItems
    from ..calibrate.result import CalibrationResult

SCHEMA_ID = "digiskill.parameters/1"
DICHOTOMOUS_MODELS = ("rasch", "1pl", "2pl", "3pl", "4pl")
MODELS = (*DICHOTOMOUS_MODELS, "grm", "gpcm", "pcm")

#: largest |value| of a slope, difficulty, threshold or step on the θ scale: beyond it an item carries no usable
#: information (a slope of 50 is a step function; a difficulty of 50 is 50 SD away from the population), and the
#: arithmetic of the response functions would overflow for values near the float range
PARAMETER_BOUND = 50.0
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Location = Annotated[float, Field(ge=-PARAMETER_BOUND, le=PARAMETER_BOUND, allow_inf_nan=False)]
Slope = Annotated[float, Field(gt=0, le=PARAMETER_BOUND, allow_inf_nan=False)]
Scalar = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class DichotomousSE(FrozenModel):
    """Standard errors of a dichotomous item's parameters (absent = fixed or not estimated)."""

    a: Scalar | None = None
    b: Scalar | None = None
    c: Scalar | None = None
    d: Scalar | None = None


class PolytomousSE(FrozenModel):
    """Standard errors of a polytomous item's slope and thresholds/steps."""

    a: Scalar | None = None
    b: list[Scalar] | None = None


class ItemFit(FrozenModel):
    """Item fit from the calibration (see :mod:`digiskill.calibrate.fit`); absent values were not computable."""

    s_x2: float | None = Field(None, description="Orlando-Thissen S-X2 (persons with complete responses)")
    s_x2_df: int | None = None
    s_x2_p: float | None = None
    infit: float | None = Field(None, description="infit mean square at EAP abilities")
    outfit: float | None = Field(None, description="outfit mean square at EAP abilities")
    zh: float | None = Field(None, description="standardized log-likelihood of the item (mirt's Zh)")


class DichotomousItem(FrozenModel):
    """A two-category item (Rasch, 1PL–4PL) in IRT form."""

    id: str = Field(min_length=1)
    model: Literal["rasch", "1pl", "2pl", "3pl", "4pl"]
    a: Slope = 1.0
    b: Location
    c: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False, description="lower asymptote (guessing)")
    d: float = Field(1.0, gt=0, le=1, allow_inf_nan=False, description="upper asymptote (slipping)")
    area: str | None = None
    competence: str | None = Field(None, description="DigComp competence id, for content balancing (e.g. '4.1')")
    se: DichotomousSE | None = None
    fit: ItemFit | None = None

    @model_validator(mode="after")
    def _check_model_constraints(self) -> DichotomousItem:
        if self.c >= self.d:
            raise ValueError(f"lower asymptote c = {self.c} must be below upper asymptote d = {self.d}")
        if self.model == "rasch" and self.a != 1.0:
            raise ValueError(f"a rasch item has slope a = 1, got {self.a} (use 1pl for a common free slope)")
        if self.model in ("rasch", "1pl", "2pl") and (self.c != 0.0 or self.d != 1.0):
            raise ValueError(f"a {self.model} item has c = 0 and d = 1; use 3pl/4pl for asymptotes")
        if self.model == "3pl" and self.d != 1.0:
            raise ValueError("a 3pl item has d = 1; use 4pl for an upper asymptote")
        return self


class GradedItem(FrozenModel):
    """Samejima's graded response item: ordered thresholds ``b_1 < … < b_{K−1}``."""

    id: str = Field(min_length=1)
    model: Literal["grm"]
    a: Slope
    b: list[Location] = Field(min_length=1)
    area: str | None = None
    competence: str | None = Field(None, description="DigComp competence id, for content balancing (e.g. '4.1')")
    se: PolytomousSE | None = None
    fit: ItemFit | None = None

    @field_validator("b")
    @classmethod
    def _increasing(cls, b: list[float]) -> list[float]:
        if any(hi <= lo for lo, hi in itertools.pairwise(b)):
            raise ValueError(f"grm thresholds must be strictly increasing, got {b}")
        return b


class PartialCreditItem(FrozenModel):
    """Generalized partial credit item (``pcm``: slope fixed at 1) with step parameters in IRT form."""

    id: str = Field(min_length=1)
    model: Literal["gpcm", "pcm"]
    a: Slope = 1.0
    b: list[Location] = Field(min_length=1)
    area: str | None = None
    competence: str | None = Field(None, description="DigComp competence id, for content balancing (e.g. '4.1')")
    se: PolytomousSE | None = None
    fit: ItemFit | None = None

    @model_validator(mode="after")
    def _pcm_slope(self) -> PartialCreditItem:
        if self.model == "pcm" and self.a != 1.0:
            raise ValueError(f"a pcm item has slope a = 1, got {self.a} (use gpcm for a free slope)")
        return self


ItemParams = Annotated[DichotomousItem | GradedItem | PartialCreditItem, Field(discriminator="model")]


class QuadratureSpec(FrozenModel):
    points: int = Field(61, ge=2, le=10_000)
    range: tuple[Location, Location] = (-6.0, 6.0)


class LatentCorrelation(FrozenModel):
    """The correlation matrix of the areas' abilities (between-item multidimensional model: each item measures its own
    area's θ, and ``θ ~ N(0, R)`` over the areas, each area on its own N(0, 1) scale).

    ``matrix[i][k]`` is the correlation of ``areas[i]`` and ``areas[k]``: square, symmetric, unit diagonal, entries in
    (−1, 1) and positive definite.
    """

    areas: list[str] = Field(min_length=2, description="area ids, in the order of the rows and columns of matrix")
    matrix: list[list[FiniteFloat]] = Field(description="correlation matrix, one row per area")

    @field_validator("areas")
    @classmethod
    def _unique_areas(cls, areas: list[str]) -> list[str]:
        dup = sorted({a for a in areas if areas.count(a) > 1})
        if dup:
            raise ValueError(f"area(s) given twice: {', '.join(dup)}")
        if any(not a for a in areas):
            raise ValueError("an area id is empty")
        return areas

    @model_validator(mode="after")
    def _correlation_matrix(self) -> LatentCorrelation:
        d = len(self.areas)
        if len(self.matrix) != d or any(len(row) != d for row in self.matrix):
            shape = f"{len(self.matrix)} rows of lengths {sorted({len(row) for row in self.matrix})}"
            raise ValueError(f"matrix must be {d} × {d} (one row and column per area), got {shape}")
        r = np.array(self.matrix, dtype=float)
        i, k = np.unravel_index(np.argmax(np.abs(r - r.T)), r.shape)
        if abs(r[i, k] - r[k, i]) > 1e-9:
            raise ValueError(
                f"matrix is not symmetric: [{self.areas[i]}, {self.areas[k]}] = {r[i, k]} but "
                f"[{self.areas[k]}, {self.areas[i]}] = {r[k, i]}"
            )
        bad_diag = [self.areas[n] for n in range(d) if r[n, n] != 1.0]
        if bad_diag:
            raise ValueError(f"the diagonal of a correlation matrix is 1; not so for {', '.join(bad_diag)}")
        off = ~np.eye(d, dtype=bool) & (np.abs(r) >= 1.0)
        if off.any():
            i, k = np.argwhere(off)[0]
            raise ValueError(
                f"correlation of {self.areas[i]} and {self.areas[k]} is {r[i, k]}; it must lie strictly in (−1, 1)"
            )
        low = float(np.linalg.eigvalsh(r)[0])
        if low <= 1e-10:
            raise ValueError(f"matrix is not positive definite (smallest eigenvalue {low:.3g})")
        return self

    def as_array(self) -> np.ndarray:
        """The matrix as a ``(D, D)`` array."""
        return np.array(self.matrix, dtype=float)


class LatentSpec(FrozenModel):
    mean: Location = 0.0
    sd: Slope = 1.0
    correlation: LatentCorrelation | None = Field(
        None,
        description="correlation matrix of the areas' abilities (multidimensional scoring and adaptive testing; "
        "digiskill calibrate --multidimensional)",
    )


class ModelFit(FrozenModel):
    """Maydeu-Olivares & Joe's M2 with its df, p-value and RMSEA."""

    statistic: float
    df: int
    p: float
    rmsea: float


class CalibrationInfo(FrozenModel):
    """How the parameters were estimated."""

    model: str = Field(description="model name, or 'mixed' when items use several")
    loglik: FiniteFloat | None = None
    aic: FiniteFloat | None = None
    bic: FiniteFloat | None = None
    n_parameters: int | None = Field(None, ge=0)
    iterations: int | None = Field(None, ge=0)
    converged: bool | None = None
    n_persons: int | None = Field(None, ge=0)
    quadrature: QuadratureSpec = QuadratureSpec()
    se_method: str | None = None
    latent: LatentSpec = LatentSpec()
    software: str | None = Field(None, description="program that produced the estimates, when not digiskill")
    m2: ModelFit | None = Field(None, description="limited-information model fit (complete dichotomous data)")
    data: str | None = Field(None, description="the response data the calibration used (file name or description)")
    data_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the response file the calibration used"
    )


class ParameterSet(FrozenModel):
    """A versioned set of item parameters (JSON file ``digiskill.parameters/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_id: Literal["digiskill.parameters/1"] = Field(SCHEMA_ID, alias="schema")
    id: str = Field(min_length=1, description="identifier of this parameter set, cited by every result")
    created: datetime
    engine: str = Field(description="software and version that wrote the file")
    provisional: bool = Field(False, description="true while the parameters do not come from real response data")
    provenance: str | None = Field(None, description="where the parameters come from, in plain words")
    calibration: CalibrationInfo | None = None
    items: list[ItemParams] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list) -> list:
        seen: set[str] = set()
        dup = [i.id for i in items if i.id in seen or seen.add(i.id)]
        if dup:
            raise ValueError(f"duplicate item id(s): {', '.join(sorted(set(dup)))}")
        return items

    @model_validator(mode="after")
    def _correlation_areas_have_items(self) -> ParameterSet:
        corr = None if self.calibration is None else self.calibration.latent.correlation
        if corr is not None:
            missing = [a for a in corr.areas if a not in set(self.areas)]
            if missing:
                raise ValueError(
                    f"calibration.latent.correlation names area(s) without items in this set: {', '.join(missing)}"
                )
        return self

    # ------------------------------------------------------------------ views
    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    @property
    def areas(self) -> list[str | None]:
        """Distinct areas in order of first appearance (``[None]`` when no item names an area)."""
        return list(dict.fromkeys(i.area for i in self.items))

    def items_by_id(self) -> dict[str, ItemParams]:
        return {it.id: it for it in self.items}

    def latent_correlation(self, areas: list[str] | None = None) -> tuple[list[str], np.ndarray] | None:
        """The stored correlation matrix of the areas (``calibration.latent.correlation``), or None when the set has
        none; with ``areas``, restricted to those areas and in their order.

        Raises:
            InputError: an area of ``areas`` that the stored matrix does not cover.
        """
        corr = None if self.calibration is None else self.calibration.latent.correlation
        if corr is None:
            return None
        full = corr.as_array()
        if areas is None:
            return list(corr.areas), full
        missing = [a for a in areas if a not in corr.areas]
        if missing:
            raise InputError(
                Problem(
                    f"area(s) {', '.join(map(str, missing))} not in the latent correlation of parameter set "
                    f"{self.id!r} (it covers {', '.join(corr.areas)})"
                )
            )
        idx = [corr.areas.index(a) for a in areas]
        return list(areas), full[np.ix_(idx, idx)]

    def with_latent_correlation(self, areas: list[str], matrix: np.ndarray, set_id: str | None = None) -> ParameterSet:
        """This set with ``calibration.latent.correlation`` set to ``matrix`` over ``areas`` (entries rounded to 4
        decimals; items and everything else unchanged; ``set_id`` replaces the id when given)."""
        r = np.round((np.asarray(matrix, dtype=float) + np.asarray(matrix, dtype=float).T) / 2, 4)
        np.fill_diagonal(r, 1.0)
        corr = LatentCorrelation(areas=list(areas), matrix=r.tolist())
        calibration = self.calibration or CalibrationInfo(model="mixed")
        latent = calibration.latent.model_copy(update={"correlation": corr})
        data = self.model_copy(update={"calibration": calibration.model_copy(update={"latent": latent})})
        if set_id is not None:
            data = data.model_copy(update={"id": set_id})
        return ParameterSet.model_validate(data.model_dump(by_alias=True, exclude_none=True))

    def to_arrays(self, item_ids: list[str] | None = None) -> ItemArrays:
        """The items (all, or ``item_ids`` in that order) as one :class:`~digiskill.irt.ItemArrays`."""
        if item_ids is None:
            chosen = self.items
        else:
            by_id = self.items_by_id()
            chosen = [by_id[i] for i in item_ids]
        return items_to_arrays(chosen)

    def as_fixed_items(self, item_ids: list[str] | None = None) -> FixedItems:
        """The items (all, or ``item_ids`` in that order) as the arrays :func:`digiskill.calibrate.calibrate` takes
        for ``anchors`` and ``start`` (see :func:`digiskill.bank.calibration.fixed_items`)."""
        from .calibration import fixed_items

        return fixed_items(self, item_ids)

    @classmethod
    def from_calibration(
        cls,
        result: CalibrationResult,
        set_id: str,
        provenance: str | None = None,
        *,
        area: str | None = None,
        data: str | None = None,
        provisional: bool = False,
    ) -> ParameterSet:
        """A :class:`~digiskill.bank.ParameterSet` with the estimates in IRT form, per-item SEs when computed, and
        the calibration record (log-likelihood, AIC, BIC, iterations, convergence, latent N(mean, sd²)).

        Anchor items (fixed-item calibration) from a parameter set are written exactly as they were given (parameters,
        SEs and area of the anchor set); the new items are on the anchors' scale, and ``calibration.latent`` is the
        estimated latent mean and SD of this sample on that scale.

        Raises:
            InputError: an item whose estimated slope is not positive (the file format requires ``a > 0``).
        """
        p = result.params
        bad = np.flatnonzero(~(p.a > 0))
        if bad.size:
            raise InputError(
                [
                    Problem(
                        f"estimated slope {p.a[j]:.4g} is not positive; the item measures the "
                        "opposite of the scale (check its key) and cannot be written",
                        item_id=p.ids[j],
                    )
                    for j in bad
                ]
            )
        items: list[ItemParams] = []
        origin = result.anchors.origin if result.anchors is not None else None
        given = origin.items_by_id() if isinstance(origin, ParameterSet) else {}
        for j, item_id in enumerate(p.ids):  # conversion at the boundary, once per item
            if item_id in given:
                items.append(given[item_id])
                continue
            model = result.models[j]
            k = int(p.n_cat[j]) - 1
            b = [float(v) for v in p.b[j, :k]]
            se = result.se
            if p.family[j] == DICHOTOMOUS:
                se_obj = None
                if se is not None:
                    se_obj = DichotomousSE(
                        a=finite_or_none(se.a[j]),
                        b=finite_or_none(se.b[j, 0]),
                        c=finite_or_none(se.c[j]),
                        d=finite_or_none(se.d[j]),
                    )
                items.append(
                    DichotomousItem(
                        id=item_id,
                        model=model,
                        a=1.0 if model == "rasch" else float(p.a[j]),
                        b=b[0],
                        c=float(p.c[j]),
                        d=float(p.d[j]),
                        area=area,
                        se=se_obj,
                    )
                )
            else:
                se_obj = None
                if se is not None:
                    bse = [finite_or_none(v) for v in se.b[j, :k]]
                    se_obj = PolytomousSE(a=finite_or_none(se.a[j]), b=None if None in bse else bse)
                cls = GradedItem if p.family[j] == GRADED else PartialCreditItem
                a = 1.0 if model == "pcm" else float(p.a[j])
                items.append(cls(id=item_id, model=model, a=a, b=b, area=area, se=se_obj))
        info = CalibrationInfo(
            model=result.model_name,
            loglik=result.loglik,
            aic=result.aic,
            bic=result.bic,
            n_parameters=result.n_parameters,
            iterations=result.iterations,
            converged=result.converged,
            n_persons=round(result.n_persons),
            quadrature=QuadratureSpec(points=result.quadrature_points, range=result.quadrature_range),
            se_method=result.se_method,
            latent=LatentSpec(mean=result.latent_mean, sd=result.latent_sd),
            data=data,
        )
        return new_parameter_set(items, set_id=set_id, provenance=provenance, provisional=provisional, calibration=info)

    def dump_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2, exclude_none=True)

    def save(self, path: str | Path) -> None:
        """Write atomically (temporary file, then rename)."""
        from ..fileio import atomic_write_text

        atomic_write_text(path, self.dump_json() + "\n")


def items_to_arrays(items: list[ItemParams]) -> ItemArrays:
    """Convert validated item models to arrays (once; the math never sees pydantic objects)."""
    j = len(items)
    family = np.zeros(j, dtype=np.int8)
    n_cat = np.array([2 if isinstance(i, DichotomousItem) else len(i.b) + 1 for i in items], dtype=np.int64)
    b = np.full((j, int(n_cat.max()) - 1), np.nan)
    a, c, d = np.ones(j), np.zeros(j), np.ones(j)
    for n, it in enumerate(items):  # conversion at the boundary, once per bank
        a[n] = it.a
        if isinstance(it, DichotomousItem):
            b[n, 0], c[n], d[n] = it.b, it.c, it.d
        else:
            family[n] = GRADED if isinstance(it, GradedItem) else PARTIAL_CREDIT
            b[n, : len(it.b)] = it.b
    return ItemArrays(family=family, a=a, b=b, c=c, d=d, n_cat=n_cat, ids=tuple(i.id for i in items))


def new_parameter_set(
    items: list[ItemParams],
    *,
    set_id: str,
    provenance: str | None = None,
    provisional: bool = False,
    calibration: CalibrationInfo | None = None,
) -> ParameterSet:
    """A parameter set stamped with the current time and engine version."""
    from .. import ENGINE

    return ParameterSet(
        id=set_id,
        created=datetime.now(UTC).replace(microsecond=0),
        engine=ENGINE,
        provisional=provisional,
        provenance=provenance,
        calibration=calibration,
        items=items,
    )


def load_parameter_set(path: str | Path) -> ParameterSet:
    """Read and validate a parameter-set file (through :func:`digiskill.bank.loading.load_model_file`).

    Raises:
        ParameterFileError: the file is missing, not JSON, or fails validation (a value beyond
            :data:`PARAMETER_BOUND` included); every problem names the file, the line, the JSON location and, where
            it can, the item id.
    """
    from .loading import load_model_file

    return load_model_file(
        path, ParameterSet, what="parameter file", fmt="json", error=ParameterFileError, drop=_drop_tags
    )


def _drop_tags(loc: tuple) -> tuple:
    """A validation location without the model tag pydantic puts after an item index (``items.3.grm.b``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and p in MODELS))


def parameter_set_json_schema() -> dict:
    """JSON Schema of the parameter-set file (validation mode, by alias)."""
    return ParameterSet.model_json_schema(by_alias=True)
