"""JSON Schemas of the public models, for systems written in other languages (``digiskill schema``)."""

from __future__ import annotations

from pydantic import BaseModel

from ..bank.cut_scores import CutScores
from ..bank.parameters import ParameterSet
from ..cat.config import CatConfig
from ..cat.session import Session
from ..cat.simulate import SimulationReport
from ..cat.stateless import StepResult
from ..results.credential import IssuerProfile
from ..results.models import AssessmentResult
from ..results.scoring import PersonScore
from ..results.screening import ScreeningResult

PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    "parameters": ParameterSet,
    "cut-scores": CutScores,
    "person-score": PersonScore,
    "assessment-result": AssessmentResult,
    "screening-result": ScreeningResult,
    "issuer-profile": IssuerProfile,
    "cat-config": CatConfig,
    "cat-session": Session,
    "cat-step": StepResult,
    "simulation-report": SimulationReport,
}


def json_schema(name: str) -> dict:
    """The JSON Schema of public model ``name`` (see :data:`PUBLIC_MODELS`)."""
    model = PUBLIC_MODELS[name]
    schema = model.model_json_schema(by_alias=True)
    schema["$id"] = f"https://digiskill.example/schemas/{name}.schema.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
