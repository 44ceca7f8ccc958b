"""The columnar response reader (pyarrow) agrees with the exact reader, and no input makes the reader crash.

Issue 16: semicolon-separated files (Danish Excel), Windows-1252 files with a way out, Parquet input, and arbitrary
bytes as a response file give an InputError and never another exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digiskill.bank import load_parameter_set, responses
from digiskill.bank.responses import read_responses
from digiskill.errors import InputError

LSAT7 = Path(__file__).resolve().parents[1] / "examples" / "lsat7"


@pytest.mark.parametrize("whole", [True, False], ids=["parsed-at-once", "streamed"])
def test_columnar_reader_gives_the_exact_readers_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    from digiskill.bank import response_files

    monkeypatch.setattr(response_files, "BLOCK_BYTES", 4096)  # several blocks of rows
    if not whole:
        monkeypatch.setattr(response_files, "WHOLE_TABLE_BYTES", 0)
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, (500, 12))
    codes[rng.random(codes.shape) < 0.6] = -1
    lines = ["person,group," + ",".join(f"i{j}" for j in range(12))]
    for n, row in enumerate(codes):
        cells = ["" if c < 0 else str(c) for c in row]
        cells[0] = "NA" if row[0] < 0 else cells[0]
        lines.append(f"p{n},{'ab'[n % 2]}," + ",".join(cells))
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n")
    fast = responses.read_csv_columnar_for_tests(path, ("group",))
    assert fast is not None  # a plain file takes the columnar path
    with path.open(newline="") as fh:
        import csv

        exact = responses._read(csv.reader(fh), str(path), None, "person", ("group",), 100)
    assert fast.person_ids == exact.person_ids
    assert fast.item_ids == exact.item_ids == [f"i{j}" for j in range(12)]
    assert fast.codes.dtype == np.int16
    np.testing.assert_array_equal(fast.codes, exact.codes)
    np.testing.assert_array_equal(fast.codes, codes)
    assert fast.extra == exact.extra


def test_semicolon_file_from_danish_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbfperson;Item.1;Item.2\r\nP1;1;0\r\nP2;;1\r\n")
    table = read_responses(path, load_parameter_set(LSAT7 / "params-mirt.json"))
    assert table.person_ids == ["P1", "P2"]
    assert table.codes.tolist() == [[1, 0], [-1, 1]]


def test_windows_1252_file_is_refused_with_how_to_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("person,Item.1,Item.2\nP1,1,0\nSøren,0,1\n".encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_responses(path, None)
    text = str(info.value)
    assert "r.csv" in text and "line 3" in text and "0xf8" in text and "CSV UTF-8" in text


def test_parquet_input(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"person": ["a", "b"], "Item.1": [1, None], "Item.2": [0.0, 1.0]}), path)
    table = read_responses(path, load_parameter_set(LSAT7 / "params-mirt.json"))
    assert table.person_ids == ["a", "b"]
    assert table.codes.tolist() == [[1, 0], [-1, 1]]
    pq.write_table(pa.table({"person": ["a", "a"], "Item.1": [1, 2], "Item.2": [0.5, 1.0]}), path)
    with pytest.raises(InputError) as info:
        read_responses(path, load_parameter_set(LSAT7 / "params-mirt.json"))
    text = str(info.value)
    assert "column 'Item.1': row 2: value 2 is not a category 0..1" in text
    assert "value 0.5" in text and "duplicate person id 'a'" in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | st.text(alphabet='pi,;01 2\n\r"NA.é', max_size=120).map(str.encode))
def test_arbitrary_bytes_give_input_error_or_a_table(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    try:
        table = read_responses(path, None)
    except InputError:
        return
    assert table.codes.dtype == np.int16
    assert table.codes.shape == (len(table.person_ids), len(table.item_ids))
    assert len(set(table.person_ids)) == len(table.person_ids)
