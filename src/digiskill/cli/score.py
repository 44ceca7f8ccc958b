"""``digiskill score``: estimate abilities for a CSV of collected responses."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..bank.default import load_default
from ..bank.parameters import load_parameter_set
from ..bank.responses import read_responses
from ..errors import InputError, Problem
from ..fileio import atomic_writer, check_output_paths, write_all
from ..results.batch import batch_results
from ..results.scoring import PersonScore, ScoreRecords, score_table
from .common import fail_on_bad_input, progress_bar, stderr


class MethodChoice(StrEnum):
    eap = "eap"
    map = "map"
    ml = "ml"
    wle = "wle"


class FormatChoice(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def score(
    responses: Annotated[
        Path, typer.Argument(help="CSV: header of item ids, one row per person, empty = not presented")
    ],
    params: Annotated[
        Path | None,
        typer.Option("--params", help="parameter-set JSON file (default: the bundled default bank, provisional)"),
    ] = None,
    method: Annotated[MethodChoice, typer.Option(help="estimator")] = MethodChoice.eap,
    id_col: Annotated[str, typer.Option("--id-col", help="name of the person-id column (if present)")] = "person",
    out: Annotated[Path | None, typer.Option("--out", help="output file (default: standard output)")] = None,
    fmt: Annotated[
        FormatChoice | None,
        typer.Option("--format", help="csv or jsonl (default: from the --out suffix, .jsonl/.ndjson = jsonl)"),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="also write one AssessmentResult per person (JSON Lines: levels, level probabilities, bank "
            "version); needs the default bank's parameters, whose cut scores define the levels",
        ),
    ] = None,
) -> None:
    """Score every person in RESPONSES with the parameter set: theta, SE and number of answered items.

    Items that carry an area are scored per area (one row per person and area). Exit status 2 on bad input, with
    every problem listed as file:line, column and item; nothing is written then.
    """
    if fmt is None:
        jsonl = out is not None and out.suffix.lower() in (".jsonl", ".ndjson")
        fmt = FormatChoice.jsonl if jsonl else FormatChoice.csv
    try:
        check_output_paths({"--out": out, "--results": results})
        bank = load_default() if params is None or results is not None else None
        param_set = bank.params if params is None else load_parameter_set(params)
        if results is not None and param_set.id != bank.params.id:
            raise InputError(
                Problem(
                    f"--results needs level cut scores on the scale of {param_set.id!r}; the bundled bank has them "
                    f"for {bank.params.id!r} only (leave out --params)",
                    path=str(params),
                )
            )
        table = read_responses(responses, param_set, id_col=id_col)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    by_id = param_set.items_by_id()
    areas = {by_id[i].area for i in table.item_ids}
    work = table.n_persons * len(areas)
    with progress_bar(f"scoring ({method.value})", work) as advance:
        scores = score_table(table, param_set, method.value, progress=advance)
    if param_set.provisional:
        stderr.print(
            f"note: parameter set {param_set.id!r} is PROVISIONAL (not calibrated on real responses); "
            "every score is marked provisional",
            markup=False,
        )
    text = write_scores(scores, None, fmt.value, with_area=areas != {None})
    files: dict[Path, str] = {} if out is None else {out: text}
    if results is not None:
        files[results] = "".join(r.dump_json() + "\n" for r in batch_results(table, bank, method.value))
    write_all(files)  # scores and results: both or neither
    if results is not None:
        stderr.print(f"wrote {table.n_persons} results to {results}", markup=False)
    if out is None:
        typer.echo(text, nl=False)


CSV_FIELDS = ("person", "area", "theta", "se", "n_answered", "status", "provisional")


def write_scores(
    scores: Iterable[PersonScore], out: str | Path | None, fmt: Literal["csv", "jsonl"], *, with_area: bool
) -> str | None:
    """Write scores as CSV or JSON Lines to ``out`` atomically, or return the text when ``out`` is None."""
    fields = [f for f in CSV_FIELDS if with_area or f != "area"]

    def emit(fh) -> None:
        if isinstance(scores, ScoreRecords):
            _emit_records(fh, scores, fmt, fields, with_area)
        elif fmt == "jsonl":
            for s in scores:
                d = s.model_dump()
                if not with_area:
                    d.pop("area")
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
        else:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(fields)
            for s in scores:
                w.writerow(["" if (v := getattr(s, f)) is None else _fmt(v) for f in fields])

    if out is None:
        import io

        buf = io.StringIO()
        emit(buf)
        return buf.getvalue()
    with atomic_writer(out, newline="") as fh:
        emit(fh)
    return None


def _emit_records(fh, scores: ScoreRecords, fmt: str, fields: list[str], with_area: bool) -> None:
    """The rows of ``scores`` as CSV (``_fmt`` formatting) or JSON Lines (``PersonScore.model_dump`` field order)."""
    prov = "true" if scores.provisional else "false"
    if fmt == "jsonl":
        tail = json.dumps({"method": scores.method, "parameter_set": scores.set_id, "provisional": scores.provisional})
        tail = ", " + tail[1:]
        for person, area, theta, se, n_ans, status in scores.rows():
            head = {"person": person, "area": area, "theta": theta, "se": se, "n_answered": n_ans, "status": status}
            if not with_area:
                del head["area"]
            fh.write(json.dumps(head, ensure_ascii=False)[:-1] + tail + "\n")
        return
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(fields)
    if with_area:
        w.writerows(
            (person, "" if area is None else area, "" if t is None else f"{t:.6f}", "" if e is None else f"{e:.6f}", n,
             status, prov)
            for person, area, t, e, n, status in scores.rows()
        )  # fmt: skip
    else:
        w.writerows(
            (person, "" if t is None else f"{t:.6f}", "" if e is None else f"{e:.6f}", n, status, prov)
            for person, _, t, e, n, status in scores.rows()
        )


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:.6f}" if isinstance(v, float) else str(v)
