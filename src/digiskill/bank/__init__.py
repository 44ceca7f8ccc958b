"""File schemas of the bank (pydantic v2) and their conversion to :mod:`digiskill.irt` arrays."""

from .parameters import (
    MODELS,
    SCHEMA_ID,
    CalibrationInfo,
    DichotomousItem,
    GradedItem,
    ItemParams,
    LatentSpec,
    ParameterSet,
    PartialCreditItem,
    QuadratureSpec,
    items_to_arrays,
    load_parameter_set,
    new_parameter_set,
    parameter_set_json_schema,
)

__all__ = [
    "MODELS",
    "SCHEMA_ID",
    "CalibrationInfo",
    "DichotomousItem",
    "GradedItem",
    "ItemParams",
    "LatentSpec",
    "ParameterSet",
    "PartialCreditItem",
    "QuadratureSpec",
    "items_to_arrays",
    "load_parameter_set",
    "new_parameter_set",
    "parameter_set_json_schema",
]
