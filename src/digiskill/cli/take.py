"""``digiskill take``: a person takes an adaptive test in the terminal and leaves with a result and a certificate.

One item at a time, numbered options, answers by number; a progress line per area (never the score during the test);
``p`` pauses and saves the session (``digiskill take --resume SESSION.json`` goes on where it stopped, with the same
next item). At the end: the level per area with what it means, the right answers explained, and the files: the
result (JSON), the signed credential (Open Badges 3.0) and the certificate (PDF), in ``--out`` (the current folder by
default). Danish by default.

Non-interactive runs (tests, demos): ``--answers FILE`` (one answer per line, as typed) or ``--simulate-theta X`` (a
simulated person of ability X answers, drawn with the session's seed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..bank.content import Item
from ..bank.default import Bank, load_default
from ..cat import CatBank, CatConfig, Session, answer, next_item, start_session
from ..cat.config import StoppingRules
from ..errors import InputError, Problem
from ..fileio import atomic_write_bytes, atomic_write_text
from ..irt.response import probability
from ..results.credential import IssuerProfile
from ..results.issue import issue_certificate
from ..results.models import result_from_session
from ..results.screening import profile_by_id
from ..results.signing import generate_key_pair, load_private_key, save_private_key
from .common import fail_on_bad_input

DEMO_ISSUER = IssuerProfile(
    id="https://digiskill.example/issuers/demo",
    name="digiskill demo issuer (not a real issuer)",
    description="A key made on this computer for trying digiskill; certificates signed with it prove nothing.",
)

T = {
    "intro": {
        "da": "Velkommen. Du får et spørgsmål ad gangen. Svar med tallet ud for dit svar og tryk Enter.\n"
        "Skriv p for at holde pause (du kan fortsætte senere).",
        "en": "Welcome. You get one question at a time. Answer with the number of your choice and press Enter.\n"
        "Type p to pause (you can go on later).",
    },
    "single": {"da": "Dit svar (1-{n}): ", "en": "Your answer (1-{n}): "},
    "multi": {"da": "Vælg alle rigtige, fx 1,3 (1-{n}): ", "en": "Choose all that apply, e.g. 1,3 (1-{n}): "},
    "order": {"da": "Skriv rækkefølgen, fx {ex}: ", "en": "Type the order, e.g. {ex}: "},
    "invalid": {"da": "Det svar kan jeg ikke bruge. Prøv igen.", "en": "I cannot use that answer. Please try again."},
    "paused": {
        "da": "Pause. Din test er gemt. Fortsæt senere med:\n  digiskill take --resume {path}",
        "en": "Paused. Your test is saved. Go on later with:\n  digiskill take --resume {path}",
    },
    "done": {"da": "Testen er slut. Tak!", "en": "The test is finished. Thank you!"},
    "result": {"da": "Dit resultat", "en": "Your result"},
    "none": {"da": "intet niveau bekræftet endnu", "en": "no level confirmed yet"},
    "level": {"da": "niveau", "en": "level"},
    "answers": {"da": "Forklaringer", "en": "Explanations"},
    "right": {"da": "rigtigt", "en": "right"},
    "partly": {"da": "delvist rigtigt", "en": "partly right"},
    "wrong": {"da": "forkert", "en": "wrong"},
    "files": {"da": "Filer", "en": "Files"},
    "provisional": {
        "da": "Bemærk: resultatet er FORELØBIGT (parametrene er ikke kalibreret på rigtige besvarelser).",
        "en": "Note: the result is PROVISIONAL (the parameters are not calibrated on real responses).",
    },
    "demo_key": {
        "da": "Ingen udstedernøgle angivet: beviset signeres med en demonøgle (ikke en rigtig udsteder).",
        "en": "No issuer key given: the credential is signed with a demo key (not a real issuer).",
    },
}


def _t(key: str, lang: str, **kw: object) -> str:
    return T[key][lang].format(**kw)


def take_command(
    lang: Annotated[str, typer.Option("--lang", help="da (default) or en")] = "da",
    areas: Annotated[str | None, typer.Option("--areas", help="comma-separated area ids (default: all six)")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="test the essential areas of this job profile")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of every random choice")] = 0,
    out: Annotated[Path, typer.Option("--out", help="folder for the session, result and certificate files")] = Path(),
    resume: Annotated[Path | None, typer.Option("--resume", help="a saved session to go on with")] = None,
    answers: Annotated[Path | None, typer.Option("--answers", help="answers from a file, one per line")] = None,
    simulate_theta: Annotated[
        float | None, typer.Option("--simulate-theta", help="a simulated person of this ability answers")
    ] = None,
    max_items: Annotated[int, typer.Option("--max-items-per-area", min=1, help="most items per area")] = 10,
    key: Annotated[Path | None, typer.Option("--key", help="issuer private key (default: a demo key)")] = None,
    issuer: Annotated[Path | None, typer.Option("--issuer", help="issuer profile JSON (with --key)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="your name on the certificate (optional)")] = None,
) -> None:
    """Take an adaptive test of your digital skills in the terminal (Danish by default)."""
    if lang not in ("da", "en"):
        raise fail_on_bad_input(InputError(Problem(f"--lang must be da or en, got {lang!r}")))
    try:
        bank = load_default()
        content_items = {it.id: it for it in bank.content.items}
        session_path = out / "session.json"
        if resume is not None:
            session = _load_session(resume)
            session_path = resume
            cat_bank = CatBank.from_parameters(bank.params, session.config)
        else:
            config = CatConfig(
                stopping=StoppingRules(se_target=0.45, min_items_per_area=4, max_items_per_area=max_items)
            )
            cat_bank = CatBank.from_parameters(bank.params, config)
            chosen = _areas(bank, areas, profile)
            session = start_session(cat_bank, config, seed=seed, areas=chosen)
        scripted = _answer_source(answers, simulate_theta, bank, session)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    out.mkdir(parents=True, exist_ok=True)
    typer.echo(_t("intro", lang))
    try:
        while (item_id := next_item(session, cat_bank)) is not None:
            item = content_items[item_id]
            _show(item, session, bank, lang)
            reply = _ask(item, lang, scripted, item_id)
            if reply is None:  # pause
                atomic_write_text(session_path, session.model_dump_json() + "\n")
                typer.echo(_t("paused", lang, path=session_path))
                raise typer.Exit(0)
            session = answer(session, cat_bank, item_id, reply)
            atomic_write_text(session_path, session.model_dump_json() + "\n")
    except (KeyboardInterrupt, EOFError):
        atomic_write_text(session_path, session.model_dump_json() + "\n")
        typer.echo("\n" + _t("paused", lang, path=session_path))
        raise typer.Exit(0) from None
    _finish(session, bank, content_items, lang, out, key, issuer, name)


def _load_session(path: Path) -> Session:
    try:
        return Session.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(Problem(f"cannot read session: {err.strerror}", str(path))) from err
    except ValueError as err:
        raise InputError(Problem(f"not a digiskill session: {err}", str(path))) from err


def _areas(bank: Bank, areas: str | None, profile: str | None) -> list[str]:
    if areas and profile:
        raise InputError(Problem("give --areas or --profile, not both"))
    if profile:
        return [r.area for r in profile_by_id(bank, profile).requirements if r.essential]
    if areas:
        chosen = [a.strip() for a in areas.split(",") if a.strip()]
        unknown = [a for a in chosen if a not in bank.areas]
        if unknown:
            raise InputError(Problem(f"unknown area(s) {', '.join(unknown)}; known: {', '.join(bank.areas)}"))
        return chosen
    return list(bank.areas)


def _answer_source(answers: Path | None, theta: float | None, bank: Bank, session: Session):
    """None (interactive), or a function item_id -> typed answer."""
    if answers is not None and theta is not None:
        raise InputError(Problem("give --answers or --simulate-theta, not both"))
    if answers is not None:
        try:
            lines = iter(answers.read_text(encoding="utf-8").splitlines())
        except OSError as err:
            raise InputError(Problem(f"cannot read answers: {err.strerror}", str(answers))) from err
        return lambda item_id: next(lines, "p")
    if theta is not None:
        rng = np.random.default_rng([session.seed, 7919, len(session.steps)])
        params = bank.params

        def simulated(item_id: str) -> str:
            p = probability(theta, params.to_arrays([item_id]))[0]
            return f"={int((rng.random() > np.cumsum(p)).sum())}"  # a category, not a typed choice

        return simulated
    return None


def _show(item: Item, session: Session, bank: Bank, lang: str) -> None:
    counts = {s.area: s.n_items for s in session.areas}
    area = bank.content.framework.area(bank.params.items_by_id()[item.id].area)
    progress = " | ".join(f"{getattr(bank.content.framework.area(a).name, lang)}: {n}" for a, n in counts.items())
    typer.echo(f"\n[{len(session.steps) + 1}] {getattr(area.name, lang)}    ({progress})")
    typer.echo(getattr(item.stem, lang))
    for n, opt in enumerate(item.options, start=1):
        typer.echo(f"  {n}. {getattr(opt, lang)}")


def _ask(item: Item, lang: str, scripted, item_id: str) -> int | None:
    n = len(item.options)
    if item.format == "multiple_response":
        prompt = _t("multi", lang, n=n)
    elif item.format == "ordering":
        prompt = _t("order", lang, ex=",".join(str(i) for i in range(n, 0, -1)))
    else:
        prompt = _t("single", lang, n=n)
    while True:
        if scripted is None:
            typer.echo(prompt, nl=False)
            sys.stdout.flush()
            text = input().strip()
        else:
            text = scripted(item_id).strip()
            typer.echo(prompt + text)
        if text.lower() in ("p", "pause", "q"):
            return None
        if text.startswith("="):  # a simulated person's category
            return int(text[1:])
        try:
            picks = [int(v) for v in text.replace(" ", ",").split(",") if v]
            if not picks or any(not 1 <= v <= n for v in picks):
                raise ValueError
            ids = [item.options[v - 1].id for v in picks]
            from ..bank.content import score_response

            reply = ids[0] if item.format in ("single_choice", "true_false") and len(ids) == 1 else ids
            return score_response(item, reply)
        except (ValueError, InputError):
            typer.echo(_t("invalid", lang))
            if scripted is not None:
                return None


def _finish(session: Session, bank: Bank, items: dict, lang: str, out: Path, key, issuer, name) -> None:
    typer.echo("\n" + _t("done", lang))
    result = result_from_session(session, bank, person=f"session-{session.seed}-{len(session.steps)}")
    levels = {lv.level: lv for lv in bank.content.framework.levels}
    typer.echo(f"\n{_t('result', lang)}:")
    for a in result.areas:
        area = bank.content.framework.area(a.area)
        if a.certified_level is None:
            typer.echo(f"  {getattr(area.name, lang)}: {_t('none', lang)}")
        else:
            lv = levels[a.certified_level]
            typer.echo(
                f"  {getattr(area.name, lang)}: {_t('level', lang)} {a.certified_level} ({getattr(lv.name, lang)})"
            )
            typer.echo(f"      {getattr(lv.descriptor, lang)}")
    if result.provisional:
        typer.echo(_t("provisional", lang))
    typer.echo(f"\n{_t('answers', lang)}:")
    for step in session.steps:
        item = items[step.item]
        max_score = len(item.key) if item.format == "multiple_response" else 1
        verdict = "right" if step.response == max_score else "partly" if step.response > 0 else "wrong"
        typer.echo(f"  - {getattr(item.stem, lang)[:70]}… ({_t(verdict, lang)}): {getattr(item.explanation, lang)}")
    # files
    if key is None:
        typer.echo(_t("demo_key", lang))
        key = out / "demo-issuer-key.pem"
        if not key.exists():
            private, _ = generate_key_pair()
            save_private_key(private, key)
        profile = DEMO_ISSUER
    else:
        if issuer is None:
            raise fail_on_bad_input(InputError(Problem("--key needs --issuer (the issuer profile)")))
        profile = IssuerProfile.model_validate_json(Path(issuer).read_text(encoding="utf-8"))
    try:
        cert = issue_certificate(result, bank, profile, load_private_key(key), lang=lang, holder_name=name)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    atomic_write_text(out / "result.json", result.dump_json() + "\n")
    atomic_write_text(out / "credential.json", cert.credential_json)
    atomic_write_bytes(out / "certificate.pdf", cert.pdf)
    atomic_write_text(out / "cv-lines.txt", "\n".join(cert.cv_lines) + ("\n" if cert.cv_lines else ""))
    typer.echo(f"\n{_t('files', lang)}:")
    for f in ("result.json", "credential.json", "certificate.pdf", "cv-lines.txt", "session.json"):
        typer.echo(f"  {out / f}")
