"""``digiskill screen``: rank candidates' results against a job profile (support for a caseworker, never a decision)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from ..bank.content import ProfilesFile
from ..bank.default import load_default
from ..errors import InputError, Problem
from ..fileio import atomic_writer
from ..results.models import AssessmentResult
from ..results.screening import ScreeningResult, profile_by_id, rank
from .common import fail_on_bad_input, stderr


def read_results(path: Path) -> list[AssessmentResult]:
    """Assessment results from a JSON Lines file; every bad line is reported with its line number."""
    problems: list[Problem] = []
    out: list[AssessmentResult] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise InputError(Problem(f"cannot read results: {err.strerror}", path=str(path))) from err
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(AssessmentResult.model_validate_json(line))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(Problem(f"not an assessment result: {where}: {first['msg']}", path=str(path), line=n))
    if not out and not problems:
        problems.append(Problem("no results in the file", path=str(path)))
    if problems:
        raise InputError(problems)
    return out


def read_profiles(path: Path) -> ProfilesFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ProfilesFile.model_validate(raw)
    except OSError as err:
        raise InputError(Problem(f"cannot read profiles: {err.strerror}", path=str(path))) from err
    except yaml.YAMLError as err:
        raise InputError(Problem(f"not valid YAML/JSON: {err}", path=str(path))) from err
    except ValidationError as err:
        raise InputError(
            [Problem(".".join(map(str, e["loc"])) + ": " + e["msg"], path=str(path)) for e in err.errors()]
        ) from err


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
        bank = load_default()
        pool = read_profiles(profiles).profiles if profiles is not None else None
        prof = profile_by_id(bank, profile, pool)
        ranked = rank(read_results(results), prof, bank)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if out is not None and out.suffix.lower() in (".jsonl", ".ndjson"):
        with atomic_writer(out) as fh:
            for r in ranked:
                fh.write(r.model_dump_json() + "\n")
    else:
        text = _csv(ranked, [req.area for req in prof.requirements])
        if out is None:
            typer.echo(text, nl=False)
        else:
            with atomic_writer(out, newline="") as fh:
                fh.write(text)
    if any(r.provisional for r in ranked):
        stderr.print(
            "note: results from a PROVISIONAL parameter set; the screening is marked provisional", markup=False
        )
    stderr.print(f"{len(ranked)} candidate(s) for {prof.id}; a caseworker makes every decision", markup=False)


def _csv(ranked: list[ScreeningResult], areas: list[str]) -> str:
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "rank",
            "person",
            "result_id",
            "profile",
            "score",
            "band",
            "caseworker_decision_required",
            "provisional",
            "upskill_areas",
            "untested_areas",
            *[f"pi_{a}" for a in areas],
            "reason_en",
            "reason_da",
        ]
    )
    for n, r in enumerate(ranked, start=1):
        pi = {a.area: a.probability for a in r.areas}
        w.writerow(
            [
                n,
                r.person,
                r.result_id,
                r.profile,
                f"{r.score:.4f}",
                r.band,
                "true",
                json.dumps(r.provisional),
                ";".join(r.upskill_areas),
                ";".join(r.untested_areas),
                *["" if pi.get(a) is None else f"{pi[a]:.4f}" for a in areas],
                r.reason.en,
                r.reason.da,
            ]
        )
    return buf.getvalue()
