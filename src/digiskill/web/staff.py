"""Caseworker pages under ``/staff``: sign in (username and password, or a token), invitations, sessions, results with
θ, SE and level probabilities, screening against a job profile, certificates, GDPR export and erasure.

Every action calls the service function the HTTP API route calls, with the signed-in person as the actor, so the
audit log reads the same whichever way a caseworker works. Every form carries the CSRF token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from ..errors import InputError
from ..service.assessments import (
    certificate_summary,
    create_invitation,
    ensure_certificate,
    erase_person,
    export_person,
    get_session,
    read_result,
    revoke_certificate,
    session_summary,
)
from ..service.db import Certificate, SessionRow
from ..service.models import InvitationIn
from ..service.problems import ProblemError
from .accounts import STAFF_COOKIE, Staff, current_staff, login_password, login_token, logout
from .render import PageResponse, csrf_ok, error_page, finish, page_lang, redirect, render
from .text import TEXT_OBJECTS, Lang

router = APIRouter(prefix="/staff", include_in_schema=False)


def _svc(request: Request):
    return request.app.state.service


def _staff(request: Request) -> Staff | None:
    return current_staff(_svc(request), request.cookies.get(STAFF_COOKIE))


def _login_redirect(request: Request):
    return redirect(request, "/staff/login")


@dataclass(frozen=True)
class StaffForm:
    """A posted caseworker form that passed the CSRF check, from a signed-in caseworker."""

    form: Any
    staff: Staff
    lang: Lang


async def staff_form(request: Request) -> StaffForm:
    """Dependency of every caseworker form: the CSRF check and the sign-in (else the error page or the login)."""
    form = await request.form()
    lang = page_lang(request)
    if not csrf_ok(request, form.get("csrf")):
        raise PageResponse(error_page(request, lang=lang, status=403, message=TEXT_OBJECTS[lang].err_csrf))
    staff = _staff(request)
    if staff is None:
        raise PageResponse(_login_redirect(request))
    return StaffForm(form, staff, lang)


Posted = Annotated[StaffForm, Depends(staff_form)]


def _problem(request: Request, lang: Lang, exc: ProblemError | InputError):
    status = exc.status if isinstance(exc, ProblemError) else 422
    detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
    return error_page(request, lang=lang, status=status, message=detail, back="/staff", back_text=None)


# ---------------------------------------------------------------------------------------------------- sign in
@router.get("/login")
def login_page(request: Request):
    lang = page_lang(request)
    return render(request, "staff_login.html", lang=lang, title=TEXT_OBJECTS[lang].staff_login_title, errors=[])


@router.post("/login")
async def login_post(request: Request):
    form = await request.form()
    lang = page_lang(request)
    t = TEXT_OBJECTS[lang]
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=t.err_csrf)
    svc = _svc(request)
    from ..service.deps import client_address

    client = client_address(request)
    limit = svc.settings.limits.code_failures_per_minute
    if svc.limiter.exceeded("login", client, limit):
        return error_page(request, lang=lang, status=429, message=t.err_rate_limited, back="/staff/login")
    token = str(form.get("token") or "").strip()[:200]
    if token:
        made, field, failed = login_token(svc, token), "token", t.staff_token_failed
    else:
        username = str(form.get("username") or "")[:100]
        password = str(form.get("password") or "")[:1000]
        made, field, failed = login_password(svc, username, password), "username", t.staff_login_failed
    if made is None:
        svc.limiter.hit("login", client, limit)
        errors = [{"field": field, "text": failed}]
        return render(request, "staff_login.html", lang=lang, status=401, title=t.staff_login_title, errors=errors)
    sid = made[0]
    response = redirect(request, "/staff")
    response.set_cookie(STAFF_COOKIE, sid, path="/staff", httponly=True, secure=True, samesite="strict")
    return response


@router.post("/logout")
async def logout_post(request: Request):
    form = await request.form()
    lang = page_lang(request)
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=TEXT_OBJECTS[lang].err_csrf)
    logout(_svc(request), request.cookies.get(STAFF_COOKIE))
    response = redirect(request, "/staff/login")
    response.delete_cookie(STAFF_COOKIE, path="/staff", httponly=True, secure=True, samesite="strict")
    return response


# ---------------------------------------------------------------------------------------------------- overview
def _home(request: Request, staff: Staff, lang: Lang, *, errors=(), status=200, invited=None, form=None):
    svc = _svc(request)
    person = request.query_params.get("person", "")[:200]
    query = select(SessionRow).order_by(SessionRow.created_at.desc(), SessionRow.id).limit(200)
    if person:
        query = query.where(SessionRow.person_ref == person)
    with svc.read() as db:
        rows = db.scalars(query).all()
    t = TEXT_OBJECTS[lang]
    framework = svc.bank.content.framework
    return render(
        request,
        "staff_home.html",
        lang=lang,
        status=status,
        title=t.staff_home_title,
        staff=staff,
        sessions=[session_summary(r) for r in rows],
        person=person,
        areas=[{"id": a, "name": getattr(framework.area(a).name, lang)} for a in svc.bank.areas],
        profiles=[{"id": p.id, "name": getattr(p.name, lang)} for p in svc.bank.content.profiles.profiles],
        errors=list(errors),
        form=form or {},
    )


@router.get("")
def home(request: Request):
    staff = _staff(request)
    if staff is None:
        return _login_redirect(request)
    return _home(request, staff, page_lang(request))


@router.post("/invitations")
async def invite(request: Request, posted: Posted):
    form, staff, lang = posted.form, posted.staff, posted.lang
    t = TEXT_OBJECTS[lang]
    svc = _svc(request)
    fields = {
        "person": str(form.get("person") or "").strip(),
        "areas": [str(a) for a in form.getlist("areas")] or None,
        "profile": str(form.get("profile") or "") or None,
        "lang": str(form.get("test_lang") or "da"),
    }
    try:
        body = InvitationIn.model_validate(fields)
        row, code = create_invitation(svc, staff.actor, staff.role, body.person, body.areas, body.profile, body.lang)
    except ValidationError as err:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        errors = [{"field": "person", "text": t("staff_invalid_input", detail=detail)}]
        return _home(request, staff, lang, errors=errors, status=422, form=fields)
    except InputError as err:
        errors = [{"field": "person", "text": t("staff_invalid_input", detail=str(err))}]
        return _home(request, staff, lang, errors=errors, status=422, form=fields)
    link = f"{svc.settings.public_url.rstrip('/')}/t/{code}"
    return render(
        request,
        "staff_invited.html",
        lang=lang,
        title=t.staff_invited_title,
        staff=staff,
        code=code,
        link=link,
        person=row.person_ref,
        session_id=row.id,
    )


# ---------------------------------------------------------------------------------------------------- one session
@router.get("/sessions/{session_id}")
def session_page(session_id: str, request: Request):
    staff = _staff(request)
    if staff is None:
        return _login_redirect(request)
    lang = page_lang(request)
    svc = _svc(request)
    t = TEXT_OBJECTS[lang]
    try:
        row = get_session(svc, session_id)
    except ProblemError as exc:
        return _problem(request, lang, exc)
    framework = svc.bank.content.framework
    result_rows: list[dict[str, Any]] = []
    screening = None
    profile = request.query_params.get("profile") or row.profile or ""
    if row.result is not None:
        from ..results.screening import profile_by_id, screen

        row, result = read_result(svc, session_id, staff.actor, staff.role)
        for a in result.areas:
            result_rows.append(
                {
                    "name": getattr(framework.area(a.area).name, lang),
                    "theta": a.theta,
                    "se": a.se,
                    "items": a.n_items,
                    "level": a.certified_level,
                    "probs": sorted(a.level_probabilities.items()),
                    "joint_level": a.joint_level,
                    "own": a.own_answers,
                }
            )
        if request.query_params.get("profile"):
            try:
                s = screen(result, profile_by_id(svc.bank, profile), svc.bank)
            except InputError as err:
                return _problem(request, lang, err)
            screening = {
                "profile": getattr(s.profile_name, lang),
                "score": s.score,
                "band": getattr(s.band_text, lang),
                "band_id": s.band,
                "reason": getattr(s.reason, lang),
                "areas": [
                    {
                        "name": getattr(framework.area(x.area).name, lang),
                        "required": x.required_level,
                        "essential": x.essential,
                        "cut": x.cut_score,
                        "pi": x.probability,
                        "own_pi": x.own_probability,
                        "scored_pi": x.scored_probability,
                    }
                    for x in s.areas
                ],
            }
    with svc.read() as db:
        certs = db.scalars(select(Certificate).where(Certificate.session_id == session_id)).all()
    return render(
        request,
        "staff_session.html",
        lang=lang,
        title=t("staff_session_title", person=row.person_ref),
        staff=staff,
        s=session_summary(row),
        result_rows=result_rows,
        joint=any(r["own"] is not None for r in result_rows),
        screening=screening,
        profile=profile,
        profiles=[{"id": p.id, "name": getattr(p.name, lang)} for p in svc.bank.content.profiles.profiles],
        certificates=[certificate_summary(c) for c in certs],
        area_names={a: getattr(framework.area(a).name, lang) for a in svc.bank.areas},
    )


@router.post("/sessions/{session_id}/certificate")
async def issue(session_id: str, request: Request, posted: Posted):
    staff, lang = posted.staff, posted.lang
    svc = _svc(request)
    try:
        ensure_certificate(svc, get_session(svc, session_id), staff.actor, staff.role)
    except (ProblemError, InputError) as exc:
        return _problem(request, lang, exc)
    return redirect(request, f"/staff/sessions/{session_id}#certificates")


@router.post("/sessions/{session_id}/revoke")
async def revoke(session_id: str, request: Request, posted: Posted):
    form, staff, lang = posted.form, posted.staff, posted.lang
    reason = str(form.get("reason") or "").strip()[:500] or "withdrawn by a caseworker"
    try:
        revoke_certificate(_svc(request), str(form.get("certificate") or "")[:100], staff.actor, staff.role, reason)
    except ProblemError as exc:
        return _problem(request, lang, exc)
    return redirect(request, f"/staff/sessions/{session_id}#certificates")


# ---------------------------------------------------------------------------------------------------- GDPR
@router.get("/persons/{person:path}/export")
def export(person: str, request: Request):
    staff = _staff(request)
    if staff is None:
        return _login_redirect(request)
    body = json.dumps(export_person(_svc(request), person[:200], staff.actor, staff.role), ensure_ascii=False, indent=2)
    headers = {"Content-Disposition": 'attachment; filename="digiskill-export.json"'}
    return finish(Response(body, media_type="application/json", headers=headers), request)


@router.post("/persons/{person:path}/erase")
async def erase(person: str, request: Request, posted: Posted):
    form, staff, lang = posted.form, posted.staff, posted.lang
    t = TEXT_OBJECTS[lang]
    if staff.role != "admin":
        return error_page(request, lang=lang, status=403, message=t.staff_erase_admin_only, back="/staff")
    if form.get("confirm") != "yes":
        return error_page(request, lang=lang, status=422, message=t.staff_erase_must_confirm, back="/staff")
    counts = erase_person(_svc(request), person[:200], staff.actor, staff.role)
    return render(
        request,
        "staff_erased.html",
        lang=lang,
        title=t.staff_erased_title,
        staff=staff,
        text=t("staff_erased_text", **counts),
    )
