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

import contextlib
import functools
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..bank.content import Item, score_response
from ..bank.default import Bank, load_default
from ..cat import CatBank, CatConfig, Session, answer, next_item, start_session
from ..cat.config import StoppingRules
from ..cat.respond import SimulatedPerson
from ..cat.sessionfile import SessionRefused, read_session_file, write_session_file
from ..errors import InputError, Problem
from ..results.credential import IssuerProfile
from .common import fail_on_bad_input, stderr

WIDTH = 79  # fits an 80-column terminal without the last column (some terminals wrap there)
SESSION_FILE = "session.json"
RESULT_FILES = ("result.json", "credential.json", "certificate.pdf", "cv-lines.txt")
SECONDS_PER_ITEM = 45  # a rough reading-and-answering time, for the length announced at the start
TYPICAL_ITEMS_PER_AREA = 6  # about what the SE target 0.45 needs on the default bank (35 items for 6 areas)

DEMO_ISSUER = IssuerProfile(
    id="https://digiskill.example/issuers/demo",
    name="digiskill demo issuer (not a real issuer)",
    description="A key made on this computer for trying digiskill; certificates signed with it prove nothing.",
)

T = {
    "intro": {
        "da": "Velkommen. Testen har ca. {n} spørgsmål og tager omkring {minutes} minutter. Du får ét spørgsmål "
        "ad gangen. Svar med tallet ud for dit svar og tryk Enter. Skriv p for at holde pause; du kan fortsætte "
        "senere.",
        "en": "Welcome. The test has about {n} questions and takes about {minutes} minutes. You get one question "
        "at a time. Answer with the number of your choice and press Enter. Type p to pause; you can go on later.",
    },
    "resumed": {
        "da": "Velkommen tilbage. Du har svaret på {done} spørgsmål; der er ca. {left} tilbage.",
        "en": "Welcome back. You have answered {done} questions; about {left} are left.",
    },
    "progress": {"da": "Spørgsmål {k} af ca. {n}", "en": "Question {k} of about {n}"},
    "single": {"da": "Dit svar (1-{n}): ", "en": "Your answer (1-{n}): "},
    "multi": {"da": "Vælg alle rigtige, fx 1 3 (1-{n}): ", "en": "Choose all that apply, e.g. 1 3 (1-{n}): "},
    "order": {"da": "Skriv rækkefølgen, fx {ex}: ", "en": "Type the order, e.g. {ex}: "},
    "invalid_single": {
        "da": "Det svar kan jeg ikke bruge. Skriv ét tal fra 1 til {n} og tryk Enter (eller p for pause).",
        "en": "I cannot use that answer. Type one number from 1 to {n} and press Enter (or p to pause).",
    },
    "invalid_multi": {
        "da": "Det svar kan jeg ikke bruge. Skriv et eller flere forskellige tal fra 1 til {n}, fx 1 3 eller 13 "
        "(eller p for pause).",
        "en": "I cannot use that answer. Type one or more different numbers from 1 to {n}, e.g. 1 3 or 13 "
        "(or p to pause).",
    },
    "invalid_order": {
        "da": "Det svar kan jeg ikke bruge. Skriv alle tallene fra 1 til {n} én gang hver, i den rækkefølge du "
        "vælger, fx {ex} (eller p for pause).",
        "en": "I cannot use that answer. Type every number from 1 to {n} once, in the order you choose, e.g. {ex} "
        "(or p to pause).",
    },
    "bad_script": {
        "da": "Svar nr. {k} i svarfilen kan ikke bruges: {text!r}.",
        "en": "Answer {k} of the answer file cannot be used: {text!r}.",
    },
    "paused": {
        "da": "Pause. Din test er gemt. Fortsæt senere med:\n  digiskill take --resume {path}",
        "en": "Paused. Your test is saved. Go on later with:\n  digiskill take --resume {path}",
    },
    "begin": {"da": "Tryk Enter for at begynde. ", "en": "Press Enter to begin. "},
    "done": {"da": "Testen er slut. Tak!", "en": "The test is finished. Thank you!"},
    "result": {"da": "Dit resultat", "en": "Your result"},
    "level_of": {"da": "niveau {k} af 8 ({name})", "en": "level {k} of 8 ({name})"},
    "none": {"da": "ikke bekræftet endnu", "en": "not confirmed yet"},
    "none_why": {
        "da": "Dine svar viste ikke sikkert niveau 1. Det er et godt sted at begynde et kursus.",
        "en": "Your answers did not safely show level 1. That is a good place to start a course.",
    },
    "provisional": {
        "da": "Bemærk: Testen er ny og er endnu ikke afprøvet på rigtige deltagere, så resultatet er foreløbigt.",
        "en": "Note: the test is new and has not yet been tried out with real test-takers, so the result is "
        "provisional.",
    },
    "demo_key": {
        "da": "Beviset er underskrevet med en prøvenøgle fra denne computer, ikke af et jobcenter. Det kan bruges "
        "til at prøve digiskill, men beviser ikke noget over for andre.",
        "en": "The certificate is signed with a trial key of this computer, not by a job centre. It is fine for "
        "trying digiskill, but proves nothing to others.",
    },
    "files": {"da": "Dine filer", "en": "Your files"},
    "file_certificate.pdf": {
        "da": "dit bevis som PDF, som du kan printe eller sende med en ansøgning",
        "en": "your certificate as a PDF, to print or send with an application",
    },
    "file_credential.json": {
        "da": "det samme bevis i digital form; en arbejdsgiver kan få tjekket, at det er ægte",
        "en": "the same certificate in digital form; an employer can have it checked for authenticity",
    },
    "file_cv-lines.txt": {
        "da": "korte linjer, som du kan kopiere ind i dit CV",
        "en": "short lines you can copy into your CV",
    },
    "file_result.json": {
        "da": "alle detaljer om dit resultat (til jobcentret)",
        "en": "every detail of your result (for the job centre)",
    },
    "file_session": {
        "da": "din besvarelse, gemt så den ikke kan ændres",
        "en": "your answers, saved so that they cannot be changed",
    },
    "review_ask": {
        "da": "Vil du se dine svar med forklaringer, ét spørgsmål ad gangen? Tryk Enter (eller q for at slutte). ",
        "en": "Do you want to see your answers with explanations, one question at a time? Press Enter (or q to stop). ",
    },
    "review_next": {
        "da": "Tryk Enter for næste svar (eller q for at slutte). ",
        "en": "Press Enter for the next answer (or q to stop). ",
    },
    "answers": {"da": "Dine svar", "en": "Your answers"},
    "review_head": {"da": "Svar {k} af {n}", "en": "Answer {k} of {n}"},
    "right": {"da": "rigtigt", "en": "right"},
    "partly": {"da": "delvist rigtigt", "en": "partly right"},
    "wrong": {"da": "forkert", "en": "wrong"},
    "yours_single": {"da": "Dit svar: {x}", "en": "Your answer: {x}"},
    "yours_multi": {"da": "Dine valg: {x}", "en": "Your choices: {x}"},
    "yours_order": {"da": "Din rækkefølge: {x}", "en": "Your order: {x}"},
    "key_single": {"da": "Rigtigt svar: {x}", "en": "Right answer: {x}"},
    "key_multi": {"da": "Rigtige svar: {x}", "en": "Right answers: {x}"},
    "key_order": {"da": "Rigtig rækkefølge: {x}", "en": "Right order: {x}"},
    "unknown_choice": {"da": "(ikke gemt)", "en": "(not saved)"},
    "why": {"da": "Forklaring: {x}", "en": "Explanation: {x}"},
    # refusals before the test starts or when a saved test cannot go on
    "refused_changed": {
        "da": "Den gemte test kan ikke fortsættes, fordi filen er ændret, efter den blev gemt (eller er gemt på en "
        "anden computer):\n  {path}\nStart en ny test med:\n  digiskill take --out {folder} --force",
        "en": "The saved test cannot go on, because the file was changed after it was saved (or was saved on another "
        "computer):\n  {path}\nStart a new test with:\n  digiskill take --out {folder} --force",
    },
    "refused_replay": {
        "da": "Den gemte test kan ikke fortsættes, fordi svarene i filen ikke passer med testen (filen er ændret "
        "eller beskadiget):\n  {path}\nStart en ny test med:\n  digiskill take --out {folder} --force",
        "en": "The saved test cannot go on, because the answers in the file do not match the test (the file was "
        "changed or damaged):\n  {path}\nStart a new test with:\n  digiskill take --out {folder} --force",
    },
    "refused_not_a_session": {
        "da": "Filen er ikke en gemt digiskill-test:\n  {path}\nTjek filnavnet; en gemt test hedder normalt "
        "session.json.",
        "en": "The file is not a saved digiskill test:\n  {path}\nCheck the file name; a saved test is usually "
        "called session.json.",
    },
    "refused_unreadable": {
        "da": "Den gemte test kan ikke åbnes. Tjek at filen findes, og at du må læse den:\n  {path}",
        "en": "The saved test cannot be opened. Check that the file exists and that you may read it:\n  {path}",
    },
    "unfinished_here": {
        "da": "Mappen har en test, der ikke er gjort færdig:\n  {folder}\nFortsæt den med:\n"
        "  digiskill take --resume {path}\neller start forfra (den gemte test slettes) med --force.",
        "en": "The folder holds a test that is not finished:\n  {folder}\nGo on with it:\n"
        "  digiskill take --resume {path}\nor start over (the saved test is deleted) with --force.",
    },
    "out_not_folder": {
        "da": "--out skal være en mappe, men det er en fil:\n  {path}\nVælg en mappe (den oprettes, hvis den ikke "
        "findes).",
        "en": "--out must be a folder, but it is a file:\n  {path}\nChoose a folder (it is made if it does not exist).",
    },
    "out_not_writable": {
        "da": "Der kan ikke gemmes filer i mappen ({why}):\n  {path}\nVælg en anden mappe med --out.",
        "en": "Files cannot be saved in the folder ({why}):\n  {path}\nChoose another folder with --out.",
    },
    "key_problem": {
        "da": "Udstedernøglen eller udstederprofilen kan ikke bruges; testen er ikke startet.",
        "en": "The issuer key or issuer profile cannot be used; the test has not started.",
    },
    "bad_options": {
        "da": "Testen kan ikke startes med disse valg.",
        "en": "The test cannot start with these options.",
    },
}


def _t(key: str, lang: str, **kw: object) -> str:
    return T[key][lang].format(**kw)


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    """Wrap ``text`` by words at :data:`WIDTH` (paragraphs kept; the first line may have its own indent)."""
    out = []
    for para in text.splitlines() or [""]:
        lead = first if first is not None and not out else indent
        out.append(
            textwrap.fill(
                para,
                WIDTH,
                initial_indent=lead,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            if para.strip()
            else ""
        )
    return "\n".join(out)


def _say(text: str, indent: str = "", first: str | None = None) -> None:
    typer.echo(_wrap(text, indent, first))


def _refuse(lang: str, key: str, err: InputError | None = None, **kw: object) -> typer.Exit:
    """Print a refusal a person can act on (in their language), then the technical details; exit status 2."""
    stderr.print(_wrap(_t(key, lang, **kw)), markup=False)
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
        float | None, typer.Option("--simulate-theta", help="a simulated person of this ability answers")
    ] = None,
    max_items: Annotated[
        int | None, typer.Option("--max-items-per-area", min=1, help="most items per area (default 10)")
    ] = None,
    key: Annotated[Path | None, typer.Option("--key", help="issuer private key (default: a demo key)")] = None,
    issuer: Annotated[Path | None, typer.Option("--issuer", help="issuer profile JSON (with --key)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="your name on the certificate (optional)")] = None,
) -> None:
    """Take an adaptive test of your digital skills in the terminal (Danish by default)."""
    if lang is not None and lang not in ("da", "en"):
        raise fail_on_bad_input(InputError(Problem(f"--lang must be da or en, got {lang!r}")))
    shown_lang = lang or "da"
    bank = _default_bank()
    # --- everything that can fail is checked before the first item
    try:
        if answers is not None and simulate_theta is not None:
            raise InputError(Problem("give --answers or --simulate-theta, not both"))
        if resume is not None and (areas or profile or seed is not None or max_items is not None):
            raise InputError(
                Problem(
                    "--areas, --profile, --seed and --max-items-per-area set up a new test; "
                    "a resumed test keeps its own"
                )
            )
        chosen = None if resume is not None else _areas(bank, areas, profile)
    except InputError as err:
        raise _refuse(shown_lang, "bad_options", err) from err
    if resume is not None:
        try:
            envelope = read_session_file(resume, bank.params)
        except SessionRefused as err:
            shown_lang = lang or err.language or "da"
            raise _refuse(shown_lang, f"refused_{err.reason}", err, path=resume, folder=resume.parent) from err
        session, choices = envelope.session, [list(c) for c in envelope.choices]
        lang = lang or envelope.language or "da"
        session_path = resume
        folder = out if out is not None else resume.parent
    else:
        lang, choices = shown_lang, []
        folder = out if out is not None else Path()
        session_path = folder / SESSION_FILE
    signer = _signer(key, issuer, lang)
    _check_folder(folder, lang)
    if resume is None:
        _check_no_unfinished(session_path, bank, lang, force)
    try:
        if resume is None:
            config = take_config(10 if max_items is None else max_items)
            session = start_session(CatBank.from_parameters(bank.params, config), config, seed=seed or 0, areas=chosen)
        cat_bank = CatBank.from_parameters(bank.params, session.config)
        scripted = _answer_source(answers, simulate_theta, bank, session)
    except InputError as err:
        raise _refuse(lang, "bad_options", err) from err
    # --- the test
    content = {it.id: it for it in bank.content.items}
    total = _expected_length(session)
    if session.steps:
        _say(_t("resumed", lang, done=len(session.steps), left=max(total - len(session.steps), 0)))
    else:
        minutes = max(5, round(total * SECONDS_PER_ITEM / 60 / 5) * 5)
        _say(_t("intro", lang, n=total, minutes=minutes))
    try:
        paging = scripted is None and sys.stdin.isatty()  # piped answers are not eaten by "press Enter"
        if paging and not session.finished:
            _pause_for(_t("begin", lang))
        while (item_id := next_item(session, cat_bank)) is not None:
            item = content[item_id]
            _show(item, session, bank, lang)
            reply = _ask(item, lang, scripted, len(session.steps) + 1)
            if reply is None:  # pause
                write_session_file(session_path, session, lang, choices)
                _say(_t("paused", lang, path=session_path))
                raise typer.Exit(0)
            session = answer(session, cat_bank, item_id, score_response(item, reply))
            choices.append([reply] if isinstance(reply, str) else list(reply))
            write_session_file(session_path, session, lang, choices)
    except (KeyboardInterrupt, EOFError):
        write_session_file(session_path, session, lang, choices)
        typer.echo("")
        _say(_t("paused", lang, path=session_path))
        raise typer.Exit(0) from None
    except InputError as err:  # a bad scripted answer: the session so far is saved
        write_session_file(session_path, session, lang, choices)
        raise fail_on_bad_input(err) from err
    _finish(session, choices, bank, content, lang, folder, session_path, signer, name, interactive=paging)


# ------------------------------------------------------------------------------------------------ checks up front
@functools.cache
def _default_bank() -> Bank:
    """The bundled bank, read once per process (it is never changed)."""
    return load_default()


def take_config(max_items: int) -> CatConfig:
    """The adaptive test of ``take``: stop an area at SE ≤ 0.45 after at least min(4, max) and at most ``max_items``."""
    return CatConfig(
        stopping=StoppingRules(se_target=0.45, min_items_per_area=min(4, max_items), max_items_per_area=max_items)
    )


def _areas(bank: Bank, areas: str | None, profile: str | None) -> list[str]:
    from ..results.screening import profile_by_id

    if areas and profile:
        raise InputError(Problem("give --areas or --profile, not both"))
    if profile:
        return [r.area for r in profile_by_id(bank, profile).requirements if r.essential]
    if areas:
        chosen = [a.strip() for a in areas.split(",") if a.strip()]
        unknown = [a for a in chosen if a not in bank.areas]
        if unknown or not chosen:
            raise InputError(Problem(f"unknown area(s) {', '.join(unknown)}; known: {', '.join(bank.areas)}"))
        return chosen
    return list(bank.areas)


def _check_folder(folder: Path, lang: str) -> None:
    """``folder`` is (or can be made) a folder we can write files into; it is created now."""
    if folder.exists() and not folder.is_dir():
        raise _refuse(lang, "out_not_folder", InputError(Problem("not a folder", str(folder))), path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        why = err.strerror or str(err)
        raise _refuse(
            lang,
            "out_not_writable",
            InputError(Problem(f"cannot write here: {why}", str(folder))),
            path=folder,
            why=why,
        ) from err


def _check_no_unfinished(session_path: Path, bank: Bank, lang: str, force: bool) -> None:
    """Refuse to start over a paused test (unless ``--force``); a finished test's session may be replaced."""
    if force or not session_path.exists():
        return
    try:
        if read_session_file(session_path, bank.params).session.finished:
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


class _Signer:
    """The issuer profile and private key that will sign the credential (loaded and checked up front)."""

    def __init__(self, profile: IssuerProfile, key: object, demo: bool) -> None:
        self.profile, self.key, self.demo = profile, key, demo


def _signer(key: Path | None, issuer: Path | None, lang: str) -> _Signer:
    from pydantic import ValidationError

    from ..localstate import demo_key_path
    from ..results.signing import generate_key_pair, load_private_key, save_private_key

    try:
        if key is None:
            if issuer is not None:
                raise InputError(Problem("--issuer needs --key (the issuer's private key)"))
            path = demo_key_path()
            if not path.exists():
                with contextlib.suppress(InputError):  # made by another test at the same moment
                    save_private_key(generate_key_pair()[0], path)
            return _Signer(DEMO_ISSUER, load_private_key(path), demo=True)
        if issuer is None:
            raise InputError(Problem("--key needs --issuer (the issuer profile)"))
        private = load_private_key(key)
        try:
            profile = IssuerProfile.model_validate_json(issuer.read_bytes())
        except OSError as err:
            raise InputError(Problem(f"cannot read the issuer profile: {err.strerror}", str(issuer))) from err
        except ValidationError as err:
            problems = [
                Problem(f"{'.'.join(map(str, e['loc'])) or 'issuer profile'}: {e['msg']}", str(issuer))
                for e in err.errors()
            ]
            raise InputError(problems) from err
        profile.check_key_valid()
        return _Signer(profile, private, demo=False)
    except InputError as err:
        raise _refuse(lang, "key_problem", err) from err


# --------------------------------------------------------------------------------------------------- answering
def _answer_source(
    answers: Path | None, theta: float | None, bank: Bank, session: Session
) -> Callable[[Item], str] | None:
    """None (interactive), or a function item -> the text typed for it."""
    if answers is not None:
        try:
            lines = iter(answers.read_text(encoding="utf-8").splitlines())
        except OSError as err:
            raise InputError(Problem(f"cannot read answers: {err.strerror}", str(answers))) from err
        except UnicodeDecodeError as err:
            raise InputError(Problem("the answer file is not UTF-8 text; save it as UTF-8", str(answers))) from err
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
    tokens = [t for t in re.split(r"[,;\s]+", text) if t]
    if len(tokens) == 1 and n <= 9 and item.format in ("multiple_response", "ordering"):
        tokens = list(tokens[0])
    if not all(t.isascii() and t.isdigit() for t in tokens):
        return None
    picks = [int(t) for t in tokens]
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
    prompt = _t(kind, lang, n=n, ex=example)
    while True:
        if scripted is None:
            typer.echo(prompt, nl=False)
            sys.stdout.flush()
            text = input().strip()
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
        refusal = _t(f"invalid_{kind}", lang, n=n, ex=example)
        if scripted is not None:
            raise InputError(Problem(f"{_t('bad_script', lang, k=step, text=text)} {refusal}", item_id=item.id))
        _say(refusal)


# ------------------------------------------------------------------------------------------------- the screens
def _expected_length(session: Session) -> int:
    """About how many items the whole test will have: the items so far plus a typical count for each open area."""
    stop = session.config.stopping
    typical = TYPICAL_ITEMS_PER_AREA
    if stop.max_items_per_area is not None:
        typical = min(typical, stop.max_items_per_area)
    typical = max(typical, stop.min_items_per_area)
    total = sum(a.n_items if a.finished else max(a.n_items + 1, typical) for a in session.areas)
    if stop.max_total_items is not None:
        total = min(total, stop.max_total_items)
    return max(total, len(session.steps) + (0 if session.finished else 1))


def _show(item: Item, session: Session, bank: Bank, lang: str) -> None:
    area = bank.content.framework.area(bank.params.items_by_id()[item.id].area)
    progress = _t("progress", lang, k=len(session.steps) + 1, n=_expected_length(session))
    typer.echo("")
    typer.echo(f"{progress} · {getattr(area.name, lang)}"[:WIDTH])
    typer.echo("")
    _say(getattr(item.stem, lang))
    for n, opt in enumerate(item.options, start=1):
        _say(getattr(opt, lang), indent="     ", first=f"  {n}. ")


def _pause_for(prompt: str) -> str:
    """Show ``prompt`` and wait for Enter; returns what was typed (lower case)."""
    typer.echo(_wrap(prompt.rstrip()) + " ", nl=False)
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
    signer: _Signer,
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
        result = result_from_session(session, bank, person=f"session-{session.seed}-{len(session.steps)}")
        cert = issue_certificate(result, bank, signer.profile, signer.key, lang=lang, holder_name=name)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    files = {
        folder / "result.json": result.dump_json() + "\n",
        folder / "credential.json": cert.credential_json,
        folder / "certificate.pdf": cert.pdf,
        folder / "cv-lines.txt": "\n".join(cert.cv_lines) + ("\n" if cert.cv_lines else ""),
    }
    _write_all(files)
    typer.echo("")
    _say(_t("done", lang))
    typer.echo("")
    _say(f"{_t('result', lang)}:")
    levels = {lv.level: lv for lv in bank.content.framework.levels}
    for a in result.areas:
        area_name = getattr(bank.content.framework.area(a.area).name, lang)
        if a.certified_level is None:
            _say(f"{area_name}: {_t('none', lang)}", indent="    ", first="  ")
            _say(_t("none_why", lang), indent="    ")
        else:
            lv = levels[a.certified_level]
            level = _t("level_of", lang, name=getattr(lv.name, lang), k=a.certified_level)
            _say(f"{area_name}: {level}", indent="    ", first="  ")
            _say(getattr(lv.descriptor, lang), indent="    ")
    if result.provisional:
        typer.echo("")
        _say(_t("provisional", lang))
    if signer.demo:
        typer.echo("")
        _say(_t("demo_key", lang))
    typer.echo("")
    _say(f"{_t('files', lang)}:")
    for path in [*files, session_path]:
        typer.echo(f"  {path}")
        _say(_t(f"file_{path.name}" if path in files else "file_session", lang), indent="      ")
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
        if _pause_for(_t("review_ask", lang)) == "q":
            return
    else:
        typer.echo("")
        _say(f"{_t('answers', lang)}:")
    n = len(session.steps)
    for k, step in enumerate(session.steps, start=1):
        item = items[step.item]
        max_score = len(item.key) if item.format == "multiple_response" else 1
        verdict = "right" if step.response == max_score else "partly" if step.response > 0 else "wrong"
        area = getattr(bank.content.framework.area(step.area).name, lang)
        typer.echo("")
        typer.echo(f"{_t('review_head', lang, k=k, n=n)} · {area} · {_t(verdict, lang)}"[:WIDTH])
        typer.echo("")
        _say(getattr(item.stem, lang))
        for i, opt in enumerate(item.options, start=1):
            _say(getattr(opt, lang), indent="     ", first=f"  {i}. ")
        kind = {"multiple_response": "multi", "ordering": "order"}.get(item.format, "single")
        numbers = {o: str(i) for i, o in enumerate(item.option_ids, start=1)}
        chosen = choices[k - 1] if k <= len(choices) else None
        key = list(item.key)
        if kind == "multi":  # a set: shown in option order
            key = [o for o in item.option_ids if o in key]
            chosen = None if chosen is None else [o for o in item.option_ids if o in chosen]
        yours = " ".join(numbers.get(o, "?") for o in chosen) if chosen else _t("unknown_choice", lang)
        typer.echo("")
        _say(_t(f"yours_{kind}", lang, x=yours))
        _say(_t(f"key_{kind}", lang, x=" ".join(numbers[o] for o in key)))
        _say(_t("why", lang, x=getattr(item.explanation, lang)))
        if interactive and k < n:
            typer.echo("")
            if _pause_for(_t("review_next", lang)) == "q":
                return


def _write_all(files: dict[Path, str | bytes]) -> None:
    """Write every file to a temporary beside it, then rename them all: an error leaves none of them half-written."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((tmp, path))
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
