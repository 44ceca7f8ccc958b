"""``digiskill bank lint``: item-writing cues, LIX and translation parity, each against its threshold."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from digiskill.bank.content import ITEM_ADAPTER, load_bank_content
from digiskill.bank.lint import (
    LintReport,
    cue_absolute_distractor,
    cue_all_none_above,
    cue_key_longest,
    cue_lix,
    cue_near_duplicate,
    cue_ordering_in_order,
    cue_stem_echo,
    cue_translation,
    cue_unequal_options,
    key_position_ratio,
    lint_bank,
    lint_items,
    lix,
    stem_echo_excess,
)
from digiskill.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT / "items"
runner = CliRunner()
STATUS = {"stage": "draft", "history": [{"date": "2026-11-28", "role": "writer", "decision": "written"}]}


def item(
    options: list[str] | list[tuple[str, str]],
    key: str | list[str] = "B",
    *,
    fmt: str = "single_choice",
    stem: str | tuple[str, str] = "Hvad gør du nu?",
    level: int = 1,
    item_id: str = "SEC-001",
) -> Any:
    """An item whose options are given as Danish texts (English = the same) or (da, en) pairs, ids A, B, …"""
    pairs = [o if isinstance(o, tuple) else (o, o) for o in options]
    ids = ["T", "F"] if fmt == "true_false" else [chr(ord("A") + n) for n in range(len(pairs))]
    da, en = stem if isinstance(stem, tuple) else (stem, stem)
    return ITEM_ADAPTER.validate_python(
        {
            "id": item_id,
            "competence": "4.1",
            "level": level,
            "format": fmt,
            "contexts": ["general"],
            "status": STATUS,
            "stem": {"da": da, "en": en},
            "options": [{"id": i, "da": d, "en": e} for i, (d, e) in zip(ids, pairs, strict=True)],
            "key": [key] if isinstance(key, str) else key,
            "explanation": {"da": "Fordi.", "en": "Because."},
        }
    )


# --------------------------------------------------------------------------------------------------- measures
def test_lix_by_hand() -> None:
    # 8 words, 2 sentences, no word longer than six letters: 8/2 + 0
    assert lix("Jeg har en hund. Den er meget glad.") == pytest.approx(4.0)
    # 3 words, 1 sentence, 2 long words: 3 + 100 * 2/3
    assert lix("Arbejdsmarkedet er udfordrende") == pytest.approx(3 + 200 / 3)
    # a colon ends a sentence (as in "Påstand: …"), a mark may be followed by a quote: 5 words, 2 sentences, 1 long
    assert lix("Påstand: Det er 'sandt.' Ja") == pytest.approx(5 / 2 + 100 * 1 / 5)
    assert lix("") == 0.0


def test_each_cue_flags_its_pattern_and_not_a_clean_item() -> None:
    clean = item(["Ringer til IT", "Sletter filen", "Venter en uge", "Spørger lederen"], "B")
    for cue in (
        cue_key_longest,
        cue_all_none_above,
        cue_absolute_distractor,
        cue_unequal_options,
        cue_stem_echo,
        cue_near_duplicate,
        cue_lix,
        cue_translation,
    ):
        assert cue(clean) is None, cue.__name__
    assert "longest option in da" in cue_key_longest(item(["Nej", "Ja, helt sikkert", "Måske", "Aldrig"], "B"))
    # English alone is enough
    longest_en = item([("Nej", "No"), ("Ja", "Yes, of course"), ("Måske", "Maybe"), ("Tja", "Well")], "B")
    assert "in en" in cue_key_longest(longest_en)
    assert "'Ingen af ovenstående'" in cue_all_none_above(item(["a", "b", "c", "Ingen af ovenstående"], "B"))
    assert "'none of the above'" in cue_all_none_above(item(["a", "b", "c", ("d", "None of the above")], "B")).lower()
    assert "'altid'" in cue_absolute_distractor(item(["Gør det altid", "Spørg", "Vent", "Slet"], "B"))
    # an absolute word in the key as well is no cue
    assert cue_absolute_distractor(item(["Gør det altid", "Gør det kun i dag", "Vent", "Slet"], "B")) is None
    assert "4–16 characters" in cue_unequal_options(item(["Spørg", "Ring til lederen", "Vent", "Slet"], "B"))
    assert "key repeats" in cue_stem_echo(
        item(["Ringer", "Gemmer dokumentet", "Venter"], "B", stem="Hvad gør du med dokumentet?")
    )
    assert (
        cue_stem_echo(
            item(["Læser dokumentet", "Gemmer dokumentet", "Venter"], "B", stem="Hvad gør du med dokumentet?")
        )
        is None
    )
    assert "the same" in cue_near_duplicate(item(["Ring til IT", "ring til  IT.", "Vent"], "C"))
    assert "content words" in cue_near_duplicate(
        item(["Gem kundens faktura i regnskabsmappen", "I regnskabsmappen gem kundens faktura", "Vent"], "C")
    )
    # a minimal pair of formulas is not a duplicate
    assert cue_near_duplicate(item(['=HVIS(B2<10;"Bestil";"")', '=HVIS(B2>10;"Bestil";"")', "=SUM(B2)"], "A")) is None
    ordered = item(["Åbn", "Skriv", "Gem"], ["A", "B", "C"], fmt="ordering")
    assert cue_ordering_in_order(ordered) is not None
    assert cue_ordering_in_order(item(["Skriv", "Åbn", "Gem"], ["B", "A", "C"], fmt="ordering")) is None
    hard = "Arbejdsmarkedsuddannelsernes kvalifikationsbeskrivelser indeholder sammenhængende kompetencemål?"
    assert cue_lix(item(["a", "b", "c"], stem=hard)).startswith("LIX ")
    assert cue_lix(item(["a", "b", "c"], stem="Hvad er en fil?", level=1)) is None
    assert "numbers differ" in cue_translation(item(["a", "b", "c"], stem=("Kl. 10 og 12?", "At 10:00 and 13:00?")))
    assert cue_translation(item(["a", "b", "c"], stem=("Kl. 10 og 1.200 kr.?", "At 10:00 and DKK 1,200?"))) is None
    assert cue_translation(item(["a", "b", "c"], stem=("Kl. 10.00 til 11.30", "From 10:00 to 11:30"))) is None
    assert "numbers differ" in cue_translation(item(["a", "b", "c"], stem=("1.000 kr.", "DKK 1")))
    long_en = (
        "Du skal gemme filen på computeren nu.",
        "You need to save the file now, before the computer is switched off tonight.",
    )
    assert "English is" in cue_translation(item(["a", "b", "c"], stem=long_en))


def test_key_position_and_stem_echo_are_measured_on_a_group() -> None:
    at_a = [item(["x", "y", "z", "w"], "A", item_id=f"SEC-00{n}") for n in range(1, 5)]
    ratio, detail = key_position_ratio(at_a)
    assert ratio == pytest.approx(4.0) and detail.startswith("A 4/1.0")
    balanced = [item(["x", "y", "z", "w"], k, item_id=f"SEC-00{n}") for n, k in enumerate("ABCD", start=1)]
    assert key_position_ratio(balanced)[0] == pytest.approx(1.0)
    tf = [item(["Sandt", "Falsk"], k, fmt="true_false", item_id=f"SEC-00{n}") for n, k in enumerate("TTF", 1)]
    assert abs(key_position_ratio(tf)[0] - 1) == pytest.approx(1 / 3)  # T 2 and F 1 observed, 1.5 expected each
    # the key alone repeats "dokumentet" in every item; no distractor ever does: excess = 100 % - 0 %
    echo = [item(["Ringer", "Gemmer dokumentet", "Venter"], "B", stem="Hvad med dokumentet?")] * 3
    assert stem_echo_excess(echo)[0] == pytest.approx(1.0)
    # a distractor alone repeating the word as often as the key: no excess
    mixed = echo + [item(["Ringer", "Gemmer", "Læser dokumentet"], "B", stem="Hvad med dokumentet?")] * 6
    assert stem_echo_excess(mixed)[0] == pytest.approx(3 / 9 - 6 / 18)


def test_a_rate_over_its_threshold_fails_per_area_and_format() -> None:
    keys_longest = [
        ("security_gdpr", item(["Nej", "Ja, helt sikkert", "Måske"], "B", item_id=f"SEC-00{n}")) for n in range(1, 4)
    ]
    fine = [
        ("workflows", item(["Ringer til IT", "Sletter filen", "Venter en uge"], k, item_id=f"WRK-00{n}"))
        for n, k in enumerate("ABC", start=1)
    ]
    report = lint_items(keys_longest + fine)
    rate = {(r.cue, r.area): r for r in report.rates if r.format == "single_choice"}
    assert (rate["key_longest", "security_gdpr"].value, rate["key_longest", "security_gdpr"].ok) == (1.0, False)
    assert (rate["key_longest", "workflows"].value, rate["key_longest", "workflows"].ok) == (0.0, True)
    assert rate["key_longest", "all"].n_flagged == 3 and rate["key_longest", "all"].value == 0.5
    assert not report.ok and report.exit_code == 1
    assert {f.item_id for f in report.flags if f.cue == "key_longest"} == {"SEC-001", "SEC-002", "SEC-003"}


# --------------------------------------------------------------------------------------------------- real bank
def test_real_bank_passes_every_threshold() -> None:
    report = lint_bank(load_bank_content(ITEMS))
    assert report.ok, [r for r in report.failed()]
    rate = {(r.cue, r.format, r.area): r for r in report.rates}
    sc = rate["key_longest", "single_choice", "all"]
    assert sc.n_items == 191 and sc.value <= 0.30  # 168 items + 23 single-choice AI items
    assert all(r.value <= 0.30 for r in report.rates if r.cue == "key_longest")
    assert rate["all_none_above", "single_choice", "all"].n_flagged == 0
    assert all(row.max <= row.limit for row in report.lix)


# ------------------------------------------------------------------------------------------------------ CLI
def test_cli_lint_real_bank() -> None:
    res = runner.invoke(app, ["bank", "lint", str(ITEMS)])
    assert res.exit_code == 0, res.output
    assert "lint OK: 288 items" in res.output and "| key_longest " in res.output and "LIX of the Danish" in res.output
    report = LintReport.model_validate_json(runner.invoke(app, ["bank", "lint", str(ITEMS), "--json"]).output)
    assert report.n_items == 288 and report.ok


def test_cli_lint_fails_a_threshold_with_1_and_bad_input_with_2(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(ITEMS, bank)
    path = bank / "areas" / "security_gdpr.yaml"
    text = path.read_text(encoding="utf-8")
    old = "Du får en SMS: 'Dit MitID udløber i dag. Bekræft dine oplysninger via linket.' Hvad gør du?"
    path.write_text(text.replace(old, "Sikkerhedsinformationsmeddelelse vedrørende identifikationsløsningen?"))
    res = runner.invoke(app, ["bank", "lint", str(bank)])
    assert res.exit_code == 1
    assert (
        "item SEC-001 (security_gdpr, sc): lix: LIX" in res.output and "rate(s) over the threshold (lix)" in res.output
    )
    path.write_text("area: security_gdpr\nitems: [\n", encoding="utf-8")
    res = runner.invoke(app, ["bank", "lint", str(bank)])
    assert res.exit_code == 2 and "not valid YAML" in res.output
