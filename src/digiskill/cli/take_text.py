"""The words of ``digiskill take`` in Danish and English, and wrapping by words at 80 columns.

Every text a person sees during a test is here, in both languages, written for readers with little experience of
IT: short sentences, no technical words (no "parameters", "credential" or "key file" without an explanation).
"""

from __future__ import annotations

import textwrap

import typer

WIDTH = 79  # fits an 80-column terminal without the last column (some terminals wrap there)

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


def t(key: str, lang: str, **kw: object) -> str:
    """The text ``key`` in ``lang`` (``da`` or ``en``), with ``kw`` filled in."""
    return T[key][lang].format(**kw)


def wrap(text: str, indent: str = "", first: str | None = None) -> str:
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


def say(text: str, indent: str = "", first: str | None = None) -> None:
    """Print ``text`` wrapped by words at :data:`WIDTH`."""
    typer.echo(wrap(text, indent, first))
