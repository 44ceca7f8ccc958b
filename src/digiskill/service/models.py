"""Request bodies of the API (pydantic v2, ``extra="forbid"``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from ..bank.frozen import FrozenModel

_CPR = re.compile(r"^\s*\d{6}-?\d{4}\s*$")


class InvitationIn(FrozenModel):
    """An invitation for a pseudonymous person reference."""

    person: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:@/-]+$",
        description="pseudonymous person reference of the calling system (never a name or a CPR number)",
    )
    areas: list[str] | None = Field(None, min_length=1, max_length=20, description="area ids (default: all)")
    profile: str | None = Field(None, max_length=100, description="a job profile: test its essential areas")
    lang: Literal["da", "en"] = "da"

    @field_validator("person")
    @classmethod
    def _not_cpr(cls, value: str) -> str:
        if _CPR.match(value):
            raise ValueError("looks like a CPR number; use a pseudonymous reference")
        return value


class AnswerIn(FrozenModel):
    """An answer to one step: the chosen option id (single choice, true/false), the ticked option ids (multiple
    response) or every option id in the chosen order (ordering)."""

    step: int = Field(ge=1, le=1000, description="the step this answers (from the item shown)")
    item: str = Field(min_length=1, max_length=100)
    answer: str | list[str] = Field(description="option id(s)")

    @field_validator("answer")
    @classmethod
    def _short(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if len(items) > 10 or any(len(v) > 20 for v in items):
            raise ValueError("at most 10 option ids of at most 20 characters")
        return value


class RevokeIn(FrozenModel):
    certificate: str = Field(min_length=1, max_length=100, description="the credential id (urn:uuid:…)")
    reason: str = Field(min_length=1, max_length=500)
