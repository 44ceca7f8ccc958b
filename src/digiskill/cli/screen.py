"""``digiskill screen``: rank candidates' results against a job profile (support for a caseworker, never a decision)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..bank.default import load_default
from ..errors import InputError
from ..fileio import check_output_paths, write_all
from ..results.files import load_profiles, read_results, screening_csv, screening_jsonl
from ..results.screening import profile_by_id, rank
from .common import fail_on_bad_input, stderr


def screen_command(
    results: Annotated[Path, typer.Argument(help="assessment results, JSON Lines (digiskill score --results)")],
    profile: Annotated[str, typer.Option("--profile", help="job profile id")],
    profiles: Annotated[
        Path | None, typer.Option("--profiles", help="profiles file (YAML/JSON; default: the bank's examples)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="ranked CSV (.csv) or JSON Lines (.jsonl)")] = None,
) -> None:
    """Rank candidates for a job profile: per-area probability of meeting the required level, the profile score S,
    its band and a plain-language reason. Every row says that a caseworker makes the decision."""
    try:
        check_output_paths({"--out": out})
        bank = load_default()
        pool = load_profiles(profiles).profiles if profiles is not None else None
        prof = profile_by_id(bank, profile, pool)
        ranked = rank(read_results(results), prof, bank)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if out is not None and out.suffix.lower() in (".jsonl", ".ndjson"):
        write_all({out: screening_jsonl(ranked)})
    else:
        text = screening_csv(ranked, [req.area for req in prof.requirements])
        if out is None:
            typer.echo(text, nl=False)
        else:
            write_all({out: text})
    if any(r.provisional for r in ranked):
        stderr.print(
            "note: results from a PROVISIONAL parameter set; the screening is marked provisional", markup=False
        )
    stderr.print(f"{len(ranked)} candidate(s) for {prof.id}; a caseworker makes every decision", markup=False)
