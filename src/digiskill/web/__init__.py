"""Server-rendered web pages on the service: citizens take the test, caseworkers read results, anyone verifies.

``install_web(app)`` mounts them on the service's FastAPI app (:func:`digiskill.web.app.create_app` does it for
``digiskill serve``): Jinja2 templates (``templates/``), CSS and a small script (``static/``, served by the app
itself: no CDN, font or external script), texts in plain Danish and English (:mod:`digiskill.web.text`). Every flow
works without JavaScript (forms, links, 303 redirects); the script only adds read-aloud (the browser's own speech
synthesis), and nothing is sent anywhere.

Routes: ``/`` (start), ``/t/{code}…`` (citizen), ``/staff…`` (caseworkers), ``/verify…`` (public), ``/static/…``.
"""

from __future__ import annotations


def install_web(app) -> None:
    """Mount the pages and the static files on ``app``; browsers get HTML error pages, API clients problem JSON."""
    from importlib.resources import files

    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException

    from . import citizen, staff, verify
    from .render import PageResponse, error_page, page_lang
    from .text import TEXT_OBJECTS
    from .whatnext import load_links

    load_links()  # a bad what-next file stops the start, naming the file
    app.include_router(citizen.router)
    app.include_router(staff.router)
    app.include_router(verify.router)
    app.mount("/static", StaticFiles(directory=str(files("digiskill.web") / "static")), name="static")

    api_handler = app.exception_handlers.get(HTTPException)

    async def http_error(request, exc: HTTPException):
        path = request.url.path
        wants_html = "text/html" in request.headers.get("accept", "")
        if api_handler is not None and (path.startswith(("/v1/", "/static/")) or not wants_html):
            return await api_handler(request, exc)
        lang = page_lang(request)
        t = TEXT_OBJECTS[lang]
        message = t.err_not_found if exc.status_code == 404 else t.err_generic
        return error_page(request, lang=lang, status=exc.status_code, message=message)

    app.add_exception_handler(HTTPException, http_error)

    async def page_response(_request, exc: PageResponse):
        return exc.response

    app.add_exception_handler(PageResponse, page_response)
    app.add_middleware(ServerTiming)


class ServerTiming:
    """Adds ``Server-Timing: app;dur=MS`` (time from the request to the response headers) to every response, so that
    a browser's developer tools and ``benchmarks/web_pages.py`` see the server's own time apart from the network."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        import time

        start = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - start) * 1000
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.1f}".encode())]
            await send(message)

        return await self.app(scope, receive, timed)
