"""``digiskill take`` driven as a person would: through a pseudo-terminal, with a pause and a resume."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from digiskill.results.signing import verify_credential

pexpect = pytest.importorskip("pexpect")

DIGISKILL = str(Path(sys.executable).with_name("digiskill"))
PROMPT = re.compile(
    r"Your answer \(1-(\d)\): |Choose all that apply, e\.g\. 1,3 \(1-(\d)\): |Type the order, e\.g\. ([\d,]+): "
)
STEM = re.compile(r"\[(\d+)\] [^\n]*\n([^\n]+)\n")


def _answer(child) -> None:
    """Answer the current prompt with a valid reply (first option, or a full order)."""
    order = child.match.group(3)
    child.sendline(order if order else "1")


def test_take_pause_resume_and_finish(tmp_path: Path) -> None:
    out = tmp_path / "me"
    child = pexpect.spawn(
        DIGISKILL,
        [
            "take",
            "--lang",
            "en",
            "--areas",
            "security_gdpr",
            "--seed",
            "3",
            "--out",
            str(out),
            "--max-items-per-area",
            "6",
        ],
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Welcome")
    for _ in range(3):
        child.expect(STEM)
        child.expect(PROMPT)
        _answer(child)
    child.expect(STEM)
    pending = child.match.group(2)  # the item on screen when the person pauses
    child.expect(PROMPT)
    child.sendline("x")  # not an answer: asked again
    child.expect("I cannot use that answer")
    child.expect(PROMPT)
    child.sendintr()  # Ctrl-C: the session is saved, as with p
    child.expect("Paused")
    child.expect(pexpect.EOF)
    session = json.loads((out / "session.json").read_text())
    assert len(session["steps"]) == 3 and not session["finished"]

    child = pexpect.spawn(
        DIGISKILL,
        ["take", "--lang", "en", "--resume", str(out / "session.json"), "--out", str(out)],
        encoding="utf-8",
        timeout=60,
    )
    child.expect(STEM)
    assert child.match.group(2) == pending  # resuming asks exactly the item that was on screen
    child.expect(PROMPT)
    _answer(child)
    while child.expect([PROMPT, "The test is finished"]) == 0:
        _answer(child)
    child.expect("Your result")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    for name in ("result.json", "credential.json", "certificate.pdf", "cv-lines.txt"):
        assert (out / name).exists(), name
    result = json.loads((out / "result.json").read_text())
    assert result["mode"] == "adaptive" and result["seed"] == 3 and 4 <= len(result["steps"]) <= 6
    assert verify_credential(json.loads((out / "credential.json").read_text())).ok
    assert (out / "certificate.pdf").read_bytes().startswith(b"%PDF")


def test_take_with_a_simulated_person_and_from_an_answer_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from digiskill.cli.main import app

    r = CliRunner().invoke(
        app,
        [
            "take",
            "--simulate-theta",
            "1.0",
            "--profile",
            "hotel_cleaning_assistant",
            "--out",
            str(tmp_path / "sim"),
            "--max-items-per-area",
            "5",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Testen er slut" in r.stdout  # Danish by default
    result = json.loads((tmp_path / "sim" / "result.json").read_text())
    assert {a["area"] for a in result["areas"]} == {"basic_it", "workflows"}  # the profile's essential areas
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n2\n")
    r = CliRunner().invoke(
        app, ["take", "--answers", str(answers), "--areas", "basic_it", "--out", str(tmp_path / "file")]
    )
    assert r.exit_code == 0 and "digiskill take --resume" in r.stdout  # the file ran out: paused and saved
    bad = CliRunner().invoke(app, ["take", "--areas", "astrology", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "unknown area" in bad.stderr
