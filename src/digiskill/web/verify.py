"""Public verification pages: ``/verify`` (paste or upload a credential) and ``/verify/<id>`` (the link a certificate's
QR code holds when the issuer has a verification page: ``IssuerProfile.verify_url`` + the credential's UUID; the full
``urn:uuid:…`` id works too).

The verdict is the service's (:func:`digiskill.service.assessments.verify`: the signature by this service's issuer key
and the revocation state it holds, as ``POST /v1/verify``), and the data-model checks of
:func:`digiskill.results.verification.data_model_problems` (validity period, issuer, subject) explain what is wrong.
Nothing posted is stored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..results.verification import data_model_problems
from ..service.assessments import verify
from ..service.db import Certificate
from ..service.deps import client_address
from .render import csrf_ok, error_page, page_lang, redirect, render
from .text import TEXT_OBJECTS, Lang

router = APIRouter(include_in_schema=False)
MAX_CREDENTIAL_BYTES = 60 * 1024
NO_DETAILS: dict[str, Any] = {"issuer": "", "date": "", "levels": [], "problems": [], "demo": False}


def _svc(request: Request):
    return request.app.state.service


def _rate_limited(request: Request) -> bool:
    svc = _svc(request)
    return not svc.limiter.hit("public", client_address(request), svc.settings.limits.public_per_minute)


def _levels(document: dict[str, Any]) -> list[dict[str, str]]:
    """(area name, level) pairs read from the credential's results and its achievement's result descriptions."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        return []
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    names = {
        rd.get("id"): rd.get("name", "") for rd in achievement.get("resultDescription", []) if isinstance(rd, dict)
    }
    out = []
    for r in subject.get("result", []):
        if isinstance(r, dict):
            out.append(
                {
                    "area": str(names.get(r.get("resultDescription"), r.get("resultDescription", ""))),
                    "value": str(r.get("value", "")),
                }
            )
    return out


def verdict_view(svc, document: Any, lang: Lang) -> dict[str, Any]:
    """What the page shows: the state (valid, revoked, invalid), who issued it and when, the levels, the problems."""
    checked = verify(svc, document)
    problems = [p["message"] for p in checked["problems"]]
    problems += [p.message for p in data_model_problems(document, datetime.now(UTC))]
    problems = list(dict.fromkeys(problems))
    if checked["revoked"]:
        state = "revoked"
    elif checked["valid"] and not problems:
        state = "valid"
    else:
        state = "invalid"
        if checked["signature_valid"] and not checked["issuer_established"] and not problems:
            problems.append("the credential is not signed by this service's issuer")
    issuer = document.get("issuer")
    issuer_name = issuer.get("name", issuer.get("id", "")) if isinstance(issuer, dict) else str(issuer or "")
    valid_from = str(document.get("validFrom", ""))[:10]
    return {
        "state": state,
        "issuer": issuer_name,
        "date": valid_from,
        "levels": _levels(document) if state != "invalid" else [],
        "problems": problems,
        "demo": checked["demo_issuer"] and state == "valid",
    }


def _page(request: Request, lang: Lang, *, status=200, verdict=None, errors=(), pasted=""):
    t = TEXT_OBJECTS[lang]
    return render(
        request,
        "verify.html",
        lang=lang,
        status=status,
        title=t.verify_title,
        verdict=verdict,
        errors=list(errors),
        pasted=pasted,
    )


@router.get("/verify")
def verify_page(request: Request):
    return _page(request, page_lang(request))


@router.post("/verify")
async def verify_post(request: Request):
    lang = page_lang(request)
    t = TEXT_OBJECTS[lang]
    if _rate_limited(request):
        return error_page(request, lang=lang, status=429, message=t.err_rate_limited, back="/verify")
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, lang=lang, status=403, message=t.err_csrf)
    text = str(form.get("credential") or "")
    upload = form.get("file")
    if not text.strip() and upload is not None and hasattr(upload, "read"):
        text = (await upload.read(MAX_CREDENTIAL_BYTES + 1)).decode("utf-8", errors="replace")
    if not text.strip():
        return _page(request, lang, status=422, errors=[{"field": "credential", "text": t.verify_empty}])
    link = qr_link(_svc(request), text)
    if link is not None:  # the text of a PDF's QR code (an id and the verification code): the stored certificate
        return redirect(request, link)
    try:
        document = json.loads(text[: MAX_CREDENTIAL_BYTES + 1])
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        errors = [{"field": "credential", "text": t.verify_not_json}]
        return _page(request, lang, status=422, errors=errors, pasted=text[:2000])
    verdict = await run_in_threadpool(verdict_view, _svc(request), document, lang)
    return _page(request, lang, verdict=verdict)


QR_TEXT = re.compile(r"\s*(urn:uuid:[0-9a-fA-F-]{36}|https://\S+)(?:\s+[0-9A-Za-z-]{1,64})?\s*")


def qr_link(svc, text: str) -> str | None:
    """``/verify/<id>`` for the text a certificate's QR code holds (``urn:uuid:…`` and its verification code, or the
    issuer's ``verify_url`` + UUID), else None."""
    m = QR_TEXT.fullmatch(text[:300])
    if m is None:
        return None
    ident = m.group(1)
    base = svc.issuer.profile.verify_url
    if ident.startswith("https://"):
        if not base or not ident.startswith(base):
            return None
        ident = ident.removeprefix(base)
    return "/verify/" + quote(ident, safe=":-")


def _candidates(svc, credential: str) -> list[str]:
    """The stored ids a QR link may mean: the id itself, ``urn:uuid:<id>``, the issuer's verify URL + id."""
    ids = [credential, f"urn:uuid:{credential}"]
    if svc.issuer.profile.verify_url:
        ids.append(f"{svc.issuer.profile.verify_url}{credential}")
    return ids


@router.get("/verify/{credential:path}")
async def verify_link(credential: str, request: Request):
    lang = page_lang(request)
    t = TEXT_OBJECTS[lang]
    if _rate_limited(request):
        return error_page(request, lang=lang, status=429, message=t.err_rate_limited, back="/verify")
    svc = _svc(request)
    credential = credential[:200]
    with svc.read() as db:
        cert = next((c for c in (db.get(Certificate, i) for i in _candidates(svc, credential)) if c is not None), None)
    if cert is None:
        verdict = {**NO_DETAILS, "state": "unknown", "problems": [t.verify_unknown_text]}
        return _page(request, lang, status=404, verdict=verdict)
    if cert.credential is None:  # erased at the person's request: only the revocation state is left
        state = "revoked" if cert.revoked_at is not None else "erased"
        return _page(request, lang, verdict={**NO_DETAILS, "state": state})
    verdict = await run_in_threadpool(verdict_view, svc, json.loads(cert.credential), lang)
    return _page(request, lang, verdict=verdict)
