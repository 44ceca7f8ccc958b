"""The thin command line: every model file a command reads goes through the one loader, so a missing file, a syntax
error or a field that does not validate is one problem line naming the file (and the line), exit status 2, no
traceback; options are checked against the model before any work (issue 12, part 3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from digiskill.cat.take_config import expected_length, expected_minutes, take_config
from digiskill.cli.main import app
from digiskill.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7" / "params-mirt.json"
JOBCENTER = ROOT / "examples" / "jobcenter" / "responses.csv"
PROFILE = "hotel_cleaning_assistant"
runner = CliRunner()


@dataclass(frozen=True)
class Signing:
    key: Path
    issuer: Path
    result: Path  # one assessment result (JSON, indented)
    results: Path  # two results (JSON Lines)


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Signing:
    """An issuer key and profile, and real results of the default bank (scored from two jobcenter persons)."""
    folder = tmp_path_factory.mktemp("signing")
    key, issuer = folder / "key.pem", folder / "issuer.json"
    r = runner.invoke(
        app, ["keys", "new", "--out", str(key), "--issuer-id", "https://issuer.example/i", "--issuer-out", str(issuer)]
    )
    assert r.exit_code == 0, r.output
    csv = folder / "two.csv"
    csv.write_text("\n".join(JOBCENTER.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    jsonl = folder / "results.jsonl"
    r = runner.invoke(app, ["score", str(csv), "--out", str(folder / "scores.csv"), "--results", str(jsonl)])
    assert r.exit_code == 0, r.output
    first = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])
    result = folder / "result.json"
    result.write_text(json.dumps(first, indent=2) + "\n", encoding="utf-8")
    return Signing(key, issuer, result, jsonl)


# ---------------------------------------------------------------------------------------- the model files
# each: a valid document, the key whose line is broken, and a value the model refuses there
CAT_CONFIG = ({"selection": {"rule": "mfi"}, "estimator": "eap", "stopping": {"se_target": 0.4}}, "estimator", "xyz")
ISSUER = ({"id": "https://issuer.example/i", "name": "Issuer", "url": "https://issuer.example"}, "url", "ftp://x")
PROFILES = (
    {
        "version": "1",
        "profiles": [
            {
                "id": PROFILE,
                "name": {"da": "Rengøring", "en": "Cleaning"},
                "description": {"da": "Rengøring", "en": "Cleaning"},
                "requirements": [{"area": "basic_it", "level": 2, "essential": True}],
                "rationale": {"da": "Fordi", "en": "Because"},
            }
        ],
    },
    "essential",
    "maybe",
)


def _params() -> tuple[dict, str, object]:
    data = json.loads(LSAT7.read_text(encoding="utf-8"))
    return data, "a", -1.0  # the first item's slope (the first "a" key in the file)


@dataclass(frozen=True)
class Command:
    """A command that reads a model file: its arguments around the file, the model, the suffixes it reads."""

    name: str
    args: Callable[[Path, Signing, Path], list[str]]  # (model file, signing, tmp folder) -> arguments
    document: tuple[dict, str, object]
    suffixes: tuple[str, ...] = (".json", ".yaml")


COMMANDS = [
    Command(
        "cat next --config", lambda f, s, t: ["cat", "next", "--params", str(LSAT7), "--config", str(f)], CAT_CONFIG
    ),
    Command(
        "cat simulate --config",
        lambda f, s, t: ["cat", "simulate", "--params", str(LSAT7), "--config", str(f), "--n", "2"],
        CAT_CONFIG,
    ),
    Command("cat next --params", lambda f, s, t: ["cat", "next", "--params", str(f)], _params(), (".json",)),
    Command(
        "cat simulate --params",
        lambda f, s, t: ["cat", "simulate", "--params", str(f), "--n", "2"],
        _params(),
        (".json",),
    ),
    Command(
        "link FROM", lambda f, s, t: ["link", str(f), str(LSAT7), "--out", str(t / "o.json")], _params(), (".json",)
    ),
    Command("link TO", lambda f, s, t: ["link", str(LSAT7), str(f), "--out", str(t / "o.json")], _params(), (".json",)),
    Command(
        "screen --profiles",
        lambda f, s, t: ["screen", str(s.results), "--profile", PROFILE, "--profiles", str(f)],
        PROFILES,
    ),
    Command(
        "certify --issuer",
        lambda f, s, t: ["certify", str(s.result), "--key", str(s.key), "--issuer", str(f), "--out", str(t / "c.json")],
        ISSUER,
    ),
    Command(
        "keys publish --issuer",
        lambda f, s, t: ["keys", "publish", "--key", str(s.key), "--issuer", str(f), "--out", str(t / "did.json")],
        ISSUER,
    ),
    Command(
        "status publish --issuer",
        lambda f, s, t: [
            "status",
            "publish",
            str(t / "reg"),
            "--key",
            str(s.key),
            "--issuer",
            str(f),
            "--out",
            str(t / "list.json"),
        ],
        ISSUER,
    ),
    Command(
        "take --issuer",
        lambda f, s, t: [
            "take",
            "--key",
            str(s.key),
            "--issuer",
            str(f),
            "--simulate-theta",
            "0",
            "--out",
            str(t / "take"),
            "--lang",
            "en",
        ],
        ISSUER,
    ),
]


def _write(folder: Path, suffix: str, document: tuple[dict, str, object], fault: str) -> tuple[Path, int]:
    """The document as JSON or YAML with ``fault`` ("syntax" or "value") on the line of its key; returns the file
    and that line (1-based)."""
    data, key, bad = document
    if suffix == ".json":
        lines = json.dumps(data, indent=2, ensure_ascii=False).splitlines()
        n = next(i for i, line in enumerate(lines) if line.strip().startswith(f'"{key}":'))
        head, _, value = lines[n].partition(": ")
        comma = "," if value.endswith(",") else ""
        lines[n] = f"{head}: @{value}" if fault == "syntax" else f"{head}: {json.dumps(bad)}{comma}"
    else:
        lines = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).splitlines()
        n = next(i for i, line in enumerate(lines) if re.match(rf"^[\s-]*{key}:", line))
        head, _, value = lines[n].partition(": ")
        lines[n] = f"{head}: {value}: x" if fault == "syntax" else f"{head}: {bad}"
    path = folder / f"model{suffix}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, n + 1


def _problem_lines(stderr: str) -> list[str]:
    """The problem lines of a refusal (after 'error: N problem(s); nothing was written')."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "problem(s); nothing was written" in line)
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


CASES = [
    pytest.param(c, suffix, fault, id=f"{c.name}-{suffix[1:]}-{fault}")
    for c in COMMANDS
    for suffix in c.suffixes
    for fault in ("syntax", "value")
] + [pytest.param(c, ".json", "missing", id=f"{c.name}-missing") for c in COMMANDS]


@pytest.mark.parametrize(("command", "suffix", "fault"), CASES)
def test_a_bad_model_file_is_one_line_naming_file_and_line(
    command: Command, suffix: str, fault: str, signing: Signing, tmp_path: Path
) -> None:
    if fault == "missing":
        path, line = tmp_path / "absent.json", None
    else:
        path, line = _write(tmp_path, suffix, command.document, fault)
    r = runner.invoke(app, command.args(path, signing, tmp_path))
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.stderr
    problems = _problem_lines(r.stderr)
    assert len(problems) == 1, r.stderr
    where = rf"{re.escape(str(path))}:{line}[:,] " if line is not None else rf"{re.escape(str(path))}: cannot read"
    assert re.match(where, problems[0]), (where, r.stderr)
    key = command.document[1]
    if fault == "syntax":
        assert ("not valid JSON" if suffix == ".json" else "not valid YAML") in problems[0]
    elif fault == "value":
        assert re.search(rf"\b{key}: ", problems[0]), problems[0]  # the field is named
    else:
        assert "No such file or directory" in problems[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name] if fault != "missing" else True


def test_certify_refuses_a_result_that_does_not_validate_naming_its_line(signing: Signing, tmp_path: Path) -> None:
    lines = signing.result.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith('  "person":'))
    lines[n] = '  "person": 123,'
    bad = tmp_path / "result.json"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "c.json"
    args = ["certify", str(bad), "--key", str(signing.key), "--issuer", str(signing.issuer), "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and not out.exists()
    assert _problem_lines(r.stderr) == [f"{bad}:{n + 1}: person: Input should be a valid string"]
    # a JSON Lines file of two results: one result at a time
    args[1] = str(signing.results)
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert _problem_lines(r.stderr) == [f"{signing.results}: 2 results in the file; certify one result at a time"]
    # the valid result is certified
    args[1] = str(signing.result)
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["issuer"]["id"] == "https://issuer.example/i"


def test_screen_names_the_bad_line_of_a_results_file(signing: Signing, tmp_path: Path) -> None:
    good = signing.results.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "results.jsonl"
    bad.write_text(f'{good[0]}\n{{"person": @}}\n{good[1]}\n{{"person": 5}}\n', encoding="utf-8")
    r = runner.invoke(app, ["screen", str(bad), "--profile", PROFILE])
    assert r.exit_code == 2
    problems = _problem_lines(r.stderr)
    assert len(problems) == 2
    assert problems[0].startswith(f"{bad}:2: not valid JSON")
    assert problems[1].startswith(f"{bad}:4: not an assessment result: ")
    r = runner.invoke(app, ["screen", str(signing.results), "--profile", PROFILE])
    assert r.exit_code == 0, r.output
    rows = r.stdout.splitlines()
    assert rows[0].startswith("rank,person,result_id,profile,score,band") and len(rows) == 3


def test_status_register_that_does_not_validate_and_nothing_changed_before_the_key_is_checked(
    signing: Signing, tmp_path: Path
) -> None:
    reg, out = tmp_path / "reg.json", tmp_path / "list.json"
    r = runner.invoke(app, ["status", "new", str(reg), "--url", "https://issuer.example/status/1"])
    assert r.exit_code == 0, r.output
    lines = reg.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.strip().startswith('"url":'))
    broken = tmp_path / "broken.json"
    broken.write_text("\n".join([*lines[:n], ' "url": "ftp://x",', *lines[n + 1 :]]) + "\n", encoding="utf-8")
    signing_args = ["--key", str(signing.key), "--issuer", str(signing.issuer), "--out", str(out)]
    r = runner.invoke(app, ["status", "publish", str(broken), *signing_args])
    assert r.exit_code == 2 and not out.exists()
    (problem,) = _problem_lines(r.stderr)
    assert problem.startswith(f"{broken}:{n + 1}: url: String should match pattern")
    # revoke with an unreadable issuer profile: refused before the register is touched
    before = reg.read_bytes()
    r = runner.invoke(
        app,
        [
            "status",
            "revoke",
            str(reg),
            "0",
            "--key",
            str(signing.key),
            "--issuer",
            str(tmp_path / "no.json"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2 and reg.read_bytes() == before and not out.exists()
    # a new register with a bad issuer is not made at all
    r = runner.invoke(
        app,
        [
            "status",
            "new",
            str(tmp_path / "reg2.json"),
            "--url",
            "https://issuer.example/status/2",
            "--key",
            str(signing.key),
            "--issuer",
            str(broken),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2 and not (tmp_path / "reg2.json").exists()


# ---------------------------------------------------------------------------------------------- take options
def test_take_config_lowers_the_minimum_with_a_small_maximum() -> None:
    assert take_config().stopping.max_items_per_area == 10 and take_config().stopping.min_items_per_area == 4
    small = take_config(2).stopping
    assert (small.min_items_per_area, small.max_items_per_area, small.se_target) == (2, 2, 0.45)
    one = take_config(1).stopping
    assert (one.min_items_per_area, one.max_items_per_area) == (1, 1)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="max_items_per_area must be a whole number of at least 1"):
            take_config(bad)  # type: ignore[arg-type]
    assert [expected_minutes(n) for n in (1, 6, 20, 36, 60)] == [5, 5, 15, 25, 45]


@pytest.mark.parametrize("max_items", [1, 2])
def test_take_with_few_items_per_area_finishes_and_stops_each_area_at_the_maximum(
    max_items: int, tmp_path: Path
) -> None:
    out = tmp_path / "t"
    r = runner.invoke(
        app,
        [
            "take",
            "--simulate-theta",
            "0.5",
            "--max-items-per-area",
            str(max_items),
            "--areas",
            "basic_it,workflows",
            "--out",
            str(out),
            "--lang",
            "en",
            "--seed",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert [(a["area"], a["n_items"]) for a in result["areas"]] == [("basic_it", max_items), ("workflows", max_items)]
    assert f"The test has about {2 * max_items} questions and takes about 5 minutes" in r.stdout
    session = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert len(session["session"]["steps"]) == 2 * max_items


def test_take_refuses_bad_options_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "t"
    cases = [
        (["--max-items-per-area", "0"], "Invalid value for '--max-items-per-area'"),
        (["--areas", " , "], "--areas: no area id in ' , '"),
        (["--areas", "basic_it", "--profile", PROFILE], "give --areas or --profile, not both"),
        (["--answers", str(tmp_path / "none.txt")], "cannot read answers"),
        (["--areas", "astrology"], "unknown area(s) astrology"),
    ]
    for extra, needle in cases:
        r = runner.invoke(app, ["take", "--out", str(out), "--lang", "en", *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert needle in r.stderr or needle in r.output, (needle, r.output)
        assert "Traceback" not in r.output and not out.exists()


def test_expected_length_counts_what_is_left(tmp_path: Path) -> None:
    from digiskill.bank.default import load_default
    from digiskill.cat import CatBank, start_session

    bank = load_default()
    config = take_config(2)
    session = start_session(CatBank.from_parameters(bank.params, config), config, seed=0, areas=["basic_it"])
    assert expected_length(session) == 2  # min(typical 6, max 2) for the one open area
    config = take_config()
    session = start_session(CatBank.from_parameters(bank.params, config), config, seed=0)
    assert expected_length(session) == 36  # six areas × the typical 6


def test_keys_new_names_the_option_of_a_bad_profile_field_and_makes_no_key(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    r = runner.invoke(app, ["keys", "new", "--out", str(key), "--issuer-id", "bad id", "--url", "ftp://x"])
    assert r.exit_code == 2 and not key.exists()
    problems = _problem_lines(r.stderr)
    assert len(problems) == 2  # --url sets url and verify_url: one problem
    assert problems[0].startswith("--issuer-id 'bad id': String should match pattern")
    assert problems[1].startswith("--url 'ftp://x': String should match pattern")
    args = ["--issuer-id", "https://a.example/i", "--url", "https://a.example/", "--valid-days", "3"]
    r = runner.invoke(app, ["keys", "new", "--out", str(key), *args])
    assert r.exit_code == 0, r.output
    profile = json.loads((tmp_path / "issuer.json").read_text(encoding="utf-8"))
    assert (profile["url"], profile["verify_url"]) == ("https://a.example/", "https://a.example/verify/")


def test_loadtest_refuses_an_output_folder_before_taking_any_test(tmp_path: Path) -> None:
    # no service listens on this port: a refusal after the tests had begun would say so, not name --out
    args = ["loadtest", "--url", "http://127.0.0.1:9", "--token", "x", "--n", "1", "--out", str(tmp_path)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert _problem_lines(r.stderr) == [f"{tmp_path}: --out: is a folder; give a file name"]


def test_verify_reads_the_credential_with_the_loaders_parser(tmp_path: Path) -> None:
    cred = tmp_path / "cred.json"
    cred.write_text('{\n  "type": ["VerifiableCredential"],\n  "issuer": @\n}\n', encoding="utf-8")
    r = runner.invoke(app, ["verify", str(cred)])
    assert r.exit_code == 2
    assert _problem_lines(r.stderr) == [f"{cred}:3: not valid JSON: Expecting value (column 13)"]
    # a key twice: JSON parsers keep different copies, so a signed credential with one is refused, not guessed at
    cred.write_text('{"issuer": "did:key:z6Mk1", "issuer": "did:key:z6Mk2"}', encoding="utf-8")
    r = runner.invoke(app, ["verify", str(cred)])
    assert r.exit_code == 2
    assert _problem_lines(r.stderr) == [f"{cred}: key 'issuer' appears twice in one object (JSON keeps only the last)"]
    cred.write_text("[1, 2]", encoding="utf-8")
    r = runner.invoke(app, ["verify", str(cred)])
    assert r.exit_code == 2
    assert _problem_lines(r.stderr) == [f"{cred}: a credential is a JSON object; the file holds a list"]


def test_certify_checks_the_holder_name_before_any_work(signing: Signing, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    base = ["certify", str(signing.result), "--key", str(signing.key), "--issuer", str(signing.issuer)]
    r = runner.invoke(app, [*base, "--out", str(out), "--name", "名前"])
    assert r.exit_code == 2 and not out.exists()
    assert _problem_lines(r.stderr) == [
        "--name: the certificate cannot show the character '名'; write the name with Latin letters"
    ]
    r = runner.invoke(app, [*base, "--out", str(out), "--name", "x" * 81])
    assert r.exit_code == 2 and not out.exists()
    assert _problem_lines(r.stderr) == ["--name: give your name on one line, at most 80 characters"]
    r = runner.invoke(app, [*base, "--out", str(out), "--name", "Søren Ærø"])
    assert r.exit_code == 0, r.output
