"""``digiskill take`` driven as a person would: through a pseudo-terminal, with a pause and a resume; and its checks
before the first item, its sealed session files and its result folder, through the CLI runner."""

from __future__ import annotations

import io
import json
import re
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digiskill.cli.main import app
from digiskill.results.signing import verify_credential

pexpect = pytest.importorskip("pexpect")

DIGISKILL = str(Path(sys.executable).with_name("digiskill"))
PROMPT = re.compile(
    r"Your answer \(1-(\d)\): |Choose all that apply, e\.g\. 1 3 \(1-(\d)\): |Type the order, e\.g\. (\d+): "
)
STEM = re.compile(r"Question (\d+) of about \d+ · [^\n]*\r?\n\r?\n([^\n]+)\n")
RESULT_FILES = ("result.json", "credential.json", "certificate.pdf", "cv-lines.txt")


def _answer(child) -> None:
    """Answer the current prompt with a valid reply (first option, or a full order)."""
    order = child.match.group(3)
    child.sendline(order if order else "1")


def _spawn(*args: str, cwd: Path | None = None):
    child = pexpect.spawn(DIGISKILL, list(args), encoding="utf-8", timeout=60, dimensions=(24, 80), cwd=cwd)
    child.logfile_read = io.StringIO()  # everything the person saw
    return child


def _seen(child) -> list[str]:
    return child.logfile_read.getvalue().replace("\r\n", "\n").split("\n")


def test_take_pause_resume_and_finish(tmp_path: Path, digiskill_home: Path) -> None:
    out = tmp_path / "me"
    child = _spawn(
        "take", "--lang", "en", "--areas", "security_gdpr", "--seed", "3", "--out", str(out),
        "--max-items-per-area", "6",
    )  # fmt: skip
    child.expect(r"Welcome\. The test has about 6 questions and takes about 5 minutes\.")
    child.expect("Press Enter to begin")
    child.sendline("")
    for _ in range(3):
        child.expect(STEM)
        child.expect(PROMPT)
        _answer(child)
    child.expect(STEM)
    pending = child.match.group(2)  # the item on screen when the person pauses
    child.expect(PROMPT)
    for typed in ("=1", "x", "0", "9"):  # no shortcut to a score, only the options shown
        child.sendline(typed)
        child.expect(r"I cannot use that answer\. Type (one|every) (number|or more)")
        child.expect(PROMPT)
    child.sendintr()  # Ctrl-C: the session is saved, as with p
    if child.expect(["Paused", pexpect.TIMEOUT], timeout=15) == 1:
        # CPython's line reader can miss a SIGINT that lands after it checked for signals and before it waits for
        # the terminal (it then waits for input); a person presses Ctrl-C again, and so does the test
        child.sendintr()
        child.expect("Paused")
    child.expect(pexpect.EOF)
    session = json.loads((out / "session.json").read_text())["session"]
    assert len(session["steps"]) == 3 and not session["finished"]

    # the folder holds a paused test: a new test there is refused before the first item
    child = _spawn("take", "--lang", "en", "--out", str(out))
    child.expect("The folder holds a test that is not finished")
    child.expect("--resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2

    # resume without --out: the result files go next to the session file, in the session's language
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    child = _spawn("take", "--resume", str(out / "session.json"), cwd=elsewhere)
    child.expect("Welcome back. You have answered 3 questions")
    child.expect("Press Enter to begin")
    child.sendline("")
    child.expect(STEM)
    assert child.match.group(2) == pending  # resuming asks exactly the item that was on screen
    child.expect(PROMPT)
    _answer(child)
    while child.expect([PROMPT, "The test is finished"]) == 0:
        _answer(child)
    child.expect("Your result")
    child.expect("Your files:")
    child.expect("Do you want to see your answers")
    listed = child.before
    child.sendline("")
    child.expect("Answer 1 of")
    child.expect(r"Right (answer|answers|order): ")
    child.expect("Explanation: ")
    child.expect("Press Enter for the next answer")
    child.sendline("")
    child.expect("Answer 2 of")
    child.expect("Press Enter for the next answer")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = _seen(child)
    assert max(len(line) for line in screen if str(tmp_path) not in line) <= 80  # fits an 80-column terminal
    # the review shows what the person typed (first option, or the order 4321 / 54321) and stops when asked
    yours = [line for line in screen if line.startswith(("Your answer: ", "Your choices: ", "Your order: "))]
    assert len(yours) == 2 and all(line.endswith((": 1", ": 4 3 2 1", ": 5 4 3 2 1")) for line in yours)
    assert not any(line.startswith("Answer 3 of") for line in screen)
    assert list(elsewhere.iterdir()) == []
    for name in (*RESULT_FILES, "session.json"):
        assert (out / name).exists(), name
        assert str(out / name) in listed
    result = json.loads((out / "result.json").read_text())
    assert result["mode"] == "adaptive" and result["seed"] == 3 and 4 <= len(result["steps"]) <= 6
    assert verify_credential(json.loads((out / "credential.json").read_text())).ok
    assert (out / "certificate.pdf").read_bytes().startswith(b"%PDF")
    assert not list(out.glob("*.pem"))  # the demo key lives in the installation's state folder, mode 600
    demo_key = digiskill_home / "demo-issuer-key.pem"
    assert stat.S_IMODE(demo_key.stat().st_mode) == 0o600


def test_an_edited_session_is_refused_on_resume_in_the_terminal(tmp_path: Path) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n")  # one answer, then the file runs out: paused
    r = CliRunner().invoke(app, ["take", "--answers", str(answers), "--areas", "basic_it", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    path = tmp_path / "session.json"
    raw = json.loads(path.read_text())
    raw["session"]["steps"][0]["response"] = 1 - raw["session"]["steps"][0]["response"]
    path.write_text(json.dumps(raw))
    child = _spawn("take", "--resume", str(path))
    child.expect("Den gemte test kan ikke fortsættes, fordi filen er ændret")
    child.expect("digiskill take --out")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert not any((tmp_path / f).exists() for f in RESULT_FILES)


def _run(args: list[str]):
    return CliRunner().invoke(app, ["take", *args])


def test_take_with_a_simulated_person_and_from_an_answer_file(tmp_path: Path) -> None:
    r = _run(
        ["--simulate-theta", "1.0", "--profile", "hotel_cleaning_assistant", "--out", str(tmp_path / "sim"),
         "--max-items-per-area", "5", "--seed", "4"]
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Testen er slut" in r.stdout  # Danish by default
    result = json.loads((tmp_path / "sim" / "result.json").read_text())
    assert {a["area"] for a in result["areas"]} == {"basic_it", "workflows"}  # the profile's essential areas
    # the simulated person types options (never a score) and is deterministic given the seed
    typed = re.findall(
        r"(?:Dit svar \(1-\d\)|Vælg alle rigtige, fx 1 3 \(1-\d\)|Skriv rækkefølgen, fx \d+): (.*)", r.stdout
    )
    assert typed and all(re.fullmatch(r"\d( \d)*", t) for t in typed)
    again = _run(
        ["--simulate-theta", "1.0", "--profile", "hotel_cleaning_assistant", "--out", str(tmp_path / "sim2"),
         "--max-items-per-area", "5", "--seed", "4"]
    )  # fmt: skip
    steps = [(s["item"], s["response"]) for s in result["steps"]]
    assert steps == [
        (s["item"], s["response"]) for s in json.loads((tmp_path / "sim2" / "result.json").read_text())["steps"]
    ]
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n4213\n")
    r = _run(["--answers", str(answers), "--areas", "basic_it", "--out", str(tmp_path / "file")])
    assert r.exit_code == 0 and "digiskill take --resume" in r.stdout  # the file ran out: paused and saved
    bad = _run(["--areas", "astrology", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "unknown area" in bad.stderr
    assert again.exit_code == 0


def test_a_bad_scripted_answer_is_an_error_not_a_loop(tmp_path: Path) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n=1\n")
    r = _run(["--answers", str(answers), "--areas", "basic_it", "--out", str(tmp_path), "--lang", "en"])
    assert r.exit_code == 2
    assert "Answer 2 of the answer file cannot be used: '=1'" in r.stderr
    assert "Traceback" not in r.output
    saved = json.loads((tmp_path / "session.json").read_text())["session"]
    assert len(saved["steps"]) == 1  # the answer before the bad one is kept


def test_bad_key_issuer_or_output_is_refused_before_the_first_item(tmp_path: Path) -> None:
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("hello")
    file_out = tmp_path / "a-file"
    file_out.write_text("x")
    cases = [
        (["--key", str(not_a_key), "--issuer", str(tmp_path / "none.json")], "not a readable PEM private key"),
        (["--key", str(tmp_path / "missing.pem"), "--issuer", str(tmp_path / "none.json")], "cannot read"),
        (["--issuer", str(tmp_path / "none.json")], "--issuer needs --key"),
        (["--out", str(file_out)], "--out skal være en mappe"),
        (["--simulate-theta", "0", "--answers", str(not_a_key)], "not both"),
        (["--simulate-theta", "0", "--name", "名前"], "the certificate cannot show the character '名'"),
        (["--simulate-theta", "1e308"], "--simulate-theta"),
        (["--simulate-theta", "nan"], "--simulate-theta"),
    ]
    for args, message in cases:
        r = _run(["--areas", "basic_it", *args] + ([] if "--out" in args else ["--out", str(tmp_path / "o")]))
        assert r.exit_code == 2, (args, r.output)
        assert message in r.stderr or message in r.output, (args, r.output)
        assert "Spørgsmål 1" not in r.stdout and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()  # refused before anything was made
    (tmp_path / "busy" / "result.json").mkdir(parents=True)
    r = _run(["--areas", "basic_it", "--simulate-theta", "0", "--out", str(tmp_path / "busy"), "--lang", "en"])
    assert r.exit_code == 2 and "result.json is a folder" in r.stderr and "Traceback" not in r.output


def test_a_real_key_and_issuer_sign_and_few_items_per_area_work(tmp_path: Path) -> None:
    keys = CliRunner().invoke(
        app, ["keys", "new", "--out", str(tmp_path / "k.pem"), "--issuer-id", "https://jc.example/i",
              "--issuer-out", str(tmp_path / "issuer.json")]
    )  # fmt: skip
    if keys.exit_code != 0:
        pytest.fail(keys.output)
    r = _run(
        ["--simulate-theta", "0", "--areas", "basic_it", "--max-items-per-area", "2", "--out", str(tmp_path / "o"),
         "--key", str(tmp_path / "k.pem"), "--issuer", str(tmp_path / "issuer.json"), "--lang", "en"]
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert len(result["steps"]) == 2
    credential = json.loads((tmp_path / "o" / "credential.json").read_text())
    assert credential["issuer"]["id"] == "https://jc.example/i"
    assert "demo key" not in r.stdout


def test_resume_refuses_garbage_and_forgeries_with_exit_2_in_the_sessions_language(tmp_path: Path) -> None:
    from digiskill.cat.sessionfile import SessionFile, seal_session

    answers = tmp_path / "answers.txt"
    answers.write_text("1\n")
    r = _run(["--answers", str(answers), "--areas", "basic_it", "--out", str(tmp_path / "s"), "--lang", "en"])
    assert r.exit_code == 0, r.output
    sealed = SessionFile.model_validate_json((tmp_path / "s" / "session.json").read_text())
    forged = sealed.session.model_copy(update={"finished": True, "stop_rule": "all_areas_finished"})
    cases = {
        # no language to trust: Danish, the default
        "garbage.json": (b"\x00\xff" * 50, "Filen er ikke en gemt digiskill-test"),
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "Filen er ikke en gemt digiskill-test"),
        "list.json": (b"[1, 2, 3]", "Filen er ikke en gemt digiskill-test"),
        "forged.json": (seal_session(forged, "en").encode(), "the replay gives False, the session stores True"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        r = _run(["--resume", str(path)])
        assert r.exit_code == 2, (name, r.output)
        assert message in r.stderr, (name, r.stderr)
        assert ("cannot go on" in r.stderr) == (name == "forged.json")
        assert "Traceback" not in r.output and "Question 1" not in r.stdout
    r = _run(["--resume", str(tmp_path / "missing.json"), "--lang", "da"])
    assert r.exit_code == 2 and "Den gemte test kan ikke åbnes" in r.stderr


def test_only_the_options_shown_are_answers_with_the_same_separators_for_every_format() -> None:
    from digiskill.bank.default import load_default
    from digiskill.cli.take import parse_answer

    items = {}
    for it in load_default().content.items:
        items.setdefault((it.format, len(it.options)), it)
    single, multi, order = items[("single_choice", 4)], items[("multiple_response", 5)], items[("ordering", 4)]
    ids = [o.id for o in order.options]
    for text in ("4231", "4,2,3,1", "4 2 3 1", " 4, 2 3;1 "):
        assert parse_answer(order, text) == [ids[3], ids[1], ids[2], ids[0]], text
    for text in ("423", "4 2 3 1 1", "4,2,3,5", "=1", "4231x", "", "４２３１"):
        assert parse_answer(order, text) is None, text
    m = [o.id for o in multi.options]
    for text in ("13", "1,3", "1 3", "3 1"):
        assert sorted(parse_answer(multi, text)) == sorted([m[0], m[2]]), text
    for text in ("1 1", "0", "6", "=2", "1-3"):
        assert parse_answer(multi, text) is None, text
    assert parse_answer(single, "2") == single.options[1].id
    assert parse_answer(single, " 2, ") == single.options[1].id
    for text in ("=1", "=0", "0", "5", "12", "1 2", "1,2", "x", "-1", "2.0", ""):
        assert parse_answer(single, text) is None, text
