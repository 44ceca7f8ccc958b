"""Make docs/take-transcript.md: ``digiskill take`` in an 80 x 24 pseudo-terminal, as a person sees it.

Run from the repository root: ``.venv/bin/python docs/take_transcript.py`` (needs pexpect, a dev dependency).
The person types one invalid answer ("=1"), answers the second item wrong and every other item right, and reads
the first two answers of the review. The demo key and session secret go to a temporary folder.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
PROMPT = re.compile(r"Dit svar \(1-\d\): |Vælg alle rigtige, fx 1 3 \(1-\d\): |Skriv rækkefølgen, fx (\d+): ")


def _reply(child, items, wrong: bool) -> str:
    """The right answer to the item on screen (or the first option, if ``wrong``), as typed numbers."""
    screen = child.before.replace("\r\n", "\n")
    item = next(it for it in items if " ".join(it.stem.da.split()[:6]) in " ".join(screen.split()))
    numbers = {o.id: str(i) for i, o in enumerate(item.options, start=1)}
    if wrong:
        return next(n for o, n in numbers.items() if o not in item.key) if item.format != "ordering" else "1234"
    return " ".join(numbers[k] for k in item.key)


def main() -> None:
    from digiskill.bank.default import load_default

    items = load_default().content.items
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DIGISKILL_HOME": tmp}
        args = ["take", "--areas", "security_gdpr", "--max-items-per-area", "4", "--seed", "1", "--out", "min-test"]
        child = pexpect.spawn(
            str(Path(sys.executable).with_name("digiskill")), args, encoding="utf-8", timeout=120,
            dimensions=(24, 80), cwd=tmp, env=env,
        )  # fmt: skip
        child.logfile_read = io.StringIO()
        child.expect("Tryk Enter for at begynde")
        child.sendline("")
        child.expect(PROMPT)
        first = _reply(child, items, wrong=False)
        child.sendline("=1")
        child.expect(PROMPT)
        child.sendline(first)
        k = 1
        while child.expect([PROMPT, "Vil du se dine svar"]) == 0:
            k += 1
            child.sendline(_reply(child, items, wrong=k == 2))
        child.sendline("")
        child.expect("Tryk Enter for næste svar")
        child.sendline("")
        child.expect("Tryk Enter for næste svar")
        child.sendline("q")
        child.expect(pexpect.EOF)
        seen = child.logfile_read.getvalue().replace("\r\n", "\n")
    text = (
        "# `digiskill take` at 80 columns\n\n"
        "A test of one area (security and data protection, at most 4 items) in Danish, in an 80 × 24 terminal, made\n"
        "by `docs/take_transcript.py`. The person first types `=1` (refused: only the options shown count), then\n"
        "answers (the second item wrong, the others right); at the end they read two of their answers and stop\n"
        "with `q`.\n\n"
        f"```text\n$ digiskill {' '.join(args)}\n{seen.rstrip()}\n```\n"
    )
    (ROOT / "docs" / "take-transcript.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
