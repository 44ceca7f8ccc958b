"""The service: ``digiskill serve``, the HTTP API that holds every adaptive test session in a database.

The trust boundary of digiskill. The server alone chooses items, scores answers, decides stops and issues
certificates, from the session state in its own database; a client never sends θ, a level or a "finished" flag.

* :mod:`~digiskill.service.settings`: :class:`Settings` (database URL, issuer, limits, retention).
* :mod:`~digiskill.service.db`: the SQLAlchemy 2 tables and the engine (SQLite in WAL mode by default, PostgreSQL).
* :mod:`~digiskill.service.migrate`: Alembic migrations shipped inside the package (``digiskill serve migrate``).
* :mod:`~digiskill.service.auth`: bearer tokens with a role, stored as SHA-256 hashes; invitation codes.
* :mod:`~digiskill.service.tests`: the test sessions: invitations, the current item, answers exactly once, results.
* :mod:`~digiskill.service.app`: the FastAPI app factory; :mod:`~digiskill.service.routes`: the endpoints.
* :mod:`~digiskill.service.loadtest`: the load-test client (``digiskill loadtest``).

Heavy imports (FastAPI, SQLAlchemy) live here and below, never in the modules the CLI imports at start.
"""
