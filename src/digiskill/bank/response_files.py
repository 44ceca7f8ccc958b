"""Columnar readers for response files: pyarrow's multi-threaded CSV parser, and Parquet.

:func:`read_csv_columnar` is the fast path of :func:`~digiskill.bank.responses.read_responses`. It accepts only what
the exact reader would accept unchanged: the header on the first line, integer codes or a missing token in every item
cell, a non-empty unique person id per row, no blank rows, no code outside the item's categories. For anything else it
returns ``None`` and the exact reader runs, so every message (file, line, column, item) comes from one place. Memory
stays near the ``(N, C)`` ``int16`` matrix: the item columns are parsed straight to ``int16``, all at once on every core
when the Arrow table takes at most 64 MB more, else streamed block by block.

:func:`read_parquet_responses` reads a Parquet file: one column per item (integers, or floats holding whole numbers;
null = not presented), an optional person-id column and extra columns read as strings.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError, Problem
from .responses import MISSING_TOKENS  # one list of the tokens that mean "not presented"

if TYPE_CHECKING:
    from .parameters import ParameterSet
    from .responses import ResponseTable

MAX_CODE = 2**15 - 1
BLOCK_BYTES = 1 << 21  # text parsed per block
WHOLE_TABLE_BYTES = 64 * 2**20  # parse at once, on all cores, when the Arrow table takes at most this
HeaderCheck = Callable[..., tuple[list[str], int | None, dict[str, int], list[int]]]


def read_csv_columnar(
    path: Path,
    params: ParameterSet | None,
    id_col: str | None,
    extra_cols: tuple[str, ...],
    delimiter: str,
    check_header: HeaderCheck,
) -> ResponseTable | None:
    """The response table of a plain CSV file, or ``None`` when the exact reader must look at it."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a core dependency; the exact reader still works without it
        return None
    name = str(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:  # the header line only
        header_row = next(csv.reader(fh, delimiter=delimiter), None)
    if not header_row or not any(cell.strip() for cell in header_row):
        return None
    header, id_index, extra_index, item_cols = check_header(header_row, 1, name, params, id_col, extra_cols)
    string_cols = {c for c in (id_index, *extra_index.values()) if c is not None}
    names = [f"c{c}" for c in range(len(header))]
    n_cat = params.to_arrays([header[c] for c in item_cols]).n_cat if params is not None else None
    limit = np.full(len(item_cols), MAX_CODE) if n_cat is None else np.asarray(n_cat)
    with path.open("rb") as fh:  # rows at most: the line count (blank lines are skipped below)
        capacity = sum(block.count(b"\n") + 1 for block in iter(lambda: fh.read(1 << 24), b""))
    codes = np.empty((capacity, len(item_cols)), dtype=np.int16)
    strings: dict[int, list[str]] = {c: [] for c in string_cols}
    n = 0
    try:
        options = {
            "read_options": pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
            "parse_options": pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            "convert_options": pacsv.ConvertOptions(
                column_types={nm: pa.string() if c in string_cols else pa.int16() for c, nm in enumerate(names)},
                null_values=sorted(MISSING_TOKENS),
                strings_can_be_null=False,
                quoted_strings_can_be_null=True,
            ),
        }
        # A file whose Arrow table (2 bytes a cell) fits in WHOLE_TABLE_BYTES is parsed at once, its blocks in
        # parallel; a larger one streams block by block, so memory stays near the matrix alone.
        if capacity * len(names) * 2 <= WHOLE_TABLE_BYTES:
            batches = pacsv.read_csv(path, **options).to_batches()
        else:
            batches = pacsv.open_csv(path, **options)
        for batch in batches:  # blocks of about 2 MB of text
            rows = batch.num_rows
            if n + rows > capacity:
                return None
            values = np.empty((len(item_cols), rows), dtype=np.int16)  # item by item, then one transposed copy
            presented = np.empty((len(item_cols), rows), dtype=bool)
            for k, c in enumerate(item_cols):
                values[k], presented[k] = _column_values(batch.column(c), np.int16)
            if (((values < 0) | (values >= limit[:, None])) & presented).any():
                return None  # a code outside the categories: the exact reader names its line
            np.copyto(values, -1, where=~presented)
            codes[n : n + rows] = values.T
            for c in string_cols:
                strings[c] += [cell.strip() for cell in batch.column(c).to_pylist()]
            n += rows
    except (pa.ArrowException, ValueError, OSError, UnicodeError):  # any problem: the exact reader reports it
        return None
    if n == 0:
        return None
    codes = codes[:n]
    if id_index is not None:
        person_ids = strings[id_index]
        if "" in person_ids or len(set(person_ids)) != n:
            return None  # empty or duplicate ids (or blank rows): reported with their lines by the exact reader
    else:
        person_ids = [str(i) for i in range(1, n + 1)]
        blank = (codes < 0).all(axis=1)
        for c in extra_index.values():
            blank &= np.array([s == "" for s in strings[c]])
        if blank.any():
            return None  # a row of empty cells is a blank line to the exact reader, not a person
    from .responses import ResponseTable

    extra = {col: strings[c] for col, c in extra_index.items()}
    return ResponseTable(name, person_ids, [header[c] for c in item_cols], codes, extra)


def _column_values(column: Any, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """The values and the presented-mask of a fixed-width Arrow array of ``dtype``, read from its buffers without a
    copy (the values under a null are whatever the buffer holds).

    Arrow's scalar conversions (``fill_null(-1)``, ``pa.scalar``) import pandas when it is installed, which costs
    0.2 s per process; the buffers are plain memory (values, and a little-endian validity bitmap when there are nulls).
    """
    n, offset = len(column), column.offset
    validity, data = column.buffers()
    values = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
    if validity is None or column.null_count == 0:
        return values, np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=offset + n, bitorder="little")
    return values, bits[offset:].view(bool)


def read_parquet_responses(
    path: Path,
    params: ParameterSet | None,
    *,
    id_col: str | None,
    extra_cols: Sequence[str],
    check_header: HeaderCheck,
) -> ResponseTable:
    """Read a Parquet response file; problems name the file, the column and the row (1-based data row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table = pq.read_table(path)
    except OSError as err:
        raise InputError(Problem(f"cannot read response file: {err}", path=name)) from err
    except (pa.ArrowException, ValueError) as err:
        raise InputError(Problem(f"not a readable Parquet file: {err}", path=name)) from err
    header, id_index, extra_index, item_cols = check_header(table.column_names, None, name, params, id_col, extra_cols)
    n = table.num_rows
    if n == 0:
        raise InputError(Problem("no data rows", path=name))
    n_cat = params.to_arrays([header[c] for c in item_cols]).n_cat if params is not None else None
    problems: list[Problem] = []
    codes = np.empty((n, len(item_cols)), dtype=np.int16)
    for k, c in enumerate(item_cols):
        column: Any = table.column(c)
        item = header[c]
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            problems.append(Problem(f"item column of type {column.type}; expected integer codes", name, column=item))
            continue
        values, valid = _column_values(column.cast(pa.float64()).combine_chunks(), np.float64)
        values = np.where(valid, values, -1.0)
        limit = MAX_CODE if n_cat is None else int(n_cat[k])
        bad = valid & ~((values == np.round(values)) & (values >= 0) & (values < limit))
        for row in np.flatnonzero(bad)[:5]:
            problems.append(
                Problem(
                    f"row {row + 1}: value {values[row]:g} is not a category 0..{limit - 1}", path=name, column=item
                )
            )
        codes[:, k] = np.where(bad, -1, values).astype(np.int16)
    strings = {
        c: ["" if v is None else str(v).strip() for v in table.column(c).to_pylist()]
        for c in (id_index, *extra_index.values())
        if c is not None
    }
    if id_index is not None:
        person_ids = strings[id_index]
        seen: dict[str, int] = {}
        for row, person in enumerate(person_ids):  # ids, once each
            if person == "":
                problems.append(Problem(f"row {row + 1}: empty person id", path=name, column=id_col))
            elif person in seen:
                problems.append(
                    Problem(f"row {row + 1}: duplicate person id {person!r} (first in row {seen[person] + 1})", name)
                )
            else:
                seen[person] = row
    else:
        person_ids = [str(i) for i in range(1, n + 1)]
    if problems:
        raise InputError(problems)
    from .responses import ResponseTable

    extra = {col: strings[c] for col, c in extra_index.items()}
    return ResponseTable(name, person_ids, [header[c] for c in item_cols], codes, extra)
