"""``digiskill take``: a person takes an adaptive test in the terminal and leaves with a result and a certificate.

One item at a time, numbered options, answers by number; one progress line ("Spørgsmål 12 af ca. 36"), never the
score during the test. Only the options shown are accepted: one number for a single choice, one or more numbers for
"choose all", all numbers in an order for ordering items, separated by nothing, commas or spaces ("4231",
"4,2,3,1", "4 2 3 1"); anything else is refused with a description of a valid answer. ``p`` (or Ctrl-C, or the end
of input) pauses and saves the session; ``digiskill take --resume SESSION.json`` goes on with the same item.

Saved sessions are sealed (:mod:`digiskill.cat.sessionfile`: HMAC-SHA256 with this installation's secret) and
replayed before they are resumed (:func:`digiskill.cat.replay.verify_session`): an edited file is refused with exit
status 2 and a message in the session's language. Everything that can fail (``--key``, ``--issuer``, ``--out``,
an unfinished session in the folder) is checked before the first item. The four result files (result JSON, signed
Open Badges 3.0 credential, PDF certificate, CV lines) are written as one unit next to the session file. Without
``--key`` a demo key of this installation signs (kept in the per-installation state folder, never in the result
folder).

Non-interactive runs (tests, demos): ``--answers FILE`` (one typed answer per line) or ``--simulate-theta X`` (a
simulated person of ability X draws a score from the model and types options that give that score; seeded).
"""

from __future__ import annotations

import errno
import functools
import re
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..bank.content import Item, item_categories, score_response
from ..bank.default import Bank, load_default
from ..bank.loading import load_model_file
from ..cat import CatBank, CatConfig, Session, answer, next_item, start_session
from ..cat.respond import SimulatedPerson
from ..cat.sessionfile import SessionRefused, open_session_file, read_session_file, write_session_file
from ..cat.take_config import DEFAULT_MAX_ITEMS_PER_AREA, expected_length, expected_minutes, take_config
from ..errors import InputError, Problem
from ..fileio import write_all
from ..localstate import session_secret
from ..results.credential import check_holder_name
from ..results.issuers import Signer, load_signer
from ..results.plan import areas_to_test
from .common import fail_on_bad_input, stderr
from .take_text import WIDTH, say, t, wrap

SESSION_FILE = "session.json"
RESULT_FILES = ("result.json", "credential.json", "certificate.pdf", "cv-lines.txt")


def _refuse(lang: str, key: str, err: InputError | None = None, **kw: object) -> typer.Exit:
    """Print a refusal a person can act on (in their language), then the technical details; exit status 2."""
    stderr.print(wrap(t(key, lang, **kw)), markup=False)
    if err is None:
        return typer.Exit(2)
    return fail_on_bad_input(err)


def take_command(
    lang: Annotated[
        str | None, typer.Option("--lang", help="da (default) or en; a resumed test keeps its language")
    ] = None,
    areas: Annotated[str | None, typer.Option("--areas", help="comma-separated area ids (default: all six)")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="test the essential areas of this job profile")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="seed of every random choice (default 0)")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="folder for the session and result files (default: the current folder; with "
            "--resume: the session's folder)",
        ),
    ] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="a saved session to go on with")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="start over in a folder that holds an unfinished test (deletes it)")
    ] = False,
    answers: Annotated[Path | None, typer.Option("--answers", help="typed answers from a file, one per line")] = None,
    simulate_theta: Annotated[
        float | None,
        typer.Option("--simulate-theta", min=-10.0, max=10.0, help="a simulated person of this ability answers"),
    ] = None,
    max_items: Annotated[
        int | None,
        typer.Option(
            "--max-items-per-area",
            min=1,
            help=f"most items per area (default {DEFAULT_MAX_ITEMS_PER_AREA}; the minimum is 4, or this when smaller)",
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="CAT configuration (JSON or YAML) instead of the default test, e.g. a multidimensional one"
        ),
    ] = None,
    key: Annotated[Path | None, typer.Option("--key", help="issuer private key (default: a demo key)")] = None,
    issuer: Annotated[Path | None, typer.Option("--issuer", help="issuer profile JSON (with --key)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="your name on the certificate (optional)")] = None,
) -> None:
    """Take an adaptive test of your digital skills in the terminal (Danish by default)."""
    if lang is not None and lang not in ("da", "en"):
        raise fail_on_bad_input(InputError(Problem(f"--lang must be da or en, got {lang!r}")))
    shown_lang = lang or "da"
    # --- everything that can fail is checked before the first item; the options first, before any work
    try:
        if answers is not None and simulate_theta is not None:
            raise InputError(Problem("give --answers or --simulate-theta, not both"))
        if name is not None:
            check_holder_name(name)
        if resume is not None and (areas or profile or seed is not None or max_items is not None):
            raise InputError(
                Problem(
                    "--areas, --profile, --seed and --max-items-per-area set up a new test; "
                    "a resumed test keeps its own"
                )
            )
        wanted = _area_ids(areas)
        if wanted and profile:
            raise InputError(Problem("give --areas or --profile, not both"))
        if config_file is not None and (resume is not None or max_items is not None):
            raise InputError(Problem("--config sets up a new test: not with --resume or --max-items-per-area"))
        if config_file is not None:
            config = load_model_file(config_file, CatConfig, what="configuration")
        else:
            config = take_config(DEFAULT_MAX_ITEMS_PER_AREA if max_items is None else max_items)
        typed = _read_answers(answers) if answers is not None else None
    except InputError as err:
        raise _refuse(shown_lang, "bad_options", err) from err
    try:
        session_secret()  # made now if missing: saving the first answer must not be the first to fail
    except InputError as err:
        raise _refuse(shown_lang, "bad_options", err) from err
    if resume is None:  # checks that need no bank come first: a refusal is quick
        signer = _signer(key, issuer, shown_lang)
        folder = out if out is not None else Path()
        _check_no_unfinished(folder / SESSION_FILE, shown_lang, force)
    bank = _default_bank()
    if resume is not None:
        try:
            envelope = read_session_file(resume, bank.params)
        except SessionRefused as err:
            shown_lang = lang or err.language or "da"
            raise _refuse(shown_lang, f"refused_{err.reason}", err, path=resume, folder=resume.parent) from err
        session, choices = envelope.session, [list(c) for c in envelope.choices]
        choices += [[] for _ in range(len(session.steps) - len(choices))]  # "not saved" in the review
        lang = lang or envelope.language or "da"
        session_path = resume
        folder = out if out is not None else resume.parent
        signer = _signer(key, issuer, lang)
    else:
        lang, choices = shown_lang, []
        session_path = folder / SESSION_FILE
    try:
        chosen = None if resume is not None else areas_to_test(bank, wanted, profile)
    except InputError as err:
        raise _refuse(lang, "bad_options", err) from err
    _check_folder(folder, session_path, lang)
    try:
        if resume is None:
            session = start_session(CatBank.from_parameters(bank.params, config), config, seed=seed or 0, areas=chosen)
        cat_bank = CatBank.from_parameters(bank.params, session.config)
        scripted = _answer_source(typed, simulate_theta, bank, session)
    except InputError as err:
        raise _refuse(lang, "bad_options", err) from err
    # --- the test
    content = {it.id: it for it in bank.content.items}
    total = expected_length(session)
    if session.steps:
        say(t("resumed", lang, done=len(session.steps), left=max(total - len(session.steps), 0)))
    else:
        say(t("intro", lang, n=total, minutes=expected_minutes(total)))
    try:
        paging = scripted is None and sys.stdin.isatty()  # piped answers are not eaten by "press Enter"
        if paging and not session.finished:
            _pause_for(t("begin", lang))
        while (item_id := next_item(session, cat_bank)) is not None:
            item = content[item_id]
            _show(item, session, bank, lang)
            reply = _ask(item, lang, scripted, len(session.steps) + 1)
            if reply is None:  # pause
                write_session_file(session_path, session, lang, choices)
                say(t("paused", lang, path=session_path))
                raise typer.Exit(0)
            session = answer(session, cat_bank, item_id, score_response(item, reply))
            choices.append([reply] if isinstance(reply, str) else list(reply))
            write_session_file(session_path, session, lang, choices)
    except (KeyboardInterrupt, EOFError):
        write_session_file(session_path, session, lang, choices)
        typer.echo("")
        say(t("paused", lang, path=session_path))
        raise typer.Exit(0) from None
    except InputError as err:  # a bad scripted answer: the session so far is saved
        write_session_file(session_path, session, lang, choices)
        raise fail_on_bad_input(err) from err
    except OSError as err:  # the folder went away or the disk is full: say so, no traceback
        why = err.strerror or str(err)
        problem = Problem(f"cannot save the test: {why}", str(session_path))
        raise _refuse(lang, "out_not_writable", InputError(problem), path=session_path.parent, why=why) from err
    write_session_file(session_path, session, lang, choices)  # so the listed files are exactly the ones written
    _finish(session, choices, bank, content, lang, folder, session_path, signer, name, interactive=paging)


# ------------------------------------------------------------------------------------------------ checks up front
@functools.cache
def _default_bank() -> Bank:
    """The bundled bank, read once per process (it is never changed)."""
    return load_default()


def _area_ids(areas: str | None) -> list[str] | None:
    """The area ids of ``--areas`` (comma-separated), or None when it is not given."""
    if areas is None:
        return None
    chosen = [a.strip() for a in areas.split(",") if a.strip()]
    if not chosen:
        raise InputError(Problem(f"--areas: no area id in {areas!r}"))
    return chosen


def _check_folder(folder: Path, session_path: Path, lang: str) -> None:
    """``folder`` is (or can be made) a folder we can write files into, and no file we will write is a folder; the
    folder is created now."""
    if folder.exists() and not folder.is_dir():
        raise _refuse(lang, "out_not_folder", InputError(Problem("not a folder", str(folder))), path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder), tempfile.TemporaryFile(dir=session_path.parent):
            pass
        for path in [session_path, *(folder / name for name in RESULT_FILES)]:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, f"{path.name} is a folder", str(path))
    except OSError as err:
        why = err.strerror or str(err)
        raise _refuse(
            lang,
            "out_not_writable",
            InputError(Problem(f"cannot write here: {why}", str(folder))),
            path=folder,
            why=why,
        ) from err


def _check_no_unfinished(session_path: Path, lang: str, force: bool) -> None:
    """Refuse to start over a paused test (unless ``--force``); a finished test's session may be replaced."""
    if force or not session_path.exists():
        return
    try:
        if open_session_file(session_path).session.finished:  # sealed here; replayed only when resumed
            return
    except SessionRefused:
        pass  # a damaged or foreign file: still the person's, so not overwritten without --force
    raise _refuse(
        lang,
        "unfinished_here",
        InputError(Problem("holds an unfinished session; --resume it or start over with --force", str(session_path))),
        folder=session_path.parent,
        path=session_path,
    )


def _signer(key: Path | None, issuer: Path | None, lang: str) -> Signer:
    """The key and issuer profile that will sign (checked now), or this installation's demo issuer."""
    try:
        return load_signer(key, issuer)
    except InputError as err:
        raise _refuse(lang, "key_problem", err) from err


# --------------------------------------------------------------------------------------------------- answering
def _read_answers(path: Path) -> list[str]:
    """The typed answers of ``--answers``, one per line."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise InputError(Problem(f"cannot read answers: {err.strerror}", str(path))) from err
    except UnicodeDecodeError as err:
        raise InputError(Problem("the answer file is not UTF-8 text; save it as UTF-8", str(path))) from err


def _answer_source(
    typed: list[str] | None, theta: float | None, bank: Bank, session: Session
) -> Callable[[Item], str] | None:
    """None (interactive), or a function item -> the text typed for it."""
    if typed is not None:
        lines = iter(typed)
        return lambda item: next(lines, "p")  # the file ran out: pause
    if theta is not None:
        person = SimulatedPerson(theta, bank.params, seed=(session.seed, 7919, len(session.steps)))

        def simulated(item: Item) -> str:
            chosen = person.choose(item)
            picks = [chosen] if isinstance(chosen, str) else chosen
            return " ".join(str(item.option_ids.index(o) + 1) for o in picks)

        return simulated
    return None


def parse_answer(item: Item, text: str) -> str | list[str] | None:
    """The option ids typed as numbers in ``text``, or None when ``text`` is not a valid answer to ``item``.

    Numbers are separated by commas, spaces or semicolons, or, with at most nine options, not at all ("4231").
    Single choice and true-false: exactly one number. Choose all: one or more different numbers. Ordering: every
    number once.
    """
    n = len(item.options)
    text = text.strip()
    if not text:
        return None
    tokens = [tok for tok in re.split(r"[,;\s]+", text) if tok]
    if len(tokens) == 1 and n <= 9 and item.format in ("multiple_response", "ordering"):
        tokens = list(tokens[0])
    if not all(tok.isascii() and tok.isdigit() for tok in tokens):
        return None
    picks = [int(tok) for tok in tokens]
    if any(not 1 <= v <= n for v in picks) or len(set(picks)) != len(picks):
        return None
    ids = [item.options[v - 1].id for v in picks]
    if item.format in ("single_choice", "true_false"):
        return ids[0] if len(ids) == 1 else None
    if item.format == "ordering" and len(ids) != n:
        return None
    return ids


def _ask(item: Item, lang: str, scripted: Callable[[Item], str] | None, step: int) -> str | list[str] | None:
    """The option id(s) the person chose, or None for a pause."""
    n = len(item.options)
    example = "".join(str(i) for i in range(n, 0, -1))
    kind = {"multiple_response": "multi", "ordering": "order"}.get(item.format, "single")
    prompt = t(kind, lang, n=n, ex=example)
    while True:
        if scripted is None:
            typer.echo(prompt, nl=False)
            sys.stdout.flush()
            try:
                text = input().strip()
            except UnicodeDecodeError:  # bytes that are not text: not an answer
                text = "\ufffd"
            if not sys.stdin.isatty():  # piped answers: show them, as a terminal would
                typer.echo(text)
        else:
            text = scripted(item).strip()
            typer.echo(prompt + text)
        if text.lower() in ("p", "pause", "q"):
            return None
        reply = parse_answer(item, text)
        if reply is not None:
            return reply
        refusal = t(f"invalid_{kind}", lang, n=n, ex=example)
        if scripted is not None:
            raise InputError(Problem(f"{t('bad_script', lang, k=step, text=text)} {refusal}", item_id=item.id))
        say(refusal)


# ------------------------------------------------------------------------------------------------- the screens
def _show(item: Item, session: Session, bank: Bank, lang: str) -> None:
    area = bank.content.framework.area(bank.params.items_by_id()[item.id].area)
    progress = t("progress", lang, k=len(session.steps) + 1, n=expected_length(session))
    typer.echo("")
    typer.echo(f"{progress} · {getattr(area.name, lang)}"[:WIDTH])
    typer.echo("")
    _print_item(item, lang)


def _print_item(item: Item, lang: str) -> None:
    """The stem and the numbered options."""
    say(getattr(item.stem, lang))
    for n, opt in enumerate(item.options, start=1):
        say(getattr(opt, lang), indent="     ", first=f"  {n}. ")


def _pause_for(prompt: str) -> str:
    """Show ``prompt`` and wait for Enter; returns what was typed (lower case)."""
    typer.echo(wrap(prompt.rstrip()) + " ", nl=False)
    sys.stdout.flush()
    return input().strip().lower()


def _finish(
    session: Session,
    choices: list[list[str]],
    bank: Bank,
    items: dict[str, Item],
    lang: str,
    folder: Path,
    session_path: Path,
    signer: Signer,
    name: str | None,
    *,
    interactive: bool,
) -> None:
    """Certify a finished, replayed test; write the four files as one unit; show levels, files and answers."""
    from ..cat.replay import verify_session
    from ..results.issue import issue_certificate
    from ..results.models import result_from_session

    try:  # only a test that replays to the same end may be certified
        if not session.finished:
            raise InputError(Problem("the test has not ended; nothing to certify", str(session_path)))
        verify_session(session, bank.params)
        # a random pseudonymous reference: the credential carries only its salted hash, which must not be guessable
        result = result_from_session(session, bank, person=f"take-{secrets.token_urlsafe(16)}")
        cert = issue_certificate(result, bank, signer.profile, signer.key, lang=lang, holder_name=name)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    files = {
        folder / "result.json": result.dump_json() + "\n",
        folder / "credential.json": cert.credential_json,
        folder / "certificate.pdf": cert.pdf,
        folder / "cv-lines.txt": "\n".join(cert.cv_lines) + ("\n" if cert.cv_lines else ""),
    }
    try:
        write_all(files)  # all four files or none
    except OSError as err:
        why = err.strerror or str(err)
        problem = Problem(f"cannot write the result files: {why}", str(folder))
        raise _refuse(lang, "out_not_writable", InputError(problem), path=folder, why=why) from err
    typer.echo("")
    say(t("done", lang))
    typer.echo("")
    say(f"{t('result', lang)}:")
    levels = {lv.level: lv for lv in bank.content.framework.levels}
    for a in result.areas:
        area_name = getattr(bank.content.framework.area(a.area).name, lang)
        if a.certified_level is None:
            say(f"{area_name}: {t('none', lang)}", indent="    ", first="  ")
            say(t("none_why", lang), indent="    ")
        else:
            lv = levels[a.certified_level]
            level = t("level_of", lang, name=getattr(lv.name, lang), k=a.certified_level)
            say(f"{area_name}: {level}", indent="    ", first="  ")
            say(getattr(lv.descriptor, lang), indent="    ")
    if result.provisional:
        typer.echo("")
        say(t("provisional", lang))
    if signer.demo:
        typer.echo("")
        say(t("demo_key", lang))
    typer.echo("")
    say(f"{t('files', lang)}:")
    for path in [*files, session_path]:
        typer.echo(f"  {path}")
        say(t(f"file_{path.name}" if path in files else "file_session", lang), indent="      ")
    try:
        _review(session, choices, bank, items, lang, interactive)
    except (KeyboardInterrupt, EOFError):
        typer.echo("")


def _review(
    session: Session, choices: list[list[str]], bank: Bank, items: dict[str, Item], lang: str, interactive: bool
) -> None:
    """Every item with the person's answer, the right answer and the explanation; one screen at a time."""
    if interactive:
        typer.echo("")
        if _pause_for(t("review_ask", lang)) == "q":
            return
    else:
        typer.echo("")
        say(f"{t('answers', lang)}:")
    n = len(session.steps)
    for k, step in enumerate(session.steps, start=1):
        item = items[step.item]
        max_score = item_categories(item) - 1
        verdict = "right" if step.response == max_score else "partly" if step.response > 0 else "wrong"
        area = getattr(bank.content.framework.area(step.area).name, lang)
        typer.echo("")
        typer.echo(f"{t('review_head', lang, k=k, n=n)} · {area} · {t(verdict, lang)}"[:WIDTH])
        typer.echo("")
        _print_item(item, lang)
        kind = {"multiple_response": "multi", "ordering": "order"}.get(item.format, "single")
        numbers = {o: str(i) for i, o in enumerate(item.option_ids, start=1)}
        chosen = choices[k - 1] if k <= len(choices) else None
        key = list(item.key)
        if kind == "multi":  # a set: shown in option order
            key = [o for o in item.option_ids if o in key]
            chosen = None if chosen is None else [o for o in item.option_ids if o in chosen]
        yours = " ".join(numbers.get(o, "?") for o in chosen) if chosen else t("unknown_choice", lang)
        typer.echo("")
        say(t(f"yours_{kind}", lang, x=yours))
        say(t(f"key_{kind}", lang, x=" ".join(numbers[o] for o in key)))
        say(t("why", lang, x=getattr(item.explanation, lang)))
        if interactive and k < n:
            typer.echo("")
            if _pause_for(t("review_next", lang)) == "q":
                return
