"""JSON Schemas of the public models, for systems written in other languages."""

from __future__ import annotations

from pydantic import BaseModel

from .bank.parameters import ParameterSet
from .scoring import PersonScore

PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    "parameters": ParameterSet,
    "person-score": PersonScore,
}


def json_schema(name: str) -> dict:
    """The JSON Schema of public model ``name`` (see :data:`PUBLIC_MODELS`)."""
    model = PUBLIC_MODELS[name]
    schema = model.model_json_schema(by_alias=True)
    schema["$id"] = f"https://digiskill.example/schemas/{name}.schema.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
