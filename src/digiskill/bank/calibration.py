"""The conversion between a calibration (:mod:`digiskill.calibrate`, arrays) and the parameter-set file.

* :meth:`ParameterSet.from_calibration <digiskill.bank.ParameterSet.from_calibration>` (in :mod:`.parameters`): the
  estimates in IRT form, the per-item SEs and the calibration record as a parameter set.
* :func:`fixed_items` (also :meth:`ParameterSet.as_fixed_items`): a parameter set's items as the arrays
  :func:`digiskill.calibrate.calibrate` takes for anchors and start values.
* :func:`parameter_set_of`: the file ``digiskill calibrate`` writes (bounds checked, the data file by name and
  SHA-256); :func:`with_item_fit` records item and model fit in it.
* :func:`read_item_models`: the per-item models of an ``item,model`` CSV file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from ..calibrate.fixed import FixedItems
from ..calibrate.result import CalibrationResult
from ..errors import InputError, Problem
from ..irt.numbers import finite_or_none
from .loading import read_text_file
from .parameters import (
    MODELS,
    PARAMETER_BOUND,
    ItemFit,
    ModelFit,
    ParameterSet,
)

if TYPE_CHECKING:
    from ..calibrate.fit import FitReport


def fixed_items(params: ParameterSet, item_ids: Sequence[str] | None = None) -> FixedItems:
    """The items (all, or ``item_ids`` in that order) as :class:`~digiskill.calibrate.fixed.FixedItems`, named by
    the set's id and keeping the set as their origin (so that anchors are written back unchanged)."""
    chosen = params.items if item_ids is None else [params.items_by_id()[i] for i in item_ids]
    arrays = params.to_arrays(None if item_ids is None else list(item_ids))
    return FixedItems(arrays, tuple(it.model for it in chosen), name=params.id, origin=params)


def parameter_set_of(
    result: CalibrationResult, set_id: str, provenance: str | None, area: str | None, responses: Path, provisional: bool
) -> ParameterSet:
    """The parameter-set file of a calibration; the data file is recorded by name and SHA-256, never by its path.

    Raises:
        InputError: an estimate beyond the bounds of the file (e.g. |b| > 50 for an item that hardly discriminates).
    """
    p = result.params
    problems = []
    for j in range(p.n_items):  # once per item, at the file boundary
        values = [float(p.a[j]), *(float(v) for v in p.b[j, : int(p.n_cat[j]) - 1])]
        if not all(abs(v) <= PARAMETER_BOUND for v in values):  # also catches NaN
            shown = ", ".join(f"{v:.4g}" for v in values)
            problems.append(
                Problem(
                    f"estimates (a, b) = ({shown}) are beyond the bound {PARAMETER_BOUND:g} of the parameter file: "
                    "the item hardly discriminates or nearly everybody gives the same answer; remove it, or set a "
                    "prior (--prior-slope, --prior-difficulty)",
                    path=str(responses),
                    item_id=p.ids[j],
                )
            )
    if problems:
        raise InputError(problems)
    try:
        params = ParameterSet.from_calibration(
            result, set_id, provenance, area=area, data=responses.name, provisional=provisional
        )
    except ValidationError as err:
        raise InputError(Problem(f"the estimates cannot be written as a parameter set: {err}")) from err
    if params.calibration is not None:
        digest = hashlib.sha256(responses.read_bytes()).hexdigest()
        calibration = params.calibration.model_copy(update={"data_sha256": digest})
        params = params.model_copy(update={"calibration": calibration})
    return params


def with_item_fit(params: ParameterSet, fit: FitReport) -> ParameterSet:
    """``params`` with each item's fit statistics and the test's M2 (when computed) recorded in the file."""

    items = []
    for j, it in enumerate(params.items):  # once per item, at the file boundary
        sx, io = fit.s_x2, fit.infit_outfit
        item_fit = ItemFit(
            s_x2=finite_or_none(sx.statistic[j]) if sx else None,
            s_x2_df=int(sx.df[j]) if sx and np.isfinite(sx.statistic[j]) else None,
            s_x2_p=finite_or_none(sx.p_value[j]) if sx else None,
            infit=finite_or_none(io.item_infit[j]) if io else None,
            outfit=finite_or_none(io.item_outfit[j]) if io else None,
            zh=finite_or_none(fit.zh[j]) if fit.zh is not None else None,
        )
        items.append(it.model_copy(update={"fit": item_fit}))
    calibration = params.calibration
    if fit.m2 is not None and calibration is not None:
        m = fit.m2
        calibration = calibration.model_copy(
            update={"m2": ModelFit(statistic=m.statistic, df=m.df, p=m.p_value, rmsea=m.rmsea)}
        )
    return params.model_copy(update={"items": items, "calibration": calibration})


def read_item_models(path: Path, item_ids: list[str], optional: frozenset[str] = frozenset()) -> list[str]:
    """Per-item models from a CSV with columns ``item,model`` (items not listed keep no model: an error, except for
    the ``optional`` ones, the anchors, which take their model from the anchor set)."""
    problems: list[Problem] = []
    models: dict[str, str] = {}
    text = read_text_file(path, "item-model file")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None or not {"item", "model"} <= {f.strip() for f in reader.fieldnames}:
            raise InputError(Problem("expected a header with columns 'item' and 'model'", path=str(path), line=1))
        for row in reader:
            item, model = (row.get("item") or "").strip(), (row.get("model") or "").strip().lower()
            line = reader.line_num
            if model not in MODELS:
                problems.append(
                    Problem(
                        f"unknown model {model!r}; expected one of {', '.join(MODELS)}",
                        str(path),
                        line,
                        item_id=item,
                    )
                )
            elif item in models:
                problems.append(Problem("item listed twice", str(path), line, item_id=item))
            models[item] = model
    except csv.Error as err:
        raise InputError(Problem(f"not a valid CSV file: {err}", path=str(path), line=reader.line_num)) from err
    missing = [i for i in item_ids if i not in models and i not in optional]
    problems += [Problem("no model given for this response column", str(path), item_id=i) for i in missing]
    known = set(item_ids)
    unknown = [i for i in models if i not in known]
    problems += [
        Problem("not a column of the response file (a typing error?); remove it or fix the id", str(path), item_id=i)
        for i in unknown
    ]
    if problems:
        raise InputError(problems)
    return [models.get(i, "2pl") for i in item_ids]  # anchors' entries are replaced by their own models
