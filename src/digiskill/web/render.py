"""Rendering pages: one Jinja2 environment (autoescaped, strict), the page language, the CSRF cookie, security headers.

* Language: ``?lang=da|en`` switches and is remembered in the ``lang`` cookie; without either, a citizen page uses the
  invitation's language and every other page Danish.
* CSRF: every page sets a random ``dsk_csrf`` cookie (HttpOnly, Secure, SameSite=Strict) once; every form carries the
  same value in a hidden field and every POST compares the two (double submit). A caseworker's session cookie is a
  separate, server-side session (:mod:`digiskill.web.accounts`).
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .text import LANGS, SPEECH_LANG, TEXT_OBJECTS, Lang

CSRF_COOKIE = "dsk_csrf"
LANG_COOKIE = "lang"
#: no script, style, font or image from anywhere but this app; forms post only here; never framed
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # citizen URLs hold the invitation code
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment (templates inside the package, autoescaped, undefined names are errors)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(files("digiskill.web") / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return env


def page_lang(request: Request, default: str | None = None) -> Lang:
    """``?lang=`` first, then the ``lang`` cookie, then ``default`` (an invitation's language), then Danish."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), default):
        if value in LANGS:
            return value  # type: ignore[return-value]
    return "da"


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (made on first use; sent back as a cookie by :func:`render`)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 100:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def csrf_ok(request: Request, form_value: Any) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie) and isinstance(form_value, str) and hmac.compare_digest(cookie, form_value)


def _cookie(response, request: Request, name: str, value: str, path: str = "/", max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=path, max_age=max_age, httponly=True, secure=True, samesite="strict")


def finish(response, request: Request):
    """Security headers, and the cookies this request made (CSRF token, a language switch)."""
    response.headers.update(SECURITY_HEADERS)
    new = getattr(request.state, "new_csrf", None)
    if new:
        _cookie(response, request, CSRF_COOKIE, new)
    chosen = request.query_params.get("lang")
    if chosen in LANGS and request.cookies.get(LANG_COOKIE) != chosen:
        _cookie(response, request, LANG_COOKIE, chosen, max_age=365 * 24 * 3600)
    return response


def render(request: Request, template: str, *, lang: Lang, status: int = 200, title: str, **context: Any):
    """The HTML page ``template`` in ``lang``: the frame (skip link, language switch, footer) and ``context``."""
    other = "en" if lang == "da" else "da"
    query = {k: v for k, v in request.query_params.items() if k not in ("lang", "notice")}
    query["lang"] = other
    switch = request.url.path + "?" + urlencode(query)
    html = (
        environment()
        .get_template(template)
        .render(
            t=TEXT_OBJECTS[lang],
            lang=lang,
            other_lang=other,
            lang_switch_url=switch,
            speech_lang=SPEECH_LANG[lang],
            csrf=csrf_token(request),
            title=title,
            **context,
        )
    )
    return finish(HTMLResponse(html, status_code=status), request)


class PageResponse(Exception):
    """Raised by a dependency to answer with ``response`` (an error page or a redirect) instead of the route."""

    def __init__(self, response) -> None:
        super().__init__(response.status_code)
        self.response = response


def redirect(request: Request, url: str):
    """A 303 See Other (after a form post: the browser GETs the next page)."""
    return finish(RedirectResponse(url, status_code=303), request)


def error_page(request: Request, *, lang: Lang, status: int, message: str, back: str | None = None, back_text=None):
    t = TEXT_OBJECTS[lang]
    return render(
        request,
        "error.html",
        lang=lang,
        status=status,
        title=t.err_title,
        message=message,
        back=back or "/",
        back_text=back_text or t.err_back_home,
    )
