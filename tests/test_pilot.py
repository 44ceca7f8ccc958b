"""The simulated pilot design: linked booklets, documented generating parameters, correlated areas."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from digiskill.bank.content import load_bank_content

ROOT = Path(__file__).resolve().parents[1]


def _pilot_module():
    """calibration/provisional/pilot.py, which lives beside its only user (run.py), not in the package."""
    spec = importlib.util.spec_from_file_location("pilot", ROOT / "calibration" / "provisional" / "pilot.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_PILOT = _pilot_module()
LEVEL_LOCATION, N_ANCHORS, simulate_pilot = _PILOT.LEVEL_LOCATION, _PILOT.N_ANCHORS, _PILOT.simulate_pilot


@pytest.fixture(scope="module")
def pilot():
    return simulate_pilot(load_bank_content(ROOT / "items"), n_per_area=1200, seed=7)


def test_design_links_every_form_through_anchors(pilot) -> None:
    for area in pilot.areas:
        assert len(area.anchors) == N_ANCHORS
        assert all(set(area.anchors) <= set(f) for f in area.forms)
        assert set().union(*map(set, area.forms)) == set(area.items.ids)  # every item is in some form
        answered = np.isfinite(area.responses).sum(axis=1)
        assert set(answered) <= {len(f) for f in area.forms}
        assert area.responses.shape[0] == 1200


def test_each_simulee_answers_one_form_in_each_of_two_areas(pilot) -> None:
    counts: dict[str, int] = {}
    for area in pilot.areas:
        for pid, n in zip(area.person_ids, np.isfinite(area.responses).sum(axis=1), strict=True):
            counts[pid] = counts.get(pid, 0) + int(n)
    sizes = {len(f) for area in pilot.areas for f in area.forms}
    assert set(counts.values()) <= {s + t for s in sizes for t in sizes}
    assert set(counts.values()) <= set(range(42, 45))  # 48 items per area: forms of 21-22 items
    assert len(counts) == 1200 * 6 // 2


def test_generating_locations_follow_intended_levels(pilot) -> None:
    content = load_bank_content(ROOT / "items")
    level = {it.id: it.level for it in content.items}
    for area in pilot.areas:
        loc = np.array([np.nanmean(area.items.b[j]) for j in range(area.items.n_items)])
        lv = np.array([LEVEL_LOCATION[level[i]] for i in area.items.ids])
        assert np.corrcoef(loc, lv)[0, 1] > 0.85
        # harder items are answered correctly less often
        p = np.nanmean(area.responses / (area.items.n_cat - 1), axis=0)
        assert np.corrcoef(p, lv)[0, 1] < -0.7


def test_abilities_are_correlated_across_areas(pilot) -> None:
    a, b = pilot.areas[0], pilot.areas[1]
    shared = sorted(set(a.person_ids) & set(b.person_ids))
    ia = {p: n for n, p in enumerate(a.person_ids)}
    ib = {p: n for n, p in enumerate(b.person_ids)}
    r = np.corrcoef([a.theta[ia[p]] for p in shared], [b.theta[ib[p]] for p in shared])[0, 1]
    assert r == pytest.approx(0.6, abs=0.08)
