"""The FastAPI app factory: ``create_app(settings)``; ``create_app_from_env()`` for uvicorn workers.

Layers: routes (HTTP) -> assessments (the rules) -> db (tables) and the engine below (cat, results). The ``web`` layer,
above this one, mounts its server-rendered pages on this app (``digiskill.web.app.create_app``, which ``digiskill
serve`` runs).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from .. import __version__
from .context import Service, build_service
from .settings import Settings

FULL_COLLECTION_EVERY = 100  # middle-generation garbage collections between two full ones (CPython's default: 10)

DESCRIPTION = """Adaptive tests of digital skills held by the server.

* **Citizens** open their test with the invitation code (no account): `GET /v1/citizen/{code}` shows the item on
  screen, `POST /v1/citizen/{code}/answers` answers it by naming its step (a repeat returns the same outcome; a stale
  step is 409), then the result, the signed credential and the PDF.
* **Systems, caseworkers, admins** use bearer tokens (`digiskill serve token --role ROLE`); the role each endpoint
  needs is in its `x-roles`.
* **Verifiers** elsewhere fetch the signed revocation list every credential names, `GET /v1/status/revocation` (a
  W3C Bitstring Status List; a revocation reaches them within its 300 s cache time), and the issuer's key,
  `GET /v1/issuer/controller`.
* Every error is `application/problem+json`.
"""


def create_app(settings: Settings | None = None, service: Service | None = None):
    """The app for ``settings`` (connects, migrates when ``settings.migrate``, loads the bank and the issuer)."""
    from fastapi import FastAPI

    from .assessments import apply_retention
    from .problems import BodySizeLimit, install_handlers
    from .routes import citizen, public, staff

    settings = settings or Settings()
    svc = service or build_service(settings)
    apply_retention(svc)

    @asynccontextmanager
    async def lifespan(_app):
        import gc

        # the bank, the models and the modules live as long as the process: move them out of the cyclic garbage
        # collector's way, so that its full collections walk only what requests leave behind (a full collection
        # over them took about 50 ms). The parsed sessions of the open tests (SessionCache) still make a full
        # collection long (up to 250 ms with 300 tests open, measured): run one after 100 middle-generation
        # collections instead of 10 (CPython's default), about once a minute at 300 answers/s instead of every few
        # seconds; cyclic garbage that lives that long waits a little longer, nothing else changes
        gc.collect()
        gc.freeze()
        young, middle, _old = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        yield
        await svc.aclose()
        svc.close()

    app = FastAPI(
        title="digiskill service",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # the interactive docs would load scripts from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.service = svc
    install_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_body_bytes)
    app.include_router(public.router)
    app.include_router(citizen.router)
    app.include_router(staff.router)
    _serve_controller_at_issuer_id(app, svc)
    return app


def _serve_controller_at_issuer_id(app, svc: Service) -> None:
    """Serve the issuer's controller document also at the path its id resolves to, when that path is this service's
    (:func:`.statuslist.controller_path`) and no route of the API has it; left out of the OpenAPI document, which does
    not depend on the settings."""
    from .routes.public import issuer_controller
    from .statuslist import controller_path

    path = controller_path(svc.settings.public_url, svc.issuer.profile.id)
    if path is not None and path not in {getattr(route, "path", None) for route in app.routes}:
        app.add_api_route(path, issuer_controller, methods=["GET"], include_in_schema=False)


def create_app_from_env():
    """For ``uvicorn --factory``: settings from ``DIGISKILL_SERVICE_SETTINGS`` (migrations already applied)."""
    return create_app(Settings.from_env())


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the API (no database needed)."""
    from fastapi import FastAPI
    from fastapi.openapi.utils import get_openapi

    from .routes import citizen, public, staff

    app = FastAPI(title="digiskill service", version=__version__, description=DESCRIPTION)
    app.include_router(public.router)
    app.include_router(citizen.router)
    app.include_router(staff.router)
    return get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        openapi_version=app.openapi_version,
    )
