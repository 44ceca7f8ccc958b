"""RFC 9457 problem details: every 4xx and 5xx is ``application/problem+json`` with a ``title`` and a ``detail`` that
says what is wrong; a 500 never carries a traceback. Also the request-size limit (a pure ASGI middleware)."""

from __future__ import annotations

import json
import logging
from typing import Any

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("digiskill.service")

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ProblemError(Exception):
    """Raise in an endpoint to answer with a problem body."""

    def __init__(self, status: int, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.extra = extra


def problem_body(status: int, detail: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://digiskill.example/problems/{code}" if code else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    body.update(extra)
    return body


def problem_response(status: int, detail: str, code: str | None = None, headers=None, **extra: Any):
    from fastapi.responses import JSONResponse

    return JSONResponse(
        problem_body(status, detail, code, **extra), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def install_handlers(app) -> None:
    """Problem bodies for our errors, HTTP errors, validation errors, bad input and anything unexpected."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from ..errors import InputError

    @app.exception_handler(ProblemError)
    async def _problem(_request, exc: ProblemError):
        headers = {"Retry-After": "60"} if exc.status == 429 else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return problem_response(exc.status, exc.detail, exc.code, headers=headers, **exc.extra)

    @app.exception_handler(HTTPException)
    async def _http(_request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request, exc: RequestValidationError):
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors[:10])
        return problem_response(422, detail or "the request does not match the API", "invalid-request", errors=errors)

    @app.exception_handler(InputError)
    async def _input(_request, exc: InputError):
        return problem_response(422, str(exc), "invalid-input")

    import sqlite3

    from sqlalchemy.exc import OperationalError

    async def _busy(request, exc: Exception):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, str(exc)[:200])
        return problem_response(
            503, "the database is busy or unreachable; try again", "busy", headers={"Retry-After": "5"}
        )

    app.add_exception_handler(OperationalError, _busy)
    # the driver's own error, from statements issued on the driver connection (SQLite's BEGIN IMMEDIATE after the
    # 30 s busy timeout): not wrapped by SQLAlchemy, the same 503
    app.add_exception_handler(sqlite3.OperationalError, _busy)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(500, "the server failed to handle this request; it has been logged", "internal")


class BodySizeLimit:
    """Refuse request bodies above ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")

        def too_large(scope, receive, send):  # built only when needed (most requests are small)
            detail = f"the request body is larger than {self.max_bytes} bytes"
            return problem_response(413, detail, "too-large")(scope, receive, send)

        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return await too_large(scope, receive, send)
            except ValueError:
                return await problem_response(400, "Content-Length is not a number", "bad-length")(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            return await self.app(scope, limited, send)
        except _TooLarge:
            return await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass
