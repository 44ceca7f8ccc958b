"""Scores written straight from the arrays equal those written record by record (issue 16: `score` on a large CAT log
must not build a model object per row)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digiskill.bank import load_parameter_set
from digiskill.bank.default import load_default
from digiskill.bank.responses import ResponseTable
from digiskill.cli.score import write_scores
from digiskill.results.scoring import ScoreRecords, score_table

LSAT7 = Path(__file__).resolve().parents[1] / "examples" / "lsat7"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("method", ["eap", "ml"])
def test_columnar_output_equals_record_output(fmt: str, method: str) -> None:
    params = load_parameter_set(LSAT7 / "params-mirt.json")
    codes = np.array([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, -1, 1, 0], [-1, -1, -1, -1, -1]], dtype=np.int16)
    table = ResponseTable("t.csv", ["a", "b,c", 'd"e', "f"], list(params.item_ids), codes)
    scores = score_table(table, params, method)
    assert isinstance(scores, ScoreRecords)
    fast = write_scores(scores, None, fmt, with_area=False)
    slow = write_scores(list(scores), None, fmt, with_area=False)
    assert fast == slow
    assert fast.count("\n") == 4 + (fmt == "csv")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_columnar_output_with_areas(fmt: str) -> None:
    params = load_default().params
    ids = list(params.item_ids)[::4][:40]  # items of several areas
    rng = np.random.default_rng(2)
    codes = np.where(rng.random((30, 40)) < 0.5, rng.integers(0, 2, (30, 40)), -1).astype(np.int16)
    table = ResponseTable("t.csv", [f"p{i}" for i in range(30)], ids, codes)
    scores = score_table(table, params, "eap")
    fast = write_scores(scores, None, fmt, with_area=True)
    assert fast == write_scores(list(scores), None, fmt, with_area=True)
    rows = list(scores)
    assert len({r.area for r in rows}) > 1
    assert len(fast.splitlines()) == len(rows) + int(fmt == "csv")
