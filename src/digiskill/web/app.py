"""The app ``digiskill serve`` runs: the service's API app with the web pages mounted (``install_web``).

The service layer knows nothing of the pages (imports run downward: service → web → cli); this module builds the
service's app and adds the pages to it, so that the API and the pages share one app, one database and one issuer.
"""

from __future__ import annotations

from ..service.app import create_app as create_service_app
from ..service.context import Service
from ..service.settings import Settings
from . import install_web


def create_app(settings: Settings | None = None, service: Service | None = None):
    """The service's app for ``settings`` with the web pages."""
    app = create_service_app(settings, service)
    install_web(app)
    return app


def create_app_from_env():
    """For ``uvicorn --factory``: settings from ``DIGISKILL_SERVICE_SETTINGS`` (migrations already applied)."""
    return create_app(Settings.from_env())
