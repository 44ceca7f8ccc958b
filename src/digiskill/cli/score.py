"""``digiskill score``: estimate abilities for a CSV of collected responses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer

from ..bank.default import load_default
from ..bank.parameters import load_parameter_set
from ..bank.responses import read_responses
from ..errors import InputError, Problem
from ..fileio import atomic_writer, check_output_paths, write_all
from ..irt.likelihood import MISSING
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
    method: Annotated[
        MethodChoice | None, typer.Option(help="estimator (default eap; with --multidimensional map)")
    ] = None,
    id_col: Annotated[str, typer.Option("--id-col", help="name of the person-id column (if present)")] = "person",
    out: Annotated[Path | None, typer.Option("--out", help="output file (default: standard output)")] = None,
    fmt: Annotated[
        FormatChoice | None,
        typer.Option("--format", help="csv or jsonl (default: from the --out suffix, .jsonl/.ndjson = jsonl)"),
    ] = None,
    multidimensional: Annotated[
        bool,
        typer.Option(
            "--multidimensional",
            help="score the θ vector of the areas jointly, with the N(0, R) prior of the parameter set's "
            "calibration.latent.correlation (map or eap; one row per person with theta_<area> and se_<area>)",
        ),
    ] = False,
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

    Items that carry an area are scored per area (one row per person and area). With --multidimensional the areas
    are scored jointly: MAP (Newton, default) or EAP (quasi-Monte Carlo) of the θ vector under the N(0, R) prior of
    the parameter set's latent correlation, an SE per area (MAP: from the observed information with the prior).
    Exit status 2 on bad input, with
    every problem listed as file:line, column and item; nothing is written then.
    """
    if multidimensional:
        _score_multidimensional(responses, params, method or MethodChoice.map, id_col, out, fmt, results)
        return
    method = method or MethodChoice.eap
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


MULTIDIM_BLOCK = 2000  # persons scored at a time by --multidimensional


def _score_multidimensional(
    responses: Path,
    params: Path | None,
    method: MethodChoice,
    id_col: str,
    out: Path | None,
    fmt: FormatChoice | None,
    results: Path | None,
) -> None:
    """``score --multidimensional``: joint MAP or EAP of every person's θ vector over the areas of the data."""
    from ..irt.multidim import LatentNormal, joint_eap, joint_map

    try:
        if method not in (MethodChoice.map, MethodChoice.eap):
            raise InputError(Problem(f"--method {method.value} cannot be used with --multidimensional (map or eap)"))
        if results is not None or fmt is FormatChoice.jsonl:
            raise InputError(Problem("--multidimensional writes CSV only (no --results, no --format jsonl)"))
        check_output_paths({"--out": out})
        param_set = load_default().params if params is None else load_parameter_set(params)
        if param_set.latent_correlation() is None:
            raise InputError(
                Problem(
                    f"parameter set {param_set.id!r} has no calibration.latent.correlation; estimate it with "
                    "digiskill calibrate --multidimensional",
                    path=None if params is None else str(params),
                )
            )
        table = read_responses(responses, param_set, id_col=id_col)
        by_id = param_set.items_by_id()
        no_area = [i for i in table.item_ids if by_id[i].area is None]
        if no_area:
            raise InputError([Problem("the item has no area", item_id=i) for i in no_area])
        stored, _ = param_set.latent_correlation()
        in_data = {by_id[i].area for i in table.item_ids}
        areas = [a for a in stored if a in in_data] + sorted(in_data - set(stored))
        areas, corr = param_set.latent_correlation(areas)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    columns = [[n for n, i in enumerate(table.item_ids) if by_id[i].area == a] for a in areas]
    items = [param_set.to_arrays([table.item_ids[n] for n in cols]) for cols in columns]
    prior = LatentNormal(corr)
    theta, se = [], []
    with progress_bar(f"scoring ({method.value}, {len(areas)} areas jointly)", table.n_persons) as advance:
        for start in range(0, table.n_persons, MULTIDIM_BLOCK):
            block = table.codes[start : start + MULTIDIM_BLOCK]
            codes = [block[:, cols].astype(np.int64) for cols in columns]
            est = (joint_map if method is MethodChoice.map else joint_eap)(codes, items, prior)
            theta.append(est.theta)
            se.append(est.se)
            advance(block.shape[0])
    theta_all, se_all = np.concatenate(theta), np.concatenate(se)
    n_answered = (table.codes != MISSING).sum(axis=1)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["person", *(f"{k}_{a}" for a in areas for k in ("theta", "se")), "n_answered", "method", "provisional"])
    prov = "true" if param_set.provisional else "false"
    for person, th, e, n in zip(table.person_ids, theta_all, se_all, n_answered, strict=True):
        w.writerow(
            [person, *(f"{v:.6f}" for pair in zip(th, e, strict=True) for v in pair), int(n), method.value, prov]
        )
    if param_set.provisional:
        stderr.print(f"note: parameter set {param_set.id!r} is PROVISIONAL; every score is provisional", markup=False)
    if out is None:
        typer.echo(buf.getvalue(), nl=False)
    else:
        write_all({out: buf.getvalue()})


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
