"""The one base class of the file and result schemas: immutable, and unknown fields are an error (a typing error in
a file must not pass silently)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """A pydantic model with ``extra="forbid"`` and ``frozen=True``; subclasses may add to its ``model_config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
