"""``digiskill score`` end to end: real output, per-area scoring, and every kind of bad input (exit 2, no file)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digiskill.cli.main import app
from digiskill.results.scoring import PersonScore

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_scores_the_bundled_example(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    res = run("score", LSAT7 / "responses.csv", "--params", LSAT7 / "params-mirt.json", "--out", out)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1000
    assert list(rows[0]) == ["person", "theta", "se", "n_answered", "status", "provisional"]
    assert rows[0]["provisional"] == "false"
    # P0001 answered 00000: the EAP equals mirt's EAPsum for sum score 0 (-1.86979, SE 0.6927)
    assert rows[0]["person"] == "P0001" and rows[0]["status"] == "all_min"
    assert float(rows[0]["theta"]) == pytest.approx(-1.86979, abs=1e-4)
    assert float(rows[0]["se"]) == pytest.approx(0.6927032, abs=1e-4)
    assert rows[-1]["status"] == "all_max" and float(rows[-1]["theta"]) == pytest.approx(0.7271877, abs=1e-4)


def test_jsonl_output_follows_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    res = run("score", LSAT7 / "responses.csv", "--params", LSAT7 / "params-mirt.json", "--method", "ml", "--out", out)
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1000
    first = PersonScore.model_validate_json(lines[0])
    assert first.method == "ml" and first.status == "all_min" and first.theta == -6.0
    assert first.parameter_set == "lsat7-2pl-mirt"


def _area_params(tmp_path: Path) -> Path:
    items = [
        {"id": "A1", "model": "2pl", "a": 1.2, "b": -0.5, "area": "security_gdpr"},
        {"id": "A2", "model": "2pl", "a": 0.9, "b": 0.4, "area": "security_gdpr"},
        {"id": "B1", "model": "gpcm", "a": 1.0, "b": [-0.5, 0.5], "area": "workflows"},
        {"id": "B2", "model": "2pl", "a": 1.4, "b": 0.0, "area": "workflows"},
    ]
    p = tmp_path / "areas.json"
    p.write_text(
        json.dumps(
            {
                "schema": "digiskill.parameters/1",
                "id": "areas",
                "created": "2026-01-01T00:00:00Z",
                "engine": "test",
                "items": items,
            }
        )
    )
    return p


def test_items_with_areas_give_one_row_per_person_and_area(tmp_path: Path) -> None:
    resp = tmp_path / "r.csv"
    resp.write_text("person,A1,A2,B1,B2\nanna,1,0,2,1\nbo,,NA,0,\ncarl,,,,\n")
    res = run("score", resp, "--params", _area_params(tmp_path))
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert [(r["person"], r["area"]) for r in rows] == [
        ("anna", "security_gdpr"),
        ("anna", "workflows"),
        ("bo", "security_gdpr"),
        ("bo", "workflows"),
        ("carl", "security_gdpr"),
        ("carl", "workflows"),
    ]
    assert [r["n_answered"] for r in rows] == ["2", "2", "0", "1", "0", "0"]
    assert rows[2]["status"] == "empty" and float(rows[2]["theta"]) == pytest.approx(0.0, abs=1e-9)
    assert rows[3]["status"] == "all_min"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("person,Item.1,Bogus\nP1,1,0\n", ["r.csv:1", "column 'Bogus'", "unknown item id 'Bogus'"]),
        (
            "person,Item.1,Item.2\nP1,1,0\nP2,2,0\n",
            ["r.csv:3", "column 'Item.1'", "response 2 outside the item's categories 0..1"],
        ),
        ("person,Item.1,Item.2\nP1,1,yes\n", ["r.csv:2", "column 'Item.2'", "value 'yes' is not an integer category"]),
        ("person,Item.1,Item.2\nP1,1,0\nP1,0,0\n", ["r.csv:3", "duplicate person id 'P1' (first on line 2)"]),
        ("", ["r.csv", "the file is empty"]),
        ("person,Item.1\n", ["no data rows"]),
        ("person,Item.1,Item.2\nP1,1\n", ["r.csv:2", "2 fields, expected 3"]),
        ("person,Item.1,Item.2\nP1,0.5,1\n", ["r.csv:2", "value '0.5' is not an integer category"]),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, content: str, expected: list[str]) -> None:
    resp = tmp_path / "r.csv"
    resp.write_text(content)
    out = tmp_path / "out.csv"
    res = run("score", resp, "--params", LSAT7 / "params-mirt.json", "--out", out)
    assert res.exit_code == 2
    for text in expected:
        assert text in res.stderr, res.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [resp]


def test_invalid_parameter_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(
        json.dumps(
            {
                "schema": "digiskill.parameters/1",
                "id": "x",
                "created": "2026-01-01T00:00:00Z",
                "engine": "t",
                "items": [{"id": "Item.1", "model": "grm", "a": 1, "b": [1, 0]}],
            }
        )
    )
    res = run("score", LSAT7 / "responses.csv", "--params", bad)
    assert res.exit_code == 2
    assert "p.json" in res.stderr and "item 'Item.1'" in res.stderr and "strictly increasing" in res.stderr


def test_unknown_method_is_a_usage_error() -> None:
    res = run("score", LSAT7 / "responses.csv", "--params", LSAT7 / "params-mirt.json", "--method", "bayes")
    assert res.exit_code == 2


def test_line_numbers_survive_blank_lines_and_blocks(tmp_path: Path) -> None:
    from digiskill.bank import load_parameter_set
    from digiskill.bank.responses import read_responses
    from digiskill.errors import InputError

    params = load_parameter_set(LSAT7 / "params-mirt.json")
    resp = tmp_path / "r.csv"
    resp.write_text("person,Item.1,Item.2\n\nP1,1,0\nP2,0,1\n\nP3,1,9\nP4,,1\n")
    with pytest.raises(InputError) as info:
        read_responses(resp, params, block_rows=2)  # P3 falls in the second block
    assert [(p.line, p.column) for p in info.value.problems] == [(6, "Item.2")]
    resp.write_text("person,Item.1,Item.2\n\nP1,1,0\nP2,0,1\n\nP3,1,\nP4,,1\n")
    table = read_responses(resp, params, block_rows=2)
    assert table.person_ids == ["P1", "P2", "P3", "P4"]
    assert table.codes.tolist() == [[1, 0], [0, 1], [1, -1], [-1, 1]]


def test_extra_columns_are_returned_as_strings_and_are_not_items(tmp_path: Path) -> None:
    from digiskill.bank import load_parameter_set
    from digiskill.bank.responses import read_responses
    from digiskill.errors import InputError

    params = load_parameter_set(LSAT7 / "params-mirt.json")
    resp = tmp_path / "r.csv"
    resp.write_text("person,group,Item.1,site,Item.2\nP1,da,1, A ,0\n\nP2,other,0,,1\nP3,da,1,7.5,\n")
    table = read_responses(resp, params, extra_cols=["group", "site"], block_rows=2)
    assert table.item_ids == ["Item.1", "Item.2"]
    assert table.person_ids == ["P1", "P2", "P3"]
    assert table.codes.tolist() == [[1, 0], [0, 1], [1, -1]]
    assert table.extra == {"group": ["da", "other", "da"], "site": ["A", "", "7.5"]}  # raw, stripped, never parsed
    # calibration (no parameter set): the extra columns are still not items
    assert read_responses(resp, None, extra_cols=["site", "group"]).item_ids == ["Item.1", "Item.2"]
    # the id column may be asked for too; a repeated name is read once
    both = read_responses(resp, params, extra_cols=["person", "group", "site", "group"])
    assert list(both.extra) == ["person", "group", "site"] and both.extra["person"] == ["P1", "P2", "P3"]
    assert both.item_ids == ["Item.1", "Item.2"]
    # without extra_cols the same columns are item columns, unknown to the parameter set
    with pytest.raises(InputError) as info:
        read_responses(resp, params)
    assert [(p.line, p.column) for p in info.value.problems] == [(1, "group"), (1, "site")]
    assert read_responses(LSAT7 / "responses.csv", params).extra == {}


def test_missing_extra_column_is_reported_with_the_file_and_other_problems(tmp_path: Path) -> None:
    from digiskill.bank import load_parameter_set
    from digiskill.bank.responses import read_responses
    from digiskill.errors import InputError

    params = load_parameter_set(LSAT7 / "params-mirt.json")
    resp = tmp_path / "r.csv"
    resp.write_text("person,Item.1,Item.9\nP1,1,0\n")
    with pytest.raises(InputError) as info:
        read_responses(resp, params, extra_cols=["group"])
    messages = [str(p) for p in info.value.problems]
    assert messages[0] == f"{resp}:1: no column 'group'; the header has person, Item.1, Item.9"
    assert [(p.path, p.line, p.column) for p in info.value.problems] == [(str(resp), 1, None), (str(resp), 1, "Item.9")]
    assert "unknown item id 'Item.9'" in messages[1]
