"""Hostile inputs to the commands: every bad input gives exit status 2, a message naming the file (or option), no
traceback and no output file; outputs of one command are written all or none.

Commands covered here: score, calibrate, dif, link, screen, bank check, and the one model-file loader
(:func:`digiskill.bank.loading.load_model_file`) with hypothesis over arbitrary bytes. take/certify/verify have
their own suites.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from digiskill.bank.cut_scores import load_cut_scores
from digiskill.bank.loading import load_model_file, parse_json, parse_yaml
from digiskill.bank.parameters import ParameterSet, load_parameter_set
from digiskill.calibrate import calibrate
from digiskill.cli.main import app
from digiskill.errors import InputError
from digiskill.fileio import check_output_paths, write_all

ROOT = Path(__file__).resolve().parents[1]
LSAT7 = ROOT / "examples" / "lsat7"
JOBCENTER = ROOT / "examples" / "jobcenter" / "responses.csv"
runner = CliRunner()

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def assert_refused(res, *names: object, left: tuple[Path, ...] = ()) -> None:
    """Exit 2, every name in the message, no traceback, none of ``left`` written."""
    text = res.output + (res.stderr or "")
    assert res.exit_code == 2, text
    assert "Traceback" not in text and "RuntimeWarning" not in text, text
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    for name in names:
        assert str(name) in text, (name, text)
    for path in left:
        assert not path.exists(), f"{path} was written"
    for path in left:  # no temporaries either
        if path.parent.is_dir():
            assert not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]


# ------------------------------------------------------------------------------------------ hostile model files


def _params_text(**item_update: object) -> str:
    raw = json.loads((LSAT7 / "params-mirt.json").read_text())
    raw["items"][0].update(item_update)
    return json.dumps(raw)


HOSTILE_PARAMS: dict[str, bytes] = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "cp1252": '{"id": "s\xe6t"}'.encode("cp1252"),
    "truncated": (LSAT7 / "params-mirt.json").read_bytes()[:300],
    "list": b"[1, 2, 3]",
    "wrong-types": _params_text(a="steep", b=[1]).encode(),
    "nan": _params_text(b=float("nan")).encode(),
    "infinity": _params_text(a=float("inf")).encode(),
    "huge-slope": _params_text(a=1e308).encode(),
    "huge-difficulty": _params_text(b=-1e308).encode(),
    "slope-51": _params_text(a=51).encode(),
    "negative-slope": _params_text(a=-1).encode(),
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "duplicate-key": b'{"id": "x", "id": "y"}',
    "extra-key": _params_text(colour="red").encode(),
}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 200 persons of LSAT7 (enough for the commands, fast)."""
    path = tmp_path_factory.mktemp("data") / "small.csv"
    lines = (LSAT7 / "responses.csv").read_text().splitlines()
    path.write_text("\n".join(lines[:1] + lines[1::5]) + "\n")
    return path


@pytest.mark.parametrize("kind", sorted(HOSTILE_PARAMS))
def test_score_refuses_a_hostile_parameter_file(kind: str, tmp_path: Path, small_csv: Path) -> None:
    params = tmp_path / f"{kind}.json"
    params.write_bytes(HOSTILE_PARAMS[kind])
    out = tmp_path / "scores.csv"
    res = run("score", small_csv, "--params", params, "--out", out)
    assert_refused(res, params.name, left=(out,))


@pytest.mark.parametrize("kind", ["binary", "nan", "huge-slope", "deep", "truncated"])
def test_link_dif_and_calibrate_refuse_a_hostile_parameter_file(kind: str, tmp_path: Path, small_csv: Path) -> None:
    bad = tmp_path / f"{kind}.json"
    bad.write_bytes(HOSTILE_PARAMS[kind])
    out = tmp_path / "out.json"
    good = LSAT7 / "params-mirt.json"
    assert_refused(run("link", bad, good, "--out", out), bad.name, left=(out,))
    assert_refused(run("link", good, bad, "--out", out), bad.name, left=(out,))
    csv_out = tmp_path / "dif.csv"
    res = run("dif", small_csv, "--params", bad, "--group-col", "person", "--focal", "x", "--out", csv_out)
    assert_refused(res, bad.name, left=(csv_out,))
    assert_refused(run("calibrate", small_csv, "--out", out, "--anchors", bad), bad.name, left=(out,))


def test_a_parameter_file_names_the_line_field_and_item_of_a_value_out_of_bounds(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    raw = json.loads((LSAT7 / "params-mirt.json").read_text())
    raw["items"][2]["a"] = 1e308
    params.write_text(json.dumps(raw, indent=2))
    with pytest.raises(InputError) as err:
        load_parameter_set(params)
    (problem,) = err.value.problems
    assert problem.item_id == "Item.3" and problem.path == str(params)
    assert "items.2.a" in problem.message and "less than or equal to 50" in problem.message
    assert params.read_text().splitlines()[problem.line - 1].strip().startswith('"a": 1e+308')


def test_missing_file_and_folder_as_parameter_file(tmp_path: Path, small_csv: Path) -> None:
    assert_refused(run("score", small_csv, "--params", tmp_path / "nope.json"), "nope.json", "cannot read")
    assert_refused(run("score", small_csv, "--params", tmp_path), str(tmp_path), "folder")


# ------------------------------------------------------------------------------------------ output paths


def _bad_outputs(tmp_path: Path) -> dict[str, Path]:
    plain = tmp_path / "plain.txt"
    plain.write_text("a regular file\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    return {"folder": folder, "under-a-file": plain / "out.csv", "deep-under-a-file": plain / "a" / "b.csv"}


@pytest.mark.parametrize("kind", ["folder", "under-a-file", "deep-under-a-file"])
def test_bad_output_paths_are_refused_before_any_work(kind: str, tmp_path: Path, small_csv: Path) -> None:
    bad = _bad_outputs(tmp_path)[kind]
    good = tmp_path / "good.json"
    params = LSAT7 / "params-mirt.json"
    cases = [
        (["score", small_csv, "--params", params, "--out", bad], "--out"),
        (["score", JOBCENTER, "--out", good, "--results", bad], "--results"),
        (["calibrate", small_csv, "--out", bad], "--out"),
        (["calibrate", small_csv, "--out", good, "--report", bad], "--report"),
        (["link", params, params, "--out", bad], "--out"),
        (["dif", small_csv, "--params", params, "--group-col", "person", "--focal", "P0001", "--out", bad], "--out"),
    ]
    for args, option in cases:
        res = run(*args)
        assert_refused(res, option, bad, left=(good,))


def test_two_outputs_on_one_file_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "same.jsonl"
    assert_refused(run("score", JOBCENTER, "--out", out, "--results", out), "--results", "--out", left=(out,))


def test_score_writes_both_files_or_neither(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, results = tmp_path / "scores.csv", tmp_path / "results.jsonl"
    assert run("score", JOBCENTER, "--out", out, "--results", results).exit_code == 0
    assert out.stat().st_size > 0 and len(results.read_text().splitlines()) == 40
    out.unlink()
    results.unlink()
    import digiskill.fileio as fileio

    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd: int) -> None:  # the second file fails (a full disk)
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", failing_fsync)
    res = run("score", JOBCENTER, "--out", out, "--results", results)
    assert res.exit_code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_calibrate_writes_file_report_and_plots_together(tmp_path: Path, small_csv: Path) -> None:
    out, report = tmp_path / "p.json", tmp_path / "rep" / "r.md"
    res = run("calibrate", small_csv, "--out", out, "--report", report, "--no-fit")
    assert res.exit_code == 0, res.output
    params = load_parameter_set(out)
    # the data file by name and SHA-256, never a local path
    import hashlib

    assert params.calibration.data == "small.csv"
    assert params.calibration.data_sha256 == hashlib.sha256(small_csv.read_bytes()).hexdigest()
    assert str(small_csv.parent) not in out.read_text()
    names = sorted(p.name for p in report.parent.iterdir())
    assert "r.md" in names and not [n for n in names if n.endswith(".tmp")]


# ------------------------------------------------------------------------------------------ calibrate options


@pytest.mark.parametrize(
    ("option", "value", "names"),
    [
        ("--max-iter", "0", ["--max-iter"]),
        ("--max-iter", "-5", ["--max-iter"]),
        ("--tol", "-1", ["--tol"]),
        ("--tol", "0", ["--tol"]),
        ("--tol", "nan", ["--tol"]),
        ("--tol", "inf", ["--tol"]),
        ("--prior-slope", "0,-1", ["--prior-slope"]),
        ("--prior-guessing", "nan,2", ["--prior-guessing"]),
        ("--model", "5pl", ["5pl"]),
    ],
)
def test_calibrate_refuses_bad_numeric_options(
    option: str, value: str, names: list[str], tmp_path: Path, small_csv: Path
) -> None:
    out = tmp_path / "p.json"
    assert_refused(run("calibrate", small_csv, "--out", out, option, value), *names, left=(out,))


def test_calibrate_library_checks_its_arguments() -> None:
    codes = [[0, 1], [1, 0], [1, 1], [0, 0]]
    for kw in ({"max_iter": 0}, {"tol": -1.0}, {"tol": float("nan")}, {"max_iter": 2.5}, {"se": "magic"}):
        with pytest.raises(InputError):
            calibrate(codes, **kw)


def test_calibrate_refuses_an_unknown_item_in_item_models(tmp_path: Path, small_csv: Path) -> None:
    models = tmp_path / "models.csv"
    models.write_text("item,model\n" + "".join(f"Item.{j},2pl\n" for j in range(1, 6)) + "Item.9,3pl\n")
    out = tmp_path / "p.json"
    assert_refused(run("calibrate", small_csv, "--out", out, "--item-models", models), "Item.9", models, left=(out,))


def test_calibrate_refuses_estimates_beyond_the_file_bounds(small_csv: Path) -> None:
    import dataclasses

    import numpy as np

    from digiskill.bank.calibration import parameter_set_of
    from digiskill.bank.responses import read_responses

    table = read_responses(small_csv, None)
    result = calibrate(table.codes, item_ids=table.item_ids, se="none")
    b = result.params.b.copy()
    b[1, 0] = -80.0  # what ML gives an item that hardly discriminates and that nearly everybody answers
    wild = dataclasses.replace(result, params=dataclasses.replace(result.params, b=b))
    with pytest.raises(InputError) as err:
        parameter_set_of(wild, "x", None, None, small_csv, False)
    (problem,) = err.value.problems
    assert problem.item_id == "Item.2" and "-80" in problem.message and "--prior-slope" in problem.message
    ok = parameter_set_of(result, "x", None, None, small_csv, False)
    assert np.allclose(ok.to_arrays().b, result.params.b, equal_nan=True)


# ------------------------------------------------------------------------------------------ screen


@pytest.fixture(scope="module")
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    res = run("score", JOBCENTER, "--out", folder / "s.csv", "--results", folder / "results.jsonl")
    assert res.exit_code == 0, res.output
    return folder / "results.jsonl"


def _screen(results: Path, *extra: object):
    return run("screen", results, "--profile", "office_worker_office365", *extra)


def test_screen_refuses_the_same_result_or_person_twice(tmp_path: Path, results_file: Path) -> None:
    assert _screen(results_file).exit_code == 0
    lines = results_file.read_text().splitlines()
    twice = tmp_path / "twice.jsonl"
    twice.write_text("\n".join([*lines[:3], lines[1]]) + "\n")
    out = tmp_path / "ranked.csv"
    assert_refused(_screen(twice, "--out", out), "twice.jsonl:4", "occurs twice", "line 2", left=(out,))
    other = json.loads(lines[1])
    other["result_id"] = "another-id"
    same_person = tmp_path / "person.jsonl"
    same_person.write_text("\n".join([lines[0], lines[1], json.dumps(other)]) + "\n")
    assert_refused(_screen(same_person, "--out", out), "person.jsonl:3", "person", left=(out,))


@pytest.mark.parametrize("kind", ["binary", "cp1252", "nan", "probability", "truncated", "deep", "empty", "list"])
def test_screen_refuses_hostile_results(kind: str, tmp_path: Path, results_file: Path) -> None:
    first = results_file.read_text().splitlines()[0]
    raw = json.loads(first)
    prob = dict(raw["areas"][0]["level_probabilities"])
    text = {
        "binary": bytes(range(256)),
        "cp1252": first.replace("{", '{"x": "\xe6",', 1).encode("cp1252", "replace"),
        "nan": json.dumps(raw).replace(json.dumps(raw["areas"][0]["theta"]), "NaN", 1).encode(),
        "probability": json.dumps(
            {**raw, "areas": [{**raw["areas"][0], "level_probabilities": {**prob, "1": 7.5}}]}
        ).encode(),
        "truncated": first[: len(first) // 2].encode(),
        "deep": b"[" * 50_000,
        "empty": b"\n\n",
        "list": b"[1, 2]\n",
    }[kind]
    bad = tmp_path / f"{kind}.jsonl"
    bad.write_bytes(text)
    out = tmp_path / "ranked.csv"
    assert_refused(_screen(bad, "--out", out), bad.name, left=(out,))


@pytest.mark.parametrize("kind", ["alias-bomb", "deep", "binary", "not-a-mapping", "duplicate-key"])
def test_screen_refuses_hostile_profiles(kind: str, tmp_path: Path, results_file: Path) -> None:
    text = {
        "alias-bomb": ALIAS_BOMB,
        "deep": "profiles: " + "[" * 5000 + "]" * 5000 + "\n",
        "binary": "\x00\x01\x02",
        "not-a-mapping": "- 1\n- 2\n",
        "duplicate-key": "version: '1'\nversion: '2'\nprofiles: []\n",
    }[kind]
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(text)
    out = tmp_path / "ranked.csv"
    assert_refused(_screen(results_file, "--profiles", profiles, "--out", out), "profiles.yaml", left=(out,))


def test_screen_refuses_a_folder_as_output(tmp_path: Path, results_file: Path) -> None:
    assert_refused(_screen(results_file, "--out", tmp_path), "--out", "folder")


# ------------------------------------------------------------------------------------------ bank check


def _bank_copy(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "bank"
    shutil.copytree(ROOT / "items", folder)
    return folder


@pytest.mark.parametrize("kind", ["alias-bomb", "merge-key", "deep-flow", "deep-block", "binary", "cp1252", "huge"])
def test_bank_check_refuses_hostile_yaml(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _bank_copy(tmp_path)
    target = folder / "areas" / "basic_it.yaml"
    original = target.read_text()
    if kind == "huge":
        import digiskill.bank.loading as loading

        monkeypatch.setattr(loading, "MAX_FILE_BYTES", 1000)  # the real limit is 64 MiB: same code path, less disk
    content = {
        "alias-bomb": ALIAS_BOMB,
        "merge-key": "base: &base {level: 1}\nitems:\n  - <<: *base\n    id: x\n",
        "deep-flow": "items: " + "[" * 900 + "]" * 900 + "\n",
        "deep-block": "items:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
        "binary": "\x00" * 10,
        "cp1252": None,
        "huge": original,
    }[kind]
    if content is None:
        target.write_bytes(original.replace("'", "\u2019", 1).encode("utf-8") + "æøå: x\n".encode("cp1252"))
    else:
        target.write_text(content)
    res = run("bank", "check", folder)
    text = res.output
    assert res.exit_code == 2 and "Traceback" not in text, text
    assert "basic_it.yaml" in text
    if kind in ("alias-bomb", "merge-key"):
        line = {"alias-bomb": 2, "merge-key": 3}[kind]
        assert "aliases" in text and f"basic_it.yaml:{line}" in text, text


def test_yaml_aliases_are_refused_with_the_line_of_the_alias() -> None:
    with pytest.raises(InputError) as err:
        parse_yaml("a: &x 1\nb: 2\nc: *x\n", "f.yaml")
    (problem,) = err.value.problems
    assert problem.line == 3 and "line 1" in problem.message and problem.path == "f.yaml"


# ------------------------------------------------------------------------------------------ fileio


def test_write_all_leaves_nothing_when_a_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "plain"
    blocker.write_text("x")
    first = tmp_path / "first.txt"
    with pytest.raises(OSError):
        write_all({first: "one", blocker / "second.txt": "two"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_write_all_keeps_the_old_files_when_it_fails_and_creates_private_files_private(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    write_all({a: "new a", b: b"new b"}, modes={b: 0o600})
    assert a.read_text() == "new a" and b.read_bytes() == b"new b"
    assert stat.S_IMODE(b.stat().st_mode) == 0o600
    with pytest.raises(OSError):
        write_all({a: "newer a", tmp_path / "a.txt" / "x": "y"})
    assert a.read_text() == "new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_check_output_paths_names_the_option(tmp_path: Path) -> None:
    existing = tmp_path / "exists.json"
    existing.write_text("{}")
    with pytest.raises(InputError) as err:
        check_output_paths({"--out": tmp_path, "--key": existing, "--report": existing / "r.md"}, overwrite=False)
    messages = [p.message for p in err.value.problems]
    assert messages[0].startswith("--out: is a folder")
    assert messages[1].startswith("--key: the file exists")
    assert messages[2].startswith("--report: cannot create the file")
    check_output_paths({"--out": tmp_path / "new" / "deeper" / "x.json", "--report": None})


# ------------------------------------------------------------------------------------------ property tests

_FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@_FAST
@given(data=st.binary(max_size=400) | _JSONISH.map(lambda v: json.dumps(v).encode()))
def test_parameter_and_cut_score_loaders_raise_only_input_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(data)
    for load in (load_parameter_set, load_cut_scores):
        with pytest.raises(InputError) as err:
            load(path)
        assert all(p.path == str(path) for p in err.value.problems)


@_FAST
@given(
    value=st.floats() | st.integers() | st.text(max_size=5) | st.none(),
    field=st.sampled_from(["a", "b", "c", "d", "id", "model", "area"]),
)
def test_a_mutated_item_either_loads_with_bounded_finite_values_or_is_refused(
    tmp_path: Path, value: object, field: str
) -> None:
    raw = json.loads((LSAT7 / "params-mirt.json").read_text())
    raw["items"][1][field] = value
    path = tmp_path / "p.json"
    try:
        path.write_text(json.dumps(raw))
    except ValueError:
        return
    try:
        ps = load_parameter_set(path)
    except InputError as err:
        assert err.problems and all(p.path == str(path) for p in err.problems)
        return
    arrays = ps.to_arrays()
    import numpy as np

    assert np.isfinite(arrays.a).all() and (np.abs(arrays.a) <= 50).all()
    assert (np.abs(arrays.b[np.isfinite(arrays.b)]) <= 50).all()


@_FAST
@given(text=st.text(max_size=300))
def test_yaml_and_json_parsers_raise_only_input_errors(text: str) -> None:
    for parse in (parse_yaml, parse_json):
        try:
            parse(text, "f")
        except InputError:
            pass


def test_load_model_file_reads_yaml_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    raw = json.loads((LSAT7 / "params-mirt.json").read_text())
    import yaml

    raw["items"][3]["b"] = 99
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(InputError) as err:
        load_model_file(path, ParameterSet, what="parameter set")
    (problem,) = err.value.problems
    assert problem.item_id == "Item.4" and problem.line is not None
    assert path.read_text().splitlines()[problem.line - 1].strip() == "b: 99"


def test_schema_refuses_an_out_dir_that_is_a_file_or_lies_under_one(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert_refused(run("schema", "--out-dir", plain), "--out-dir", "plain")
    assert_refused(run("schema", "--out-dir", plain / "sub"), "--out-dir", "not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
    assert run("schema", "--out-dir", tmp_path / "schemas").exit_code == 0
    assert len(list((tmp_path / "schemas").glob("*.schema.json"))) >= 10


@pytest.mark.parametrize("kind", ["binary", "cp1252", "empty", "semicolons", "folder", "bad-model"])
def test_calibrate_refuses_a_hostile_item_model_file(kind: str, tmp_path: Path, small_csv: Path) -> None:
    models = tmp_path / "models.csv"
    rows = "".join(f"Item.{j},2pl\n" for j in range(1, 6))
    if kind == "folder":
        models.mkdir()
    else:
        models.write_bytes(
            {
                "binary": b"\x00\xff\xfe" * 20,
                "cp1252": ("item,model\n" + rows + "Æble,2pl\n").encode("cp1252"),
                "empty": b"",
                "semicolons": ("item;model\n" + rows.replace(",", ";")).encode(),
                "bad-model": ("item,model\n" + rows.replace("Item.3,2pl", "Item.3,7pl")).encode(),
            }[kind]
        )
    out = tmp_path / "p.json"
    assert_refused(run("calibrate", small_csv, "--out", out, "--item-models", models), "models.csv", left=(out,))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("alias.yaml", ALIAS_BOMB),
        ("broken.yaml", "selection: [\n"),
        ("list.json", "[1, 2]"),
        ("nan.json", '{"cut_score": NaN}'),
        ("unknown-key.yaml", "selection:\n  rule: mfi\ncolour: red\n"),
        ("deep.json", "[" * 10_000),
    ],
)
def test_cat_next_refuses_a_hostile_configuration(name: str, text: str, tmp_path: Path) -> None:
    config = tmp_path / name
    config.write_text(text)
    res = run("cat", "next", "--params", LSAT7 / "params-mirt.json", "--config", config)
    assert_refused(res, name)


def test_examples_cat_configurations_still_load() -> None:
    for config in sorted((ROOT / "examples" / "cat").glob("*.yaml")):
        res = run("cat", "next", "--params", LSAT7 / "params-mirt.json", "--config", config)
        assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--theta-mean", "nan"], ["--theta-mean"]),
        (["--theta-sd", "inf"], ["--theta-sd"]),
        (["--cut", "nan"], ["--cut"]),
        (["--n", "10000000000"], ["--n"]),
        (["--theta-file", "THETA:theta\n1e308\n"], ["theta.csv:2"]),
        (["--theta-file", b"theta\n\xe6\n"], ["theta.csv:2", "UTF-8"]),
    ],
)
def test_simulate_refuses_non_finite_or_huge_numbers(args: list, names: list[str], tmp_path: Path) -> None:
    if args[0] == "--theta-file":
        theta = tmp_path / "theta.csv"
        data = args[1]
        theta.write_bytes(data if isinstance(data, bytes) else data.removeprefix("THETA:").encode())
        args = ["--theta-file", theta]
    out = tmp_path / "report.json"
    res = run("simulate", "--params", LSAT7 / "params-mirt.json", "--n", "10", *args, "--out", out)
    assert_refused(res, *names, left=(out,))
