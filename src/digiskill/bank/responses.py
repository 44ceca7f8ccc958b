"""The response reader: read a response CSV (or Parquet file) and check it against a parameter set.

Response CSV: a header of item ids, one row per person, an optional person-id column, values ``0..K−1``; an empty
cell, ``NA`` or ``NaN`` means "not presented". Other named columns (a grouping column, say) can be read along as raw
strings with ``read_responses(..., extra_cols=[...])``; they are never items. Every problem in the file is collected
and reported together (file, line, column, item and what is wrong) before anything is computed.

Scoring the table is :func:`digiskill.results.scoring.score_table`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, Problem
from .parameters import ParameterSet

MISSING_TOKENS = frozenset({"", "NA", "na", "N/A", "NaN", "nan", "."})
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
    multi-threaded CSV reader (:mod:`digiskill.bank.response_files`). Anything else, and every file with a problem, goes
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
    checks = (
        (bad, lambda v, col: f"value {v!r} is not an integer category: expected 0..K-1 or an empty cell"),
        (out_of_range, lambda v, col: f"response {v} outside the item's categories 0..{n_cat[col] - 1}"),
    )
    for mask, message in checks:
        room = max(MAX_PROBLEMS - len(problems), 0)
        for row, col in np.argwhere(mask)[:room]:
            value = str(cells[row, col]).strip()
            problems.append(Problem(message(value, col), path=name, line=int(lines[row]), column=item_ids[col]))
    return np.where(bad | out_of_range, -1, codes).astype(np.int16)
