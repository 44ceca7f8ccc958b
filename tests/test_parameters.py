"""The parameter-set file: validation with clear errors, round trip, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digiskill.bank import ParameterSet, load_parameter_set
from digiskill.cli.schema_export import PUBLIC_MODELS, json_schema
from digiskill.errors import ParameterFileError
from digiskill.irt import GRADED, PARTIAL_CREDIT

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "schema": "digiskill.parameters/1",
    "id": "t",
    "created": "2026-01-01T00:00:00Z",
    "engine": "digiskill 0.1.0",
}


def write(tmp_path: Path, items: list[dict], **extra) -> Path:
    p = tmp_path / "params.json"
    p.write_text(json.dumps({**BASE, **extra, "items": items}))
    return p


def test_example_from_the_issue_validates_and_converts(tmp_path: Path) -> None:
    items = [
        {"id": "Item.1", "model": "2pl", "a": 0.988, "b": -1.879, "c": 0.0, "d": 1.0, "se": {"a": 0.18, "b": 0.21}},
        {"id": "Comfort", "model": "grm", "a": 1.04, "b": [-4.67, -2.54, 1.41]},
        {"id": "Q7", "model": "gpcm", "a": 0.9, "b": [-1.2, 0.3, 1.1], "area": "basic_it"},
        {"id": "R", "model": "rasch", "b": 0.3},
        {"id": "G", "model": "3pl", "a": 1.2, "b": 0.1, "c": 0.2},
        {"id": "P", "model": "pcm", "b": [0.5]},
    ]
    calibration = {"model": "mixed", "loglik": -10.0, "iterations": 3, "converged": True, "n_persons": 10}
    ps = load_parameter_set(write(tmp_path, items, calibration=calibration))
    arr = ps.to_arrays()
    assert arr.ids == ("Item.1", "Comfort", "Q7", "R", "G", "P")
    np.testing.assert_array_equal(arr.n_cat, [2, 4, 4, 2, 2, 2])
    assert list(arr.family) == [0, GRADED, PARTIAL_CREDIT, 0, 0, PARTIAL_CREDIT]
    assert arr.c[4] == 0.2 and arr.a[3] == 1.0
    np.testing.assert_allclose(arr.b[1], [-4.67, -2.54, 1.41])
    assert np.isnan(arr.b[0, 1])
    # round trip through the atomic writer
    out = tmp_path / "again.json"
    ps.save(out)
    assert load_parameter_set(out) == ps
    assert json.loads(out.read_text())["schema"] == "digiskill.parameters/1"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "X", "model": "grm", "a": 1.0, "b": [0.5, 0.1]}, "strictly increasing"),
        ({"id": "X", "model": "rasch", "a": 0.7, "b": 0.0}, "rasch item has slope a = 1"),
        ({"id": "X", "model": "2pl", "a": 1.0, "b": 0.0, "c": 0.2}, "c = 0 and d = 1"),
        ({"id": "X", "model": "2pl", "a": -1.0, "b": 0.0}, "greater than 0"),
        ({"id": "X", "model": "5pl", "a": 1.0, "b": 0.0}, "does not match any of the expected tags"),
        ({"id": "X", "model": "2pl", "a": 1.0, "b": 0.0, "slope": 2}, "Extra inputs are not permitted"),
        ({"id": "X", "model": "4pl", "a": 1.0, "b": 0.0, "c": 0.5, "d": 0.4}, "must be below upper asymptote"),
    ],
)
def test_invalid_items_are_named_in_the_error(tmp_path: Path, item: dict, message: str) -> None:
    ok = {"id": "OK", "model": "2pl", "a": 1.0, "b": 0.0}
    path = write(tmp_path, [ok, item])
    with pytest.raises(ParameterFileError) as info:
        load_parameter_set(path)
    text = str(info.value)
    assert message in text
    assert "item 'X'" in text and str(path) in text


def test_duplicate_ids_and_broken_json(tmp_path: Path) -> None:
    it = {"id": "A", "model": "2pl", "a": 1.0, "b": 0.0}
    with pytest.raises(ParameterFileError, match="duplicate item id"):
        load_parameter_set(write(tmp_path, [it, it]))
    bad = tmp_path / "broken.json"
    bad.write_text('{"schema": "digiskill.parameters/1",\n "id": }')
    with pytest.raises(ParameterFileError, match=r"broken.json:2: not valid JSON"):
        load_parameter_set(bad)
    with pytest.raises(ParameterFileError, match="cannot read"):
        load_parameter_set(tmp_path / "missing.json")


def test_bundled_examples_validate() -> None:
    for path in sorted((ROOT / "examples").glob("*/params*.json")):
        ps = load_parameter_set(path)
        assert isinstance(ps, ParameterSet) and ps.provenance


@pytest.mark.parametrize("name", list(PUBLIC_MODELS))
def test_committed_json_schemas_are_current(name: str) -> None:
    committed = json.loads((ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text())
    assert committed == json_schema(name), "run: digiskill schema --out-dir docs/schemas"
