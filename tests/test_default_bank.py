"""The bundled default bank: content + provisional parameters + cut scores, also after a non-editable install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digiskill.bank.content import load_bank_content
from digiskill.bank.cut_scores import rp_locations, set_cut_scores
from digiskill.bank.default import load_default
from digiskill.irt import ItemArrays

ROOT = Path(__file__).resolve().parents[1]


def test_default_bank_is_complete_and_marked_provisional() -> None:
    bank = load_default()
    assert len(bank.params.items) == 288
    assert bank.areas == list(bank.content.framework.area_ids)
    assert bank.provisional and "SIMULATED" in bank.params.provenance
    assert bank.cut_scores.provisional and bank.cut_scores.parameter_set == bank.params.id
    for area in bank.areas:
        cuts = bank.cut_scores.areas[area].cuts
        assert sorted(cuts) == [1, 2, 3, 4, 5, 6]
        values = [cuts[level] for level in sorted(cuts)]
        assert all(np.diff(values) > 0) and -3 < values[0] < values[-1] < 4


def test_stored_cut_scores_follow_from_the_stored_parameters() -> None:
    bank = load_default()
    again = set_cut_scores(bank.params, load_bank_content(ROOT / "items"))
    assert again.areas == bank.cut_scores.areas


def test_rp67_location_of_a_2pl_item() -> None:
    items = ItemArrays.dichotomous([1.5, 0.7], [0.2, -1.0])
    expected = np.array([0.2, -1.0]) + np.log(0.67 / 0.33) / np.array([1.5, 0.7])
    np.testing.assert_allclose(rp_locations(items), expected, atol=1e-6)


@pytest.mark.slow
def test_load_default_after_a_non_editable_install(tmp_path: Path) -> None:
    site = tmp_path / "site"  # a regular (non-editable) install: pip builds the wheel and unpacks it here
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", site, ROOT],
        check=True,
        capture_output=True,
    )
    code = (
        "import digiskill, digiskill.bank.default as d; b = d.load_default(); "
        "print(digiskill.__file__); print(len(b.params.items), b.provisional)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    where, summary = out.stdout.strip().splitlines()
    assert where.startswith(str(site))  # the installed copy, not the checkout
    assert summary == "288 True"
    assert not (site / "digiskill" / "data" / "items").is_symlink()


def test_the_default_bank_is_read_once_until_a_file_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from digiskill.bank import default

    first = default.load_default()
    assert default.load_default() is first  # same files: the bank already read
    real = default._signature
    monkeypatch.setattr(default, "_signature", lambda parts: (*real(parts), ("edited", 1, 1)))
    again = default.load_default()
    assert again is not first  # a changed size or modification time: read again
    assert again.params.id == first.params.id and len(again.params.items) == len(first.params.items)
    assert default.load_default() is again


def test_the_bank_signature_sees_a_touched_file(tmp_path: Path) -> None:
    from digiskill.bank.default import _signature

    (tmp_path / "items" / "areas").mkdir(parents=True)
    area = tmp_path / "items" / "areas" / "a.yaml"
    area.write_text("x: 1\n")
    params = tmp_path / "p.json"
    params.write_text("{}")
    before = _signature((tmp_path / "items", params))
    assert [Path(name).name for name, _, _ in before] == ["a.yaml", "p.json"]
    os.utime(area, ns=(area.stat().st_atime_ns, area.stat().st_mtime_ns + 1_000_000))
    assert _signature((tmp_path / "items", params)) != before
