"""Bank content (``items/``): schemas, the bank-wide check, scoring rules and ``digiskill bank check``.

The real bank must pass; every kind of problem is provoked on a small synthetic bank in ``tmp_path`` and must be
reported with its file, line and item id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from digiskill.bank.content import (
    FORMATS,
    ITEM_ADAPTER,
    BankReport,
    check_bank,
    item_categories,
    load_bank_content,
    score_response,
)
from digiskill.cli.main import app
from digiskill.errors import InputError, Problem

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT / "items"
runner = CliRunner()

# thresholds small enough for hand-made banks
SMALL = {"min_items_per_area": 4, "min_items_per_level": 1, "required_levels": (1, 2)}


# ----------------------------------------------------------------------------------------- synthetic banks
def text(s: str) -> dict[str, str]:
    return {"da": f"{s} (da)", "en": f"{s} (en)"}


def make_item(item_id: str, *, level: int = 1, fmt: str = "single_choice", competence: str = "4.1", **over: Any):
    options = {
        "single_choice": ["A", "B", "C", "D"],
        "multiple_response": ["A", "B", "C", "D", "E"],
        "ordering": ["A", "B", "C", "D"],
        "true_false": ["T", "F"],
    }[fmt]
    key = {"single_choice": ["B"], "multiple_response": ["A", "C"], "ordering": ["C", "A", "D", "B"]}
    item = {
        "id": item_id,
        "competence": competence,
        "level": level,
        "format": fmt,
        "contexts": ["general"],
        "status": {"stage": "draft", "history": [{"date": "2026-11-28", "role": "writer", "decision": "written"}]},
        "stem": text(f"Stem of {item_id}"),
        "options": [{"id": o, **text(f"option {o}")} for o in options],
        "key": key.get(fmt, ["T"]),
        "explanation": text("Why"),
    }
    item.update(over)
    return item


def framework() -> dict:
    bands = ["foundation"] * 2 + ["intermediate"] * 2 + ["advanced"] * 2 + ["highly_specialised"] * 2
    return {
        "version": "test.1",
        "digcomp_version": "2.2",
        "areas": [
            {
                "id": "security_gdpr",
                "name": text("Security"),
                "description": text("Security area"),
                "competences": [{"id": "4.1", "name": text("Devices")}, {"id": "4.2", "name": text("Data")}],
            },
            {
                "id": "workflows",
                "name": text("Workflows"),
                "description": text("Workflow area"),
                "competences": [{"id": "5.1", "name": text("Problems")}],
            },
        ],
        "levels": [
            {"level": n, "band": band, "name": text(f"Level {n}"), "descriptor": text(f"Can do {n}")}
            for n, band in enumerate(bands, start=1)
        ],
    }


def profiles(*requirements: dict) -> dict:
    reqs = list(requirements) or [
        {"area": "security_gdpr", "level": 2, "essential": True},
        {"area": "workflows", "level": 1, "essential": False},
    ]
    return {
        "version": "test.1",
        "profiles": [
            {
                "id": "cleaner",
                "name": text("Cleaner"),
                "description": text("Cleans"),
                "requirements": reqs,
                "rationale": text("Because"),
            }
        ],
    }


def default_areas() -> dict[str, list[dict]]:
    return {
        "security_gdpr": [
            make_item("SEC-001"),
            make_item("SEC-002", fmt="true_false", competence="4.2"),
            make_item("SEC-003", level=2, fmt="multiple_response"),
            make_item("SEC-004", level=2, fmt="ordering"),
        ],
        "workflows": [make_item(f"WRK-00{n}", level=1 + n % 2, competence="5.1") for n in range(1, 5)],
    }


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


def write_bank(
    folder: Path,
    areas: dict[str, list[dict]] | None = None,
    *,
    profile_data: dict | None = None,
    area_field: dict[str, str] | None = None,
) -> Path:
    """A valid two-area bank (with ``SMALL`` thresholds) unless the arguments break it."""
    (folder / "areas").mkdir(parents=True, exist_ok=True)
    (folder / "framework.yaml").write_text(dump(framework()), encoding="utf-8")
    (folder / "profiles.yaml").write_text(dump(profile_data or profiles()), encoding="utf-8")
    for name, items in (default_areas() if areas is None else areas).items():
        area = (area_field or {}).get(name, name)
        (folder / "areas" / f"{name}.yaml").write_text(dump({"area": area, "items": items}), encoding="utf-8")
    return folder


def line_of(path: Path, needle: str, start: int = 1) -> int:
    """1-based number of the first line at or after ``start`` that contains ``needle``."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if n >= start and needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def load_problems(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_bank_content(folder)
    return info.value.problems


def check_problems(folder: Path, **kwargs: Any) -> list:
    return check_bank(load_bank_content(folder), **{**SMALL, **kwargs}).problems


# ------------------------------------------------------------------------------------------------ real bank
def test_real_bank_passes() -> None:
    content = load_bank_content(ITEMS)
    report = check_bank(content)
    assert report.problems == [], "\n".join(p.message for p in report.problems)
    assert report.n_items == 288 and report.n_profiles == 8
    # honest status: written by the content team, not reviewed by an expert, not piloted
    assert report.n_reviewed == 0 and report.by_stage == {
        "draft": 288,
        "expert_reviewed": 0,
        "piloted": 0,
        "operational": 0,
    }
    assert {af.content.area: len(af.content.items) for af in content.area_files} == {
        area: 48
        for area in ("basic_it", "communication", "content_social", "information_data", "security_gdpr", "workflows")
    }
    assert len({it.id for it in content.items}) == 288
    assert sum(r.total for r in report.coverage) == 288
    for row in report.coverage:
        assert row.total == row.single_choice + row.multiple_response + row.ordering + row.true_false
        if row.level <= 4:
            assert row.total >= 3
    low = [s for s in report.reading if s.band == "foundation"]
    assert {s.language for s in low} == {"da", "en"} and all(s.chars_max <= 200 for s in low)


def test_real_profiles_and_framework() -> None:
    content = load_bank_content(ITEMS)
    assert [lv.level for lv in content.framework.levels] == list(range(1, 9))
    assert len(content.framework.areas) == 6
    for profile in content.profiles.profiles:
        assert {r.area for r in profile.requirements} == set(content.framework.area_ids)
        assert any(r.essential for r in profile.requirements)


# ----------------------------------------------------------------------------------------- synthetic: passes
def test_synthetic_bank_passes(tmp_path: Path) -> None:
    content = load_bank_content(write_bank(tmp_path))
    report = check_bank(content, **SMALL)
    assert report.ok and report.exit_code == 0 and report.n_items == 8
    row = next(r for r in report.coverage if r.area == "security_gdpr" and r.level == 2)
    assert (row.single_choice, row.multiple_response, row.ordering, row.true_false) == (0, 1, 1, 0)
    # the default thresholds (40 per area) reject the small bank
    assert not check_bank(content).ok


# --------------------------------------------------------------------------------- schema problems (loading)
def test_key_not_among_options(tmp_path: Path) -> None:
    areas = default_areas()
    areas["security_gdpr"][0]["key"] = ["X"]
    write_bank(tmp_path, areas)
    [p] = load_problems(tmp_path)
    path = tmp_path / "areas" / "security_gdpr.yaml"
    assert p.item_id == "SEC-001" and p.path == str(path)
    assert p.line == line_of(path, "key:")
    assert "key X not among the option ids A, B, C, D" in p.message


def test_missing_language(tmp_path: Path) -> None:
    areas = default_areas()
    del areas["workflows"][2]["stem"]["en"]
    areas["workflows"][3]["options"][1] = {"id": "B", "da": "kun dansk"}
    write_bank(tmp_path, areas)
    problems = load_problems(tmp_path)
    path = tmp_path / "areas" / "workflows.yaml"
    assert [(p.item_id, p.message) for p in problems] == [
        ("WRK-003", "stem.en: Field required"),
        ("WRK-004", "options.1.en: Field required"),
    ]
    assert problems[0].line == line_of(path, "stem:", line_of(path, "WRK-003"))
    assert problems[1].line == line_of(path, "- id: B", line_of(path, "WRK-004"))  # the option without en


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    areas = default_areas()
    areas["security_gdpr"][0]["level"] = 9
    areas["security_gdpr"][1]["format"] = "essay"
    areas["workflows"][0]["stem"]["da"] = "   "
    fw_bad = framework()
    fw_bad["levels"] = fw_bad["levels"][:6]
    write_bank(tmp_path, areas)
    (tmp_path / "framework.yaml").write_text(dump(fw_bad), encoding="utf-8")
    problems = load_problems(tmp_path)
    got = {(Path(p.path).name, p.item_id): p.message for p in problems}
    assert "levels must be 1, 2, …, 8" in got[("framework.yaml", None)]
    assert "level: Input should be less than or equal to 6" in got[("security_gdpr.yaml", "SEC-001")]
    assert "format" in got[("security_gdpr.yaml", "SEC-002")] and "essay" in got[("security_gdpr.yaml", "SEC-002")]
    assert "stem.da: Value error, must not be empty or blank" not in got.values()
    assert got[("workflows.yaml", "WRK-001")] == "stem.da: must not be empty or blank"
    sec = tmp_path / "areas" / "security_gdpr.yaml"
    fmt_problem = next(p for p in problems if p.item_id == "SEC-002")
    assert fmt_problem.line == line_of(sec, "format: essay")


@pytest.mark.parametrize(
    ("fmt", "change", "message"),
    [
        ("single_choice", {"key": ["A", "B"]}, "exactly one key"),
        ("single_choice", {"options": [{"id": "A", "da": "a", "en": "a"}] * 4}, "option id used twice: A"),
        ("single_choice", {"options": [{"id": i, "da": "a", "en": "a"} for i in "AB"], "key": ["A"]}, "3–5 options"),
        ("true_false", {"options": [{"id": i, "da": "a", "en": "a"} for i in "AB"], "key": ["A"]}, "options T and F"),
        ("true_false", {"key": ["T", "F"]}, "the key [T] or [F]"),
        ("multiple_response", {"key": ["A"]}, "2–3 keys"),
        ("multiple_response", {"key": ["A", "B", "C", "D"]}, "2–3 keys"),
        ("multiple_response", {"key": ["A", "A"]}, "key lists A twice"),
        ("multiple_response", {"options": [{"id": i, "da": "a", "en": "a"} for i in "ABC"]}, "4–5 options"),
        ("ordering", {"key": ["A", "B", "C"]}, "missing D"),
        ("ordering", {"key": ["A", "B", "C", "D", "E"]}, "key E not among the option ids"),
        ("single_choice", {"contexts": ["spaceship"]}, "contexts.0"),
        ("single_choice", {"id": "sec-1"}, "id"),
        ("single_choice", {"competence": 4.1}, "competence"),
        ("single_choice", {"status": {"author": "x", "review": "done"}}, "status.stage"),
        ("single_choice", {"hint": text("extra")}, "hint"),
    ],
)
def test_item_rules(fmt: str, change: dict, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        ITEM_ADAPTER.validate_python(make_item("SEC-001", fmt=fmt, **change))
    assert message in str(info.value)


def test_valid_item_of_each_format() -> None:
    for fmt in FORMATS:
        item = ITEM_ADAPTER.validate_python(make_item("SEC-001", fmt=fmt))
        assert item.format == fmt


def test_unquoted_competence_gets_a_hint(tmp_path: Path) -> None:
    write_bank(tmp_path)
    path = tmp_path / "areas" / "workflows.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("competence: '5.1'", "competence: 5.1", 1))
    [p] = load_problems(tmp_path)
    assert p.item_id == "WRK-001" and p.line == line_of(path, "competence: 5.1")
    assert "got 5.1: put the value in quotes" in p.message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    write_bank(tmp_path)
    path = tmp_path / "areas" / "security_gdpr.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = line_of(path, "key:", line_of(path, "SEC-002"))
    lines[bad - 1] = lines[bad - 1].replace("key:", "key: [T") + "  # unclosed"
    lines.insert(bad, "  - id: SEC-099")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = load_problems(tmp_path)
    assert len(problems) == 1
    [p] = problems
    assert p.path == str(path) and p.message.startswith("not valid YAML")
    assert bad <= p.line <= bad + 1


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    write_bank(tmp_path)
    path = tmp_path / "areas" / "workflows.yaml"
    body = path.read_text(encoding="utf-8").replace("  level: 1\n", "  level: 1\n  level: 2\n", 1)
    path.write_text(body, encoding="utf-8")
    [p] = load_problems(tmp_path)
    assert "key 'level' appears twice" in p.message and p.item_id == "WRK-002"
    assert p.line == line_of(path, "level: 2", line_of(path, "level: 1"))


def test_missing_files(tmp_path: Path) -> None:
    (tmp_path / "areas").mkdir()
    messages = sorted(f"{Path(p.path).name}: {p.message}" for p in load_problems(tmp_path))
    assert messages == [
        "areas: no item files: expected areas/<area-id>.yaml",
        "framework.yaml: cannot read file: No such file or directory",
        "profiles.yaml: cannot read file: No such file or directory",
    ]


# -------------------------------------------------------------------------------- bank-wide problems (check)
def test_duplicate_id_across_files(tmp_path: Path) -> None:
    areas = default_areas()
    areas["workflows"][1]["id"] = "SEC-003"
    write_bank(tmp_path, areas)
    [p] = check_problems(tmp_path)
    wrk = tmp_path / "areas" / "workflows.yaml"
    sec = tmp_path / "areas" / "security_gdpr.yaml"
    assert p.item_id == "SEC-003" and p.path == str(wrk) and p.line == line_of(wrk, "id: SEC-003")
    assert p.message == f"duplicate id, first used at {sec}:{line_of(sec, 'id: SEC-003')}"


def test_too_few_items_in_an_area_and_at_a_level(tmp_path: Path) -> None:
    areas = default_areas()
    areas["workflows"] = areas["workflows"][:3]
    write_bank(tmp_path, areas)
    problems = check_problems(tmp_path, required_levels=(1, 2, 3))
    messages = {p.message for p in problems}
    assert "area 'workflows' has 3 items; at least 4 needed" in messages
    assert "area 'workflows' has 0 item(s) at level 3; at least 1 needed" in messages
    assert "area 'security_gdpr' has 0 item(s) at level 3; at least 1 needed" in messages
    assert len(problems) == 3 and all(p.line == 1 for p in problems)


def test_area_without_a_file(tmp_path: Path) -> None:
    areas = default_areas()
    del areas["workflows"]
    write_bank(tmp_path, areas)
    [p] = check_problems(tmp_path)
    fw = tmp_path / "framework.yaml"
    assert p.path == str(fw) and p.line == line_of(fw, "id: workflows")
    assert "area 'workflows' has no item file areas/workflows.yaml" in p.message


def test_overlong_stem_at_levels_1_and_2_only(tmp_path: Path) -> None:
    areas = default_areas()
    long_da = "Du får en besked. " * 12  # 216 characters
    areas["security_gdpr"][0]["stem"]["da"] = long_da  # level 1: a problem
    areas["workflows"][0]["stem"]["en"] = "x" * 201  # level 2 (WRK-001): a problem
    areas["workflows"][1]["stem"]["en"] = "x" * 200  # at the limit: fine
    areas["security_gdpr"].append(make_item("SEC-005", level=3, stem={"da": long_da, "en": long_da}))  # level 3: fine
    write_bank(tmp_path, areas)
    problems = check_problems(tmp_path)
    sec = tmp_path / "areas" / "security_gdpr.yaml"
    assert [(p.item_id, p.message) for p in problems] == [
        ("SEC-001", f"stem.da has {len(long_da)} characters; at most 200 at level 1"),
        ("WRK-001", "stem.en has 201 characters; at most 200 at level 2"),
    ]
    assert problems[0].line == line_of(sec, "da: 'Du får en besked.")
    assert check_problems(tmp_path, max_stem_chars_low=250) == []


def test_competence_not_of_the_area(tmp_path: Path) -> None:
    areas = default_areas()
    areas["security_gdpr"][2]["competence"] = "5.1"  # a DigComp competence, but of workflows
    write_bank(tmp_path, areas)
    [p] = check_problems(tmp_path)
    sec = tmp_path / "areas" / "security_gdpr.yaml"
    assert p.item_id == "SEC-003" and p.line == line_of(sec, "competence: '5.1'")
    assert p.message == "competence '5.1' is not a competence of area 'security_gdpr' (4.1, 4.2)"


def test_area_name_and_unknown_area(tmp_path: Path) -> None:
    areas = default_areas()
    areas["marketing"] = [make_item("MKT-001")]
    write_bank(tmp_path, areas, area_field={"workflows": "security_gdpr"})
    messages = [p.message for p in check_problems(tmp_path)]
    assert "area 'security_gdpr' does not match the file name 'workflows.yaml'" in messages
    assert "area 'marketing' is not in the framework (security_gdpr, workflows)" in messages
    assert any("area 'workflows' has no item file" in m for m in messages)


def test_framework_competence_must_be_digcomp(tmp_path: Path) -> None:
    write_bank(tmp_path)
    fw = framework()
    fw["areas"][1]["competences"].append({"id": "5.9", "name": text("Not DigComp")})
    (tmp_path / "framework.yaml").write_text(dump(fw), encoding="utf-8")
    [p] = load_problems(tmp_path)
    assert "'5.9' is not a DigComp 2.2 competence" in p.message


def test_profile_problems(tmp_path: Path) -> None:
    data = profiles(
        {"area": "security_gdpr", "level": 9, "essential": False},
        {"area": "marketing", "level": 2, "essential": False},
    )
    write_bank(tmp_path, profile_data=data)
    problems = check_problems(tmp_path)
    path = tmp_path / "profiles.yaml"
    assert [(p.line, p.message) for p in problems] == [
        (line_of(path, "level: 9"), "profile 'cleaner' requires level 9 in 'security_gdpr'; levels are 1–8"),
        (
            line_of(path, "area: marketing"),
            "profile 'cleaner' requires unknown area 'marketing' (security_gdpr, workflows)",
        ),
        (line_of(path, "requirements:"), "profile 'cleaner' has no essential area"),
    ]


def test_profile_schema_rules(tmp_path: Path) -> None:
    data = profiles(
        {"area": "workflows", "level": 2, "essential": True},
        {"area": "workflows", "level": 3, "essential": True},
    )
    write_bank(tmp_path, profile_data=data)
    [p] = load_problems(tmp_path)
    assert "area required twice: workflows" in p.message and Path(p.path).name == "profiles.yaml"


# ---------------------------------------------------------------------------------------------------- scoring
@pytest.fixture
def items() -> dict[str, Any]:
    return {f: ITEM_ADAPTER.validate_python(make_item("SEC-001", fmt=f)) for f in FORMATS}


def test_item_categories(items: dict[str, Any]) -> None:
    assert item_categories(items["single_choice"]) == 2
    assert item_categories(items["true_false"]) == 2
    assert item_categories(items["ordering"]) == 2
    assert item_categories(items["multiple_response"]) == 3  # key [A, C]: scores 0, 1, 2
    three = ITEM_ADAPTER.validate_python(make_item("SEC-002", fmt="multiple_response", key=["A", "B", "E"]))
    assert item_categories(three) == 4


def test_score_single_choice_and_true_false(items: dict[str, Any]) -> None:
    sc, tf = items["single_choice"], items["true_false"]  # keys [B] and [T]
    assert [score_response(sc, a) for a in "ABCD"] == [0, 1, 0, 0]
    assert score_response(tf, "T") == 1 and score_response(tf, "F") == 0


@pytest.mark.parametrize(
    ("ticked", "score"),
    [
        ([], 0),
        (["A"], 1),
        (["A", "C"], 2),  # both keys
        (["C", "A"], 2),  # order does not matter
        (["A", "C", "B"], 1),  # 2 right − 1 wrong
        (["A", "B"], 0),  # 1 − 1
        (["A", "B", "D"], 0),  # 1 − 2 → floored at 0
        (["A", "B", "C", "D", "E"], 0),  # everything ticked: 2 − 3 → 0
        (["B", "D", "E"], 0),
    ],
)
def test_score_multiple_response(items: dict[str, Any], ticked: list[str], score: int) -> None:
    assert score_response(items["multiple_response"], ticked) == score  # key [A, C] of A–E


def test_score_ordering(items: dict[str, Any]) -> None:
    item = items["ordering"]  # key C, A, D, B
    assert score_response(item, ["C", "A", "D", "B"]) == 1
    assert score_response(item, ("C", "A", "D", "B")) == 1
    assert score_response(item, ["C", "A", "B", "D"]) == 0  # last two swapped: no partial credit
    assert score_response(item, ["A", "B", "C", "D"]) == 0


@pytest.mark.parametrize(
    ("fmt", "answer", "message"),
    [
        ("single_choice", "E", "answer must be one of A, B, C, D"),
        ("single_choice", ["B"], "a single_choice answer is one option id"),
        ("true_false", "True", "answer must be one of T, F"),
        ("multiple_response", "A", "a list of option ids"),
        ("multiple_response", ["A", "Z"], "option(s) Z not among"),
        ("multiple_response", ["A", "A"], "appears twice"),
        ("ordering", ["C", "A", "D"], "lists all 4 option ids"),
    ],
)
def test_score_rejects_bad_answers(items: dict[str, Any], fmt: str, answer: Any, message: str) -> None:
    with pytest.raises(InputError, match="SEC-001") as info:
        score_response(items[fmt], answer)
    assert message in str(info.value)


def test_every_real_key_scores_full_marks() -> None:
    for item in load_bank_content(ITEMS).items:
        answer = item.key[0] if item.format in ("single_choice", "true_false") else item.key
        assert score_response(item, answer) == item_categories(item) - 1, item.id


# ------------------------------------------------------------------------------------------------------- CLI
def run(*args: Any):
    return runner.invoke(app, ["bank", "check", *(str(a) for a in args)])


def test_cli_real_bank_passes() -> None:
    res = run(ITEMS)
    assert res.exit_code == 0, res.output
    assert "288 items (0 reviewed), 8 job profiles" in res.output
    assert "review status: draft 288, expert_reviewed 0, piloted 0, operational 0" in res.output
    assert "bank OK" in res.output
    assert "| security_gdpr    |   9 (8/0/0/1) |" in res.output


def test_cli_json_report() -> None:
    res = run(ITEMS, "--json")
    assert res.exit_code == 0
    report = BankReport.model_validate_json(res.output)
    assert report.n_items == 288 and report.ok and len(report.coverage) == 6 * 6


def test_cli_lists_problems_and_exits_2(tmp_path: Path) -> None:
    areas = default_areas()
    areas["workflows"][1]["id"] = "SEC-003"
    write_bank(tmp_path, areas)
    res = run(tmp_path, "--min-items-per-area", 4, "--min-items-per-level", 0)
    assert res.exit_code == 2
    wrk = tmp_path / "areas" / "workflows.yaml"
    first = res.output.splitlines()[0]
    assert first.startswith(f"{wrk}:{line_of(wrk, 'id: SEC-003')}: item SEC-003: duplicate id, first used at ")
    assert "1 problem(s)" in res.output and "Coverage" in res.output


def test_cli_schema_problems_exit_2(tmp_path: Path) -> None:
    areas = default_areas()
    areas["security_gdpr"][0]["key"] = ["X"]
    write_bank(tmp_path, areas)
    sec = tmp_path / "areas" / "security_gdpr.yaml"
    res = run(tmp_path)
    assert res.exit_code == 2
    assert f"{sec}:{line_of(sec, 'key:')}: item SEC-001: key: key X not among the option ids" in res.output
    as_json = run(tmp_path, "--json")
    assert as_json.exit_code == 2
    report = json.loads(as_json.output)
    assert report["problems"][0]["item_id"] == "SEC-001" and report["coverage"] == []


def test_cli_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    res = run(tmp_path / "nowhere")
    assert res.exit_code == 2


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    write_bank(tmp_path)
    (tmp_path / "areas" / "empty.yaml").write_text("", encoding="utf-8")
    (tmp_path / "profiles.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    got = sorted((Path(p.path).name, p.line, p.message) for p in load_problems(tmp_path))
    assert got == [
        ("empty.yaml", 1, "expected a mapping with the keys area, items; got an empty file"),
        ("profiles.yaml", 1, "expected a mapping with the keys version, profiles; got a list"),
    ]
