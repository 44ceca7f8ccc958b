"""The DigComp 3.0 mapping in ``items/framework.yaml`` and the AI-competence items.

The 3.0 mapping is optional data beside the 2.2 one: a framework without it still validates, a malformed one is
refused with a clear message, and the real bank maps every area and every level 1–8.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from digiskill.bank.content import Framework

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT / "items"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load((ITEMS / "framework.yaml").read_text(encoding="utf-8"))


def test_real_framework_maps_every_area_and_level(raw: dict[str, Any]) -> None:
    fw = Framework.model_validate(raw)
    assert fw.digcomp_version == "2.2" and fw.digcomp3 is not None and fw.digcomp3.version == "3.0"
    assert "JRC144121" in fw.digcomp3.reference
    assert [fw.digcomp3.level_of(lv).id for lv in range(1, 9)] == [
        "basic", "basic", "intermediate", "intermediate", "advanced", "advanced", "highly_advanced", "highly_advanced"
    ]  # fmt: skip
    assert fw.digcomp3.areas["4"].en == "Safety, wellbeing and responsible use"
    for area in fw.areas:
        assert area.digcomp3 is not None, area.id
        # 3.0 keeps the 2.2 numbering: every competence our items are tagged with is a 3.0 competence of the area
        assert set(area.competence_ids) <= set(area.digcomp3.competences), area.id


def test_framework_without_the_30_mapping_still_validates(raw: dict[str, Any]) -> None:
    old = copy.deepcopy(raw)
    del old["digcomp3"]
    for area in old["areas"]:
        del area["digcomp3"]
    fw = Framework.model_validate(old)
    assert fw.digcomp3 is None and all(a.digcomp3 is None for a in fw.areas)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("digcomp3"), "have a digcomp3 mapping, but the framework has no digcomp3"),
        (lambda r: r["digcomp3"]["levels"][1].update(levels=[3]), "cover our levels 1–8 once each"),
        (lambda r: r["digcomp3"]["levels"][3].update(levels=[6, 7, 8]), "cover our levels 1–8 once each"),
        (lambda r: r["digcomp3"]["areas"].pop("5"), "DigComp 3.0 has the areas 1–5"),
        (lambda r: r["areas"][4]["digcomp3"].update(competences=["4.1", "4.5"]), "not a DigComp 3.0 competence: 4.5"),
        (lambda r: r["areas"][0]["digcomp3"].update(competences=["1.3", "1.3"]), "competence listed twice: 1.3"),
        (lambda r: r["digcomp3"].update(version="3.1"), "Input should be '3.0'"),
    ],
)
def test_malformed_30_mapping_is_refused(raw: dict[str, Any], change, message: str) -> None:
    bad = copy.deepcopy(raw)
    change(bad)
    with pytest.raises(ValidationError, match=message):
        Framework.model_validate(bad)
