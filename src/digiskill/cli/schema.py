"""``digiskill schema``: print or export the JSON Schemas of the public models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, Problem
from ..fileio import check_output_paths, write_all
from .common import fail_on_bad_input
from .schema_export import PUBLIC_MODELS, json_schema


def schema(
    name: Annotated[str | None, typer.Argument(help=f"one of: {', '.join(PUBLIC_MODELS)} (default: all)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="write NAME.schema.json files here")] = None,
) -> None:
    """Print (or write) the JSON Schema of the public data models."""
    names = list(PUBLIC_MODELS) if name is None else [name]
    unknown = [n for n in names if n not in PUBLIC_MODELS]
    if unknown:
        raise typer.BadParameter(f"unknown schema {unknown[0]!r}; choose one of {', '.join(PUBLIC_MODELS)}")
    texts = {n: json.dumps(json_schema(n), indent=2, ensure_ascii=False) + "\n" for n in names}
    if out_dir is None:
        for text in texts.values():
            typer.echo(text, nl=False)
        return
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(Problem("--out-dir: is a file, not a folder", str(out_dir)))
        files = {out_dir / f"{n}.schema.json": text for n, text in texts.items()}
        check_output_paths({"--out-dir": next(iter(files))})  # one folder for all of them
    except InputError as err:
        raise fail_on_bad_input(err) from err
    write_all(files)
