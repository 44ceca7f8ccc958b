"""Result files: one assessment result (JSON), a file of results (JSON Lines), and the ranked screening table (CSV).

Every reader goes through the one model-file loader (:mod:`digiskill.bank.loading`), so a bad file is an
:class:`~digiskill.errors.InputError` that names the file and the line, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from pydantic import ValidationError

from ..bank.content import ProfilesFile
from ..bank.loading import load_model_file, parse_json, read_text_file, validation_problems
from ..errors import InputError, Problem
from .models import AssessmentResult
from .screening import ScreeningResult


def load_result(path: str | Path) -> AssessmentResult:
    """One assessment result from a JSON file.

    Raises:
        InputError: unreadable, not JSON, not an assessment result (file, line, field), or several results (a JSON
            Lines file: one result is certified at a time).
    """
    try:
        return load_model_file(path, AssessmentResult, what="the result", fmt="json")
    except InputError as err:
        lines = _json_lines(path)
        if len(lines) > 1:
            raise InputError(
                Problem(f"{len(lines)} results in the file; certify one result at a time", str(path))
            ) from err
        raise


def _json_lines(path: str | Path) -> list[str]:
    """The non-blank lines of ``path`` when each is a JSON object on its own (a JSON Lines file), else ``[]``."""
    try:
        lines = [line for line in read_text_file(path).splitlines() if line.strip()]
        for line in lines:
            if not isinstance(json.loads(line), dict):
                return []
    except (InputError, ValueError, RecursionError):
        return []
    return lines


def load_profiles(path: str | Path) -> ProfilesFile:
    """Job profiles from a YAML file (JSON for ``.json``), through the one model-file loader."""
    fmt = "json" if Path(path).suffix.lower() == ".json" else "yaml"
    return load_model_file(path, ProfilesFile, what="profiles file", fmt=fmt)


def read_results(path: str | Path) -> list[AssessmentResult]:
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
            raw = parse_json(line, where)
            result = AssessmentResult.model_validate(raw)
        except InputError as err:
            problems += [Problem(p.message, where, n) for p in err.problems]
            continue
        except ValidationError as err:
            first = validation_problems(err, raw, where)[0]
            problems.append(Problem(f"not an assessment result: {first.message}", where, n))
            continue
        problems += [Problem(m, where, n) for m in implausible(result)]
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


def implausible(result: AssessmentResult) -> list[str]:
    """What no result of digiskill can contain: probabilities outside [0, 1], non-finite θ or SE."""
    messages = []
    for a in result.areas:
        if not all(0.0 <= p <= 1.0 for p in a.level_probabilities.values()):  # NaN fails too
            messages.append(f"area {a.area!r}: a level probability outside [0, 1]")
        if any(v is not None and not math.isfinite(v) for v in (a.theta, a.se)):
            messages.append(f"area {a.area!r}: theta or se is not a finite number")
    return messages


def screening_csv(ranked: list[ScreeningResult], areas: list[str]) -> str:
    """The ranked candidates as CSV text: one row per candidate (rank 1 first), π per area of ``areas`` (the π that
    enters S: for a multidimensional result the one kept within the area's own evidence), the score S, its band, and
    the reason in English and Danish; every row says that a caseworker decides."""
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
        pi = {a.area: a.scored_probability for a in r.areas}
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


def screening_jsonl(ranked: list[ScreeningResult]) -> str:
    """The ranked candidates as JSON Lines (one screening result per line, rank 1 first)."""
    return "".join(r.model_dump_json() + "\n" for r in ranked)
