"""``digiskill schema``: print or export the JSON Schemas of the public models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..fileio import atomic_write_text
from ..schemas import PUBLIC_MODELS, json_schema


def schema(
    name: Annotated[str | None, typer.Argument(help=f"one of: {', '.join(PUBLIC_MODELS)} (default: all)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="write NAME.schema.json files here")] = None,
) -> None:
    """Print (or write) the JSON Schema of the public data models."""
    names = list(PUBLIC_MODELS) if name is None else [name]
    unknown = [n for n in names if n not in PUBLIC_MODELS]
    if unknown:
        raise typer.BadParameter(f"unknown schema {unknown[0]!r}; choose one of {', '.join(PUBLIC_MODELS)}")
    for n in names:
        text = json.dumps(json_schema(n), indent=2, ensure_ascii=False) + "\n"
        if out_dir is None:
            typer.echo(text, nl=False)
        else:
            atomic_write_text(out_dir / f"{n}.schema.json", text)
