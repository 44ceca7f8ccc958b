"""Citizen pages: the start page, one item per page, pause and resume, the result with every answer explained.

The invitation code in the URL opens the test (no account), exactly as in the HTTP API; every decision (which item,
the score, when the test ends, the certificate) is taken by the service functions the API routes call. An answer form
carries the step it answers, so a double click or a second tab records nothing twice.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..cat.config import CatConfig
from ..service.assessments import (
    answer_steps,
    answered,
    by_code,
    citizen_result,
    ensure_certificate,
    item_view,
    pause_steps,
    session_by_code,
)
from ..service.auth import normalize_code
from ..service.context import Service
from ..service.db import SessionRow
from ..service.deps import client_address
from ..service.problems import ProblemError
from ..service.steps import serve_steps
from .render import csrf_ok, error_page, finish, page_lang, redirect, render
from .text import TEXT_OBJECTS, Lang
from .whatnext import what_next

router = APIRouter(include_in_schema=False)
# The pages of a test (start, the test's page, the item, the answer, the result) are async and read and write the
# session through the same database steps as the API's citizen calls (service/steps.py): on SQLite straight through on
# the event loop, on PostgreSQL awaited on it; no hand-over to a worker thread (indexed reads, one small write, a
# template).
# The downloads (certificate PDF, credential) stay in worker threads: issuing one signs and draws a PDF.

PROBLEM_TEXT = {
    "unknown-code": "err_unknown_code",
    "purged": "err_purged",
    "rate-limited": "err_rate_limited",
    "finished": "err_finished",
    "not-finished": "err_not_finished",
    "busy": "err_busy",
}


def svc_of(request: Request) -> Service:
    return request.app.state.service


def display_code(code: str) -> str:
    raw = normalize_code(code) or code
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def duration(config: CatConfig, n_areas: int) -> dict[str, int]:
    """The usual range of questions for ``n_areas`` areas of a test with ``config``
    (:func:`digiskill.cat.take_config.announced_range`) and the minutes they take
    (:func:`digiskill.cat.take_config.expected_minutes`, the same estimate ``take`` announces)."""
    from ..cat.take_config import announced_range, expected_minutes

    lo, hi = announced_range(config, n_areas)
    return {"lo": lo, "hi": hi, "lo_min": expected_minutes(lo), "hi_min": expected_minutes(hi)}


def problem_page(request: Request, lang: Lang, exc: ProblemError, code: str | None = None):
    t = TEXT_OBJECTS[lang]
    key = PROBLEM_TEXT.get(exc.code or "", "err_generic")
    back, back_text = ("/t/" + display_code(code), t.err_to_test) if code and exc.status == 409 else ("/", None)
    return error_page(request, lang=lang, status=exc.status, message=getattr(t, key), back=back, back_text=back_text)


async def _open(request: Request, code: str) -> tuple[SessionRow, Lang]:
    svc = svc_of(request)
    row = await serve_steps(svc, session_by_code(svc, code, client_address(request)))
    return row, page_lang(request, row.lang)


async def _open_page(request: Request, code: str) -> tuple[SessionRow | None, Lang, Any]:
    """(session, language, None), or (None, language, the plain-language error page) for an unknown or purged code."""
    lang = page_lang(request)
    try:
        row, lang = await _open(request, code)
    except ProblemError as exc:
        return None, lang, problem_page(request, lang, exc)
    return row, lang, None


def _area_names(svc: Service, row: SessionRow, lang: Lang) -> list[str]:
    return [getattr(svc.bank.content.framework.area(a).name, lang) for a in json.loads(row.areas)]


# --------------------------------------------------------------------------------------------------- start
@router.get("/")
async def start(request: Request):
    lang = page_lang(request)
    svc = svc_of(request)
    return render(
        request,
        "start.html",
        lang=lang,
        title=TEXT_OBJECTS[lang].start_title,
        code="",
        errors=[],
        duration=duration(svc.config, len(svc.bank.areas)),
    )


@router.post("/start")
async def start_post(request: Request):
    form = await request.form()
    lang = page_lang(request)
    t = TEXT_OBJECTS[lang]
    svc = svc_of(request)
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=t.err_csrf)
    typed = str(form.get("code") or "")[:100]
    problem, status = None, 200
    if normalize_code(typed) is None:
        problem, status = t.err_bad_code, 422
    else:
        try:
            await serve_steps(svc, session_by_code(svc, typed, client_address(request)))
        except ProblemError as exc:
            problem, status = getattr(t, PROBLEM_TEXT.get(exc.code or "", "err_generic")), exc.status
    if problem is None:
        return redirect(request, "/t/" + display_code(typed))
    return render(
        request,
        "start.html",
        lang=lang,
        status=status,
        title=t.start_title,
        code=typed,
        errors=[{"field": "code", "text": problem}],
        duration=duration(svc.config, len(svc.bank.areas)),
    )


# --------------------------------------------------------------------------------------------------- the test
@router.get("/t/{code}")
async def test_home(code: str, request: Request):
    """Where this code's test stands: the introduction, the break page or the result."""
    row, lang, failed = await _open_page(request, code)
    if failed is not None:
        return failed
    svc = svc_of(request)
    if row.status == "finished":
        return redirect(request, f"/t/{display_code(code)}/result")
    if row.status == "paused":
        return _paused_page(request, row, code, lang)
    t = TEXT_OBJECTS[lang]
    areas = _area_names(svc, row, lang)
    return render(
        request,
        "intro.html",
        lang=lang,
        title=t.intro_title,
        code=display_code(code),
        answered=row.n_steps,
        areas=areas,
        duration=duration(svc.session_of(row.id, row.version, row.state).config, len(areas)),
    )


def _paused_page(request: Request, row: SessionRow, code: str, lang: Lang):
    svc = svc_of(request)
    shown = display_code(code)
    link = f"{svc.settings.public_url.rstrip('/')}/t/{shown}"
    return render(request, "paused.html", lang=lang, title=TEXT_OBJECTS[lang].pause_title, code=shown, link=link)


@router.get("/t/{code}/item")
async def item_page(code: str, request: Request):
    row, lang, failed = await _open_page(request, code)
    if failed is not None:
        return failed
    if row.status in ("finished", "paused", "purged"):
        return redirect(request, f"/t/{display_code(code)}")
    notice = TEXT_OBJECTS[lang].notice_already if request.query_params.get("notice") == "already" else None
    return _item(request, row, code, lang, notice=notice)


def _item(request, row, code, lang, *, errors=(), chosen=(), order=None, bad_places=(), status=200, notice=None):
    svc = svc_of(request)
    item = item_view(svc, row, row.current_item, row.n_steps + 1, lang)
    t = TEXT_OBJECTS[lang]
    return render(
        request,
        "item.html",
        lang=lang,
        status=status,
        title=t("item_title", n=row.n_steps + 1),
        code=display_code(code),
        item=item,
        answered=row.n_steps,
        errors=list(errors),
        chosen=set(chosen),
        chosen_order=order or [o["id"] for o in item["options"]],
        bad_places=set(bad_places),
        notice=notice,
    )


@router.post("/t/{code}/answer")
async def answer_post(code: str, request: Request):
    form = await request.form()
    row, lang, failed = await _open_page(request, code)
    if failed is not None:
        return failed
    t = TEXT_OBJECTS[lang]
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=t.err_csrf)
    svc = svc_of(request)
    shown = display_code(code)
    try:
        step = int(str(form.get("step")))
    except ValueError:
        return error_page(request, lang=lang, status=422, message=t.err_generic, back=f"/t/{shown}")
    item_id = str(form.get("item") or "")[:100]
    item = svc.items.get(item_id)
    if item is None:
        return error_page(request, lang=lang, status=422, message=t.err_generic, back=f"/t/{shown}")
    answer: Any
    on_screen = step == row.n_steps + 1 and item_id == row.current_item
    if item.format == "ordering":
        answer = [str(v)[:20] for v in form.getlist("order")][:10]
        seen: dict[str, int] = {}
        for v in answer:
            seen[v] = seen.get(v, 0) + 1
        bad = [i + 1 for i, v in enumerate(answer) if seen[v] > 1]
        if (bad or len(answer) != len(item.options)) and on_screen:
            errors = [{"field": f"place-{bad[0] if bad else 1}", "text": t.err_order_twice}]
            return _item(request, row, code, lang, errors=errors, order=answer, bad_places=bad, status=422)
    elif item.format == "multiple_response":
        answer = [str(v)[:20] for v in form.getlist("answer")][:10]
    else:
        answer = str(form.get("answer") or "")[:20]
        if not answer and on_screen:
            errors = [{"field": f"opt-{item.options[0].id}", "text": t.err_choose_one}]
            return _item(request, row, code, lang, errors=errors, status=422)
    try:
        done = await serve_steps(svc, answer_steps(svc, row.id, step, item_id, answer, row))
    except ProblemError as exc:
        if exc.code in ("stale-step", "step-answered", "stale-item"):
            return redirect(request, f"/t/{shown}/item?notice=already")
        if exc.code in ("finished", "paused"):
            return redirect(request, f"/t/{shown}")
        return problem_page(request, lang, exc, code)
    if done.outcome["finished"]:
        return redirect(request, f"/t/{shown}/result")
    return redirect(request, f"/t/{shown}/item")


@router.post("/t/{code}/pause")
async def pause_post(code: str, request: Request):
    return await _pause(code, request, True)


@router.post("/t/{code}/resume")
async def resume_post(code: str, request: Request):
    return await _pause(code, request, False)


async def _pause(code: str, request: Request, paused: bool):
    form = await request.form()
    row, lang, failed = await _open_page(request, code)
    if failed is not None:
        return failed
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=TEXT_OBJECTS[lang].err_csrf)
    try:
        await serve_steps(svc_of(request), pause_steps(svc_of(request), row.id, paused))
    except ProblemError as exc:
        if exc.code == "finished":
            return redirect(request, f"/t/{display_code(code)}")
        return problem_page(request, lang, exc, code)
    return redirect(request, f"/t/{display_code(code)}" if paused else f"/t/{display_code(code)}/item")


# --------------------------------------------------------------------------------------------------- the result
def _answer_text(item, answer: Any, lang: Lang) -> str:
    texts = {o.id: getattr(o, lang) for o in item.options}
    chosen = answer if isinstance(answer, list) else [answer]
    sep = " → " if item.format == "ordering" else "; "
    return sep.join(texts.get(a, a) for a in chosen)


def explained_steps(svc: Service, answers: list[Any], lang: Lang) -> list[dict[str, Any]]:
    """Every answered item (the rows of :func:`~digiskill.service.assessments.answered`) with the person's answer,
    the right answer and the explanation (only after the test)."""
    t = TEXT_OBJECTS[lang]
    steps = []
    for a in answers:
        item = svc.items[a.item]
        top = len(item.key) if item.format == "multiple_response" else 1
        verdict = "right" if a.response >= top else ("partly" if a.response > 0 else "wrong")
        steps.append(
            {
                "step": a.step,
                "stem": getattr(item.stem, lang),
                "given": _answer_text(item, json.loads(a.answer), lang),
                "right": _answer_text(item, list(item.key), lang),
                "explanation": getattr(item.explanation, lang),
                "verdict": verdict,
                "verdict_text": getattr(t, f"result_{verdict}"),
            }
        )
    return steps


@router.get("/t/{code}/result")
async def result_page(code: str, request: Request):
    lang = page_lang(request)
    try:
        row, lang = await _open(request, code)
        view = citizen_result(svc_of(request), row)
        answers = await serve_steps(svc_of(request), answered(row.id))
    except ProblemError as exc:
        return problem_page(request, lang, exc, code)
    svc = svc_of(request)
    framework = svc.bank.content.framework
    levels = {lv.level: lv for lv in framework.levels}
    areas = [
        {
            "area": a["area"],
            "name": getattr(framework.area(a["area"]).name, lang),
            "items": a["items"],
            "level": a["level"],
            "level_name": getattr(levels[a["level"]].name, lang) if a["level"] else None,
            "descriptor": getattr(levels[a["level"]].descriptor, lang) if a["level"] else None,
        }
        for a in view["areas"]
    ]
    return render(
        request,
        "result.html",
        lang=lang,
        title=TEXT_OBJECTS[lang].result_title,
        code=display_code(code),
        provisional=view["provisional"],
        joint="level_rule" in view,
        areas=areas,
        levels=[
            {"name": getattr(lv.name, lang), "descriptor": getattr(lv.descriptor, lang)} for lv in framework.levels
        ],
        steps=explained_steps(svc, answers, lang),
        purged=row.status == "purged",
        next_links=what_next([a["area"] for a in areas], {a["area"]: a["name"] for a in areas}, lang),
    )


@router.get("/t/{code}/certificate.pdf")
def certificate_pdf(code: str, request: Request):
    return _download(code, request, "pdf")


@router.get("/t/{code}/credential.json")
def credential_json(code: str, request: Request):
    return _download(code, request, "json")


def _download(code: str, request: Request, kind: str):
    lang = page_lang(request)
    try:
        row = by_code(svc_of(request), code, client_address(request))
        lang = page_lang(request, row.lang)
        cert = ensure_certificate(svc_of(request), row, f"citizen:{row.id}", "citizen")
    except ProblemError as exc:
        return problem_page(request, lang, exc, code)
    if kind == "pdf":
        body, media, name = cert.pdf, "application/pdf", "digiskill-certificate.pdf"
    else:
        body, media, name = cert.credential, "application/json", "digiskill-credential.json"
    response = Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return finish(response, request)
