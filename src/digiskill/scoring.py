"""Batch scoring of collected responses: read a response CSV, check it against a parameter set, estimate θ.

Response CSV: a header of item ids, one row per person, an optional person-id column, values ``0..K−1``; an empty
cell, ``NA`` or ``NaN`` means "not presented". Other named columns (a grouping column, say) can be read along as raw
strings with ``read_responses(..., extra_cols=[...])``; they are never items. Every problem in the file is collected
and reported together (file, line, column, item and what is wrong) before anything is computed.

Items that carry an ``area`` are scored per area, each on its own θ scale: one row per person and area.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .bank.parameters import ParameterSet
from .errors import InputError, Problem
from .fileio import atomic_writer
from .irt.estimation import STATUS_NAMES, AbilityEstimates, Method, estimate

MISSING_TOKENS = frozenset({"", "NA", "na", "N/A", "NaN", "nan", "."})
PROGRESS_BLOCK = 20_000  # persons scored at a time: bounds the (persons × items) temporaries of the estimators
READ_BLOCK = 50_000
MAX_PROBLEMS = 200


@dataclass(frozen=True, eq=False)
class ResponseTable:
    """A validated response file: person ids, the item columns, and integer codes (−1 = not presented).

    ``extra`` maps each column asked for with ``read_responses(..., extra_cols=...)`` to its cells, one stripped
    string a person in the order of ``person_ids`` (``""`` for an empty cell); empty when none was asked for.
    """

    path: str
    person_ids: list[str]
    item_ids: list[str]
    codes: np.ndarray  # (N, C) int16
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_persons(self) -> int:
        return len(self.person_ids)


class PersonScore(BaseModel):
    """One person's estimate in one area (a row of ``digiskill score`` output)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person: str
    area: str | None = Field(None, description="competence area, when the items carry areas")
    theta: float | None = Field(description="ability estimate; null only for an empty pattern under ML/WLE")
    se: float | None = Field(description="standard error of theta")
    n_answered: int = Field(ge=0)
    status: Literal["ok", "empty", "all_min", "all_max", "at_bound"]
    method: Literal["eap", "map", "ml", "wle"]
    parameter_set: str = Field(description="id of the parameter set used")
    provisional: bool = Field(description="true when the parameter set is provisional (not from real response data)")


def read_responses(
    path: str | Path,
    params: ParameterSet | None,
    *,
    id_col: str | None = "person",
    extra_cols: Sequence[str] = (),
    block_rows: int = READ_BLOCK,
) -> ResponseTable:
    """Read and check a response CSV (or Parquet file), with memory near the retained ``int16`` matrix.

    Plain files (header on the first line, integer codes, nothing to report) are parsed column by column by pyarrow's
    multi-threaded CSV reader (:mod:`digiskill.response_files`). Anything else, and every file with a problem, goes
    through the exact reader below, which streams the rows in blocks and reports each problem with file, line,
    column and item. A header with semicolons and no commas (Excel in Danish and other comma-decimal locales) is read
    with ``;`` as the delimiter. A file that is not UTF-8 (e.g. Windows-1252) is refused with how to save it as
    UTF-8. ``.parquet`` files are read with pyarrow: integer (or whole-number float) item columns, null = missing.

    Args:
        path: the CSV or Parquet file.
        params: the parameter set; every item column must be one of its item ids and every response one of its
            categories. ``None`` (for calibration): every item column is an item, responses are codes 0, 1, 2, …
        id_col: name of the person-id column. If the file has no such column, persons are numbered by data row
            (1, 2, …).
        extra_cols: names of further non-item columns (a grouping column, say), returned as raw stripped strings in
            :attr:`ResponseTable.extra` and never parsed or treated as items. Each must be in the header; one may
            be ``id_col``.
        block_rows: rows parsed at a time.

    Raises:
        InputError: every problem found (up to :data:`MAX_PROBLEMS`), each with file, line, column and item; a
            requested extra column that is not in the header is one of them.
    """
    path = Path(path)
    name = str(path)
    extra = tuple(dict.fromkeys(extra_cols))
    if path.suffix.lower() in PARQUET_SUFFIXES:
        from .response_files import read_parquet_responses

        return read_parquet_responses(path, params, id_col=id_col, extra_cols=extra, check_header=_check_header)
    try:
        delimiter = _delimiter(path)
        from .response_files import read_csv_columnar

        table = read_csv_columnar(path, params, id_col, extra, delimiter, _check_header)
        if table is not None:
            return table
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return _read(csv.reader(fh, delimiter=delimiter), name, params, id_col, extra, block_rows)
    except OSError as err:
        raise InputError(Problem(f"cannot read response file: {err.strerror}", path=name)) from err
    except UnicodeDecodeError as err:
        raise InputError(Problem(_not_utf8(path, err), path=name)) from err
    except csv.Error as err:
        raise InputError(Problem(f"not a readable CSV file: {err}", path=name)) from err


PARQUET_SUFFIXES = (".parquet", ".pq")


def read_csv_columnar_for_tests(path: str | Path, extra_cols: tuple[str, ...] = ()) -> ResponseTable | None:
    """The columnar path alone (``None`` when it hands the file to the exact reader); for tests and benchmarks."""
    from .response_files import read_csv_columnar

    path = Path(path)
    return read_csv_columnar(path, None, "person", extra_cols, _delimiter(path), _check_header)


def _delimiter(path: Path) -> str:
    """``;`` when the header line has semicolons and no commas (what Excel writes in Danish and other locales whose
    decimal mark is a comma), otherwise ``,``."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    first = next((line for line in head.removeprefix(b"\xef\xbb\xbf").splitlines() if line.strip()), b"")
    return ";" if b";" in first and b"," not in first else ","


def _not_utf8(path: Path, err: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 is, and how to save the file as UTF-8."""
    line = None
    try:
        with path.open("rb") as fh:
            data = fh.read()
        bad = data.decode("utf-8", errors="replace").find("\ufffd")
        line = data.decode("utf-8", errors="replace")[:bad].count("\n") + 1 if bad >= 0 else None
    except OSError:  # pragma: no cover - the file was readable a moment ago
        pass
    where = f" (line {line})" if line else ""
    return (
        f"not UTF-8 text: byte 0x{err.object[err.start]:02x}{where} is not UTF-8, probably Windows-1252 (ANSI) from "
        "Excel; save the file as 'CSV UTF-8 (comma delimited)' (Excel: File > Save As), or convert it, e.g. "
        "iconv -f cp1252 -t utf-8 in.csv > out.csv"
    )


def _check_header(
    header_row: list[str],
    header_line: int,
    name: str,
    params: ParameterSet | None,
    id_col: str | None,
    extra_cols: tuple[str, ...],
) -> tuple[list[str], int | None, dict[str, int], list[int]]:
    """The stripped header, the person-id column, the extra columns and the item columns; every header problem
    (duplicate columns, a missing extra column, unknown item ids, no item column) raised together."""
    header = [h.strip() for h in header_row]
    problems: list[Problem] = []
    first_col: dict[str, int] = {}
    for col, h in enumerate(header):
        if h in first_col:
            problems.append(
                Problem(f"duplicate column (also column {first_col[h] + 1})", path=name, line=header_line, column=h)
            )
        first_col.setdefault(h, col)
    for col in extra_cols:
        if col not in first_col:
            problems.append(
                Problem(f"no column {col!r}; the header has {', '.join(header)}", path=name, line=header_line)
            )
    id_index = header.index(id_col) if id_col is not None and id_col in header else None
    extra_index = {col: first_col[col] for col in extra_cols if col in first_col}
    item_cols = [c for c in range(len(header)) if c != id_index and c not in extra_index.values()]
    no_id = "" if id_col is None or id_index is not None else f" (and no person-id column {id_col!r})"
    known = params.items_by_id() if params is not None else None
    for c in item_cols if known is not None else ():
        if header[c] not in known:
            problems.append(
                Problem(
                    f"unknown item id {header[c]!r}: not in parameter set {params.id!r}{no_id}",
                    path=name,
                    line=header_line,
                    column=header[c],
                )
            )
    if not item_cols:
        problems.append(Problem("no item columns in the header", path=name, line=header_line))
    if problems:
        raise InputError(problems)
    return header, id_index, extra_index, item_cols


def _read(
    reader, name: str, params: ParameterSet | None, id_col: str | None, extra_cols: tuple[str, ...], block_rows: int
) -> ResponseTable:
    header_row = next((r for r in reader if any(cell.strip() for cell in r)), None)
    if header_row is None:
        raise InputError(Problem("the file is empty: expected a header of item ids and one row per person", path=name))
    header_line = reader.line_num
    header, id_index, extra_index, item_cols = _check_header(header_row, header_line, name, params, id_col, extra_cols)
    problems: list[Problem] = []

    item_ids = [header[c] for c in item_cols]
    n_cat = params.to_arrays(item_ids).n_cat if params is not None else np.full(len(item_ids), 2**15 - 1)
    person_ids: list[str] = []
    extra: dict[str, list[str]] = {col: [] for col in extra_index}
    first_line: dict[str, int] = {}
    blocks: list[np.ndarray] = []
    rows: list[list[str]] = []
    lines: list[int] = []

    def flush() -> None:
        if rows:
            cells = np.array(rows, dtype=str)
            blocks.append(_parse_cells(cells[:, item_cols], np.array(lines), item_ids, n_cat, name, problems))
            rows.clear()
            lines.clear()

    for r in reader:
        if not any(cell.strip() for cell in r):
            continue  # blank line
        line = reader.line_num
        if len(r) != len(header):
            problems.append(Problem(f"{len(r)} fields, expected {len(header)} as in the header", path=name, line=line))
            continue
        if id_index is None:
            person = str(len(person_ids) + 1)
        else:
            person = r[id_index].strip()
            if person == "":
                problems.append(Problem("empty person id", path=name, line=line, column=id_col))
            elif person in first_line:
                problems.append(
                    Problem(
                        f"duplicate person id {person!r} (first on line {first_line[person]})", path=name, line=line
                    )
                )
            else:
                first_line[person] = line
        person_ids.append(person)
        for col, c in extra_index.items():
            extra[col].append(r[c].strip())
        rows.append(r)
        lines.append(line)
        if len(rows) >= block_rows:
            flush()
        if len(problems) >= MAX_PROBLEMS:
            break
    flush()
    if not person_ids and not problems:
        problems.append(Problem("no data rows: the file has a header only", path=name))
    if problems:
        raise InputError(problems)
    return ResponseTable(name, person_ids, item_ids, np.concatenate(blocks), extra)


def _parse_cells(
    cells: np.ndarray, lines: np.ndarray, item_ids: list[str], n_cat: np.ndarray, name: str, problems: list[Problem]
) -> np.ndarray:
    """Integer codes from string cells, via the distinct tokens (there are only a few), checked per item."""
    tokens, inverse = np.unique(np.char.strip(cells), return_inverse=True)
    inverse = inverse.reshape(cells.shape)
    token_codes = np.full(tokens.size, -1, dtype=np.int16)
    bad_token = np.zeros(tokens.size, dtype=bool)
    for t, tok in enumerate(tokens):  # distinct tokens, not cells
        if tok in MISSING_TOKENS:
            continue
        try:
            v = float(tok)
        except ValueError:
            bad_token[t] = True
            continue
        if not np.isfinite(v) or v != round(v) or not -1 < v < 2**15:
            bad_token[t] = True
        else:
            token_codes[t] = int(v)
    codes = token_codes[inverse]
    bad = bad_token[inverse]
    out_of_range = (codes >= n_cat) & ~bad
    room = max(MAX_PROBLEMS - len(problems), 0)
    for row, col in np.argwhere(bad_token[inverse])[:room]:
        problems.append(
            Problem(
                f"value {str(cells[row, col]).strip()!r} is not an integer category: expected 0..K-1 or an empty cell",
                path=name,
                line=int(lines[row]),
                column=item_ids[col],
            )
        )
    room = max(MAX_PROBLEMS - len(problems), 0)
    for row, col in np.argwhere(out_of_range)[:room]:
        problems.append(
            Problem(
                f"response {str(cells[row, col]).strip()} outside the item's categories 0..{n_cat[col] - 1}",
                path=name,
                line=int(lines[row]),
                column=item_ids[col],
            )
        )
    return np.where(bad | out_of_range, -1, codes).astype(np.int16)


def score_table(
    table: ResponseTable,
    params: ParameterSet,
    method: Method = "eap",
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[PersonScore]:
    """Score every person, per area when the items carry areas.

    The estimation runs at once; the returned iterator builds the records (ordered by person, then area) lazily,
    so a large batch is never held twice in memory.
    """
    by_id = params.items_by_id()
    areas = list(dict.fromkeys(by_id[i].area for i in table.item_ids))
    latent = params.calibration.latent if params.calibration else None
    prior_mean, prior_sd = (latent.mean, latent.sd) if latent else (0.0, 1.0)
    per_area: list[tuple[str | None, AbilityEstimates]] = []
    for area in areas:
        cols = [c for c, i in enumerate(table.item_ids) if by_id[i].area == area]
        items = params.to_arrays([table.item_ids[c] for c in cols])
        block = table.codes[:, cols]
        parts = []
        for start in range(0, table.n_persons, PROGRESS_BLOCK):
            part = block[start : start + PROGRESS_BLOCK]
            parts.append(estimate(part, items, method, prior_mean=prior_mean, prior_sd=prior_sd))
            if progress is not None:
                progress(part.shape[0])
        per_area.append((area, _concat(parts, method)))
    return ScoreRecords(table.person_ids, per_area, method, params.id, params.provisional)


class ScoreRecords:
    """The scores of a batch, ordered by person then area: iterate for :class:`PersonScore` records (built lazily);
    :func:`write_scores` writes CSV and JSON Lines straight from the arrays, without a model object per row."""

    def __init__(
        self,
        person_ids: list[str],
        per_area: list[tuple[str | None, AbilityEstimates]],
        method: str,
        set_id: str,
        provisional: bool,
    ) -> None:
        self.person_ids, self.per_area, self.method = person_ids, per_area, method
        self.set_id, self.provisional = set_id, provisional

    def __iter__(self) -> Iterator[PersonScore]:
        return _records(self.person_ids, self.per_area, self.method, self.set_id, self.provisional)

    def rows(self) -> Iterator[tuple[str, str | None, float | None, float | None, int, str]]:
        """``(person, area, theta, se, n_answered, status)`` per person and area, NaN as None."""
        columns = [
            (
                area,
                [None if not np.isfinite(v) else v for v in e.theta.tolist()],
                [None if not np.isfinite(v) else v for v in e.se.tolist()],
                e.n_answered.tolist(),
                [STATUS_NAMES[s] for s in e.status],
            )
            for area, e in self.per_area
        ]
        for n, person in enumerate(self.person_ids):  # output rows: one per person and area
            for area, theta, se, n_ans, status in columns:
                yield person, area, theta[n], se[n], n_ans[n], status[n]


def _concat(parts: list[AbilityEstimates], method: str) -> AbilityEstimates:
    return AbilityEstimates(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("theta", "se", "n_answered", "status")),
        method=method,
    )


def _records(
    person_ids: list[str],
    per_area: list[tuple[str | None, AbilityEstimates]],
    method: str,
    set_id: str,
    provisional: bool,
) -> Iterator[PersonScore]:
    def num(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    columns = [
        (area, e.theta.tolist(), e.se.tolist(), e.n_answered.tolist(), [STATUS_NAMES[s] for s in e.status])
        for area, e in per_area
    ]
    for n, person in enumerate(person_ids):
        for area, theta, se, n_ans, status in columns:
            yield PersonScore.model_construct(
                person=person,
                area=area,
                theta=num(theta[n]),
                se=num(se[n]),
                n_answered=n_ans[n],
                status=status[n],
                method=method,
                parameter_set=set_id,
                provisional=provisional,
            )


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
