"""``digiskill screen``: rank candidates' results against a job profile (support for a caseworker, never a decision)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from ..bank.content import ProfilesFile
from ..bank.default import load_default
from ..bank.loading import load_model_file, parse_json, read_text_file
from ..errors import InputError, Problem
from ..fileio import check_output_paths, write_all
from ..results.models import AssessmentResult
from ..results.screening import ScreeningResult, profile_by_id, rank
from .common import fail_on_bad_input, stderr


def read_results(path: Path) -> list[AssessmentResult]:
    """Assessment results from a JSON Lines file; every bad line is reported with its line number.

    Refused: a line that is not JSON or not an assessment result, a probability outside [0, 1], a non-finite θ or
    SE, and a result id or a person that occurs twice (a candidate must not be ranked twice).
    """
    problems: list[Problem] = []
    out: list[AssessmentResult] = []
    where = str(path)
    first_line: dict[tuple[str, str], int] = {}
    for n, line in enumerate(read_text_file(path, "results file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            result = AssessmentResult.model_validate(parse_json(line, where))
        except InputError as err:
            problems += [Problem(p.message, where, n) for p in err.problems]
            continue
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            problems.append(Problem(f"not an assessment result: {loc}: {first['msg']}", where, n))
            continue
        problems += [Problem(m, where, n) for m in _implausible(result)]
        for kind, key in (("result id", result.result_id), ("person", result.person)):
            if (kind, key) in first_line:
                problems.append(
                    Problem(f"{kind} {key!r} occurs twice (first at line {first_line[kind, key]})", where, n)
                )
            first_line.setdefault((kind, key), n)
        out.append(result)
    if not out and not problems:
        problems.append(Problem("no results in the file", where))
    if problems:
        raise InputError(problems)
    return out


def _implausible(result: AssessmentResult) -> list[str]:
    """What no result of digiskill can contain: probabilities outside [0, 1], non-finite θ or SE."""
    messages = []
    for a in result.areas:
        if not all(0.0 <= p <= 1.0 for p in a.level_probabilities.values()):  # NaN fails too
            messages.append(f"area {a.area!r}: a level probability outside [0, 1]")
        if any(v is not None and not math.isfinite(v) for v in (a.theta, a.se)):
            messages.append(f"area {a.area!r}: theta or se is not a finite number")
    return messages


def read_profiles(path: Path) -> ProfilesFile:
    """Job profiles from a YAML (or, for ``.json``, JSON) file, through the one model-file loader."""
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return load_model_file(path, ProfilesFile, what="profiles file", fmt=fmt)


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
        pool = read_profiles(profiles).profiles if profiles is not None else None
        prof = profile_by_id(bank, profile, pool)
        ranked = rank(read_results(results), prof, bank)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    if out is not None and out.suffix.lower() in (".jsonl", ".ndjson"):
        write_all({out: "".join(r.model_dump_json() + "\n" for r in ranked)})
    else:
        text = _csv(ranked, [req.area for req in prof.requirements])
        if out is None:
            typer.echo(text, nl=False)
        else:
            write_all({out: text})
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
