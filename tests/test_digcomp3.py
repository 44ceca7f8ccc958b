"""The DigComp 3.0 mapping in ``items/framework.yaml`` and the AI-competence items.

The 3.0 mapping is optional data beside the 2.2 one: a framework without it still validates, a malformed one is
refused with a clear message, and the real bank maps every area and every level 1–8.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from digiskill.bank.content import Framework, load_bank_content

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


# ------------------------------------------------------------------------------------ AI-competence items
@pytest.fixture(scope="module")
def ai_items():
    content = load_bank_content(ITEMS)
    by_area = {af.content.area: [it for it in af.content.items if "ai" in it.themes] for af in content.area_files}
    return content, by_area


def test_every_area_has_ai_items_at_levels_1_to_5(ai_items) -> None:
    content, by_area = ai_items
    assert set(by_area) == set(content.framework.area_ids)
    for area, items in by_area.items():
        assert len(items) >= 6, area
        assert {it.level for it in items} == {1, 2, 3, 4, 5}, area
        # nobody has reviewed them yet (``review`` in the old status format, ``stage`` in the review workflow)
        assert all(getattr(it.status, "stage", getattr(it.status, "review", None)) == "draft" for it in items), area
        # new ids continue the area's numbering after the 42 items that were there before
        assert sorted(int(it.id[-3:]) for it in items) == list(range(43, 43 + len(items))), area
        assert {it.format for it in items} >= {"single_choice", "true_false"}, area


def test_ai_single_choice_items_carry_no_length_or_position_cue(ai_items) -> None:
    _, by_area = ai_items
    sc = [it for items in by_area.values() for it in items if it.format == "single_choice"]
    assert len(sc) >= 20
    for lang in ("da", "en"):
        lengths = [{o.id: len(getattr(o, lang)) for o in it.options} for it in sc]
        key_longest = sum(ln[it.key[0]] == max(ln.values()) for it, ln in zip(sc, lengths, strict=True))
        key_shortest = sum(ln[it.key[0]] == min(ln.values()) for it, ln in zip(sc, lengths, strict=True))
        assert key_longest <= 0.3 * len(sc) and key_shortest <= 0.3 * len(sc), lang
    positions = Counter(it.key[0] for it in sc)
    assert set(positions) == {"A", "B", "C", "D"} and max(positions.values()) - min(positions.values()) <= 2


# ----------------------------------------------------------------------------------------------- certificates
#: OB 3.0 AlignmentTargetType (1EdTech JSON schema of AchievementCredential): these values or an ``ext:`` extension
OB3_TARGET_TYPES = {"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion"}
OB3_TARGET_TYPES |= {"CFRubricCriterionLevel", "CTDL"}


def _alignments(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "alignment":
                yield from value
            yield from _alignments(value)
    elif isinstance(node, list):
        for value in node:
            yield from _alignments(value)


def test_certificate_names_digcomp_30_beside_22() -> None:
    from digiskill.bank.default import load_default
    from digiskill.bank.responses import read_responses
    from digiskill.results.batch import batch_results
    from digiskill.results.credential import IssuerProfile, open_badge_credential

    bank = load_default()
    result = next(batch_results(read_responses(ROOT / "examples/jobcenter/responses.csv", bank.params), bank))
    cred = open_badge_credential(result, bank, IssuerProfile(id="https://jobcenter.example.dk/i", name="Jobcenter"))
    alignments = list(_alignments(cred))
    for al in alignments:
        if al["targetFramework"] == "DigComp 3.0":  # the 2.2 target types are the certificate module's (T2) concern
            assert al["targetType"] in OB3_TARGET_TYPES or re.fullmatch(r"ext:[A-Za-z0-9._-]+", al["targetType"])
    frameworks = {al["targetFramework"] for al in alignments}
    assert frameworks == {"DigComp 2.2", "DigComp 3.0"}
    achievement = cred["credentialSubject"]["achievement"]
    assert "DigComp 2.2 and DigComp 3.0" in achievement["description"]
    fw = bank.content.framework
    for rd in achievement["resultDescription"]:
        area = fw.area(rd["id"].rsplit(":", 1)[1])
        codes30 = [al["targetCode"] for al in rd["alignment"] if al["targetFramework"] == "DigComp 3.0"]
        assert codes30 == area.digcomp3.competences
        # the certificate's scale is our levels 1-8; each level names the 3.0 level it falls in
        assert [lv["level"] for lv in rd["rubricCriterionLevel"]] == [str(n) for n in range(1, 9)]
        assert rd["rubricCriterionLevel"][0]["description"].endswith("DigComp 3.0 proficiency level: Basic.")
        assert rd["rubricCriterionLevel"][4]["description"].endswith("DigComp 3.0 proficiency level: Advanced.")
