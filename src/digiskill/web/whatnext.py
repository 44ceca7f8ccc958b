"""The "what next" links of the result page: per competence area, a few upskilling offers from a JSON file.

The packaged ``whatnext.json`` holds national examples; a jobcentre points ``DIGISKILL_WEB_WHAT_NEXT`` at its own file
(same shape: ``{"area_id": [{"da": text, "en": text, "url": "https://…"}]}``). A bad file is an ``InputError`` that
names the file and the entry, raised when the app starts.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError, Problem
from .text import Lang

WHAT_NEXT_ENV = "DIGISKILL_WEB_WHAT_NEXT"


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    da: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)
    url: str = Field(pattern=r"^https?://\S+$", max_length=500)


@lru_cache(maxsize=4)
def load_links(path: str | None = None) -> dict[str, tuple[Link, ...]]:
    """The links per area from ``path`` (default: ``$DIGISKILL_WEB_WHAT_NEXT`` or the packaged file)."""
    path = path or os.environ.get(WHAT_NEXT_ENV)
    source = Path(path) if path else files("digiskill.web") / "whatnext.json"
    where = str(source)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(Problem(f"cannot read the what-next links: {err.strerror}", where)) from err
    except ValueError as err:
        raise InputError(Problem(f"the what-next links are not JSON: {err}", where)) from err
    if not isinstance(raw, dict):
        raise InputError(Problem("the what-next links must be an object of area ids", where))
    out: dict[str, tuple[Link, ...]] = {}
    for area, links in raw.items():
        if area.startswith("_"):
            continue
        try:
            out[area] = tuple(Link.model_validate(x) for x in links)
        except (ValidationError, TypeError) as err:
            raise InputError(Problem(f"bad link under {area!r}: {err}", where)) from err
    return out


def what_next(areas: list[str], names: dict[str, str], lang: Lang) -> list[dict]:
    """The links for ``areas`` (in that order, areas without links left out), in ``lang``."""
    links = load_links()
    return [
        {"name": names[a], "links": [{"text": getattr(x, lang), "url": x.url} for x in links[a]]}
        for a in areas
        if links.get(a)
    ]
