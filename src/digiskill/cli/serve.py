"""``digiskill serve``: run the service; ``serve migrate`` brings the database up to date; ``serve token`` makes a
bearer token; ``serve user add`` adds a caseworker of the web pages.

With no options: SQLite in ``./digiskill.db`` (WAL), the demo issuer (said at start), http://127.0.0.1:8000, the
standard test (``--config FILE``: another CAT configuration, e.g. the multidimensional ``examples/multidim/joint.yaml``;
read and checked once here, then handed to every worker inside the settings).
FastAPI, SQLAlchemy and uvicorn are imported only inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, Problem
from ..results.online import is_loopback_host
from .common import fail_on_bad_input, stderr

serve_app = typer.Typer(
    help="The HTTP service: sessions in a database, tests over HTTP, certificates issued by the server.",
    invoke_without_command=True,
    no_args_is_help=False,
)

DEFAULT_DB = "sqlite:///digiskill.db"
APP = "digiskill.web.app:create_app_from_env"  # the API with the web pages
DbOpt = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="DIGISKILL_DATABASE_URL",
        help="sqlite:///FILE (default ./digiskill.db) or postgresql+psycopg://USER@HOST/DB",
    ),
]


@serve_app.callback()
def serve(
    ctx: typer.Context,
    database_url: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="worker processes (PostgreSQL: any)")] = 1,
    key: Annotated[Path | None, typer.Option("--key", help="issuer private key (PEM); default: demo issuer")] = None,
    issuer: Annotated[Path | None, typer.Option("--issuer", help="issuer profile JSON (with --key)")] = None,
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="base URL of invitation links (default http://HOST:PORT)")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option("--retention-days", min=1, help="delete response logs after N days of inactivity")
    ] = None,
    code_failures_per_minute: Annotated[
        int, typer.Option("--code-failures-per-minute", min=1, help="unknown codes per address per minute")
    ] = 10,
    public_per_minute: Annotated[
        int,
        typer.Option(
            "--public-per-minute",
            min=1,
            help="requests to the public endpoints (verify, status list, issuer key) per address per minute",
        ),
    ] = 120,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="CAT configuration (JSON or YAML, as take --config) of new invitations, e.g. "
            "examples/multidim/joint.yaml; default: the standard test",
        ),
    ] = None,
) -> None:
    """Start the service (``digiskill serve``), or run one of the sub-commands."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service.settings import Limits, Settings

    if (key is None) != (issuer is None):
        raise fail_on_bad_input(InputError(Problem("give --key and --issuer together (or neither: demo issuer)")))
    if workers > 1 and database_url.startswith("sqlite"):
        stderr.print("note: several workers on SQLite share one write lock; use PostgreSQL to scale out")
    if not is_loopback_host(host):
        stderr.print(f"warning: listening on {host}, not only on this computer; put TLS (a proxy) in front")
    cat_config = None
    if config_file is not None:
        from ..service.context import load_test_config

        try:  # read and checked here, once: the workers get the parsed configuration with the settings
            cat_config = load_test_config(config_file)
        except InputError as err:
            raise fail_on_bad_input(err) from err
        stderr.print(f"test: {config_file} ({cat_config.dimensionality})")
    settings = Settings(
        database_url=database_url,
        issuer_key=key,
        issuer_profile=issuer,
        public_url=public_url or f"http://{host}:{port}",
        retention_days=retention_days,
        migrate=False,
        limits=Limits(code_failures_per_minute=code_failures_per_minute, public_per_minute=public_per_minute),
        cat_config=cat_config,
    )
    try:
        run_server(settings, host, port, workers)
    except InputError as err:
        raise fail_on_bad_input(err) from err


def run_server(settings, host: str, port: int, workers: int) -> None:
    """Migrate once, check the issuer, then run uvicorn (workers get the settings through the environment)."""
    import inspect
    import os
    import sys

    import uvicorn

    from ..service.context import load_issuer
    from ..service.db import make_engine, session_factories
    from ..service.migrate import upgrade_database

    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        issuer = load_issuer(settings, session_factories(engine)[1])
    finally:
        engine.dispose()
    if issuer.demo:
        stderr.print("demo issuer: certificates are signed with a demo key made by this service (not a real issuer)")
    stderr.print(f"digiskill service on http://{host}:{port} (database {_redact(settings.database_url)})")
    stderr.print(_published_note(settings.public_url, issuer.profile.id), markup=False)
    os.environ.update(settings.to_env())
    options = {
        "host": host,
        "port": port,
        "access_log": False,  # invitation codes are in citizen URLs: keep them out of logs
        "timeout_keep_alive": 30,  # fewer races between a client reusing a connection and the server closing it
        "backlog": 4096,
        "log_level": os.environ.get("DIGISKILL_LOG_LEVEL", "warning"),
    }
    if workers == 1:
        uvicorn.run(APP, factory=True, **options)
        return
    # several workers: hand this process over to uvicorn's own command, whose spawned workers import only the app
    # (workers spawned from inside this CLI process died at start)
    args = [sys.executable, "-m", "uvicorn", APP, "--factory", "--workers", str(workers), "--no-access-log"]
    args += ["--host", host, "--port", str(port), "--timeout-keep-alive", "30", "--backlog", "4096"]
    args += ["--log-level", str(options["log_level"])]
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        args += ["--timeout-worker-healthcheck", "120"]  # a worker loads the bank first: > 5 s on a busy machine
    sys.stderr.flush()
    os.execv(sys.executable, args)


def _published_note(public_url: str, issuer_id: str) -> str:
    """Where verifiers elsewhere fetch the revocation list and the issuer's key (and how long they may cache)."""
    from ..service.statuslist import CONTROLLER_PATH, MAX_AGE_S, controller_path, list_url

    base = public_url.rstrip("/")
    also = controller_path(public_url, issuer_id)
    key_at = base + CONTROLLER_PATH + (f" and {base}{also}" if also else "")
    listed = f"{list_url(public_url)} (cached up to {MAX_AGE_S} s)"
    return f"verifiers fetch the revocation list at {listed} and the issuer's key at {key_at}"


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@serve_app.command("migrate")
def migrate(database_url: DbOpt = DEFAULT_DB) -> None:
    """Bring the database to the newest schema (the service also does this when it starts)."""
    from ..service.migrate import current_revision, upgrade_database

    upgrade_database(database_url)
    typer.echo(f"database at revision {current_revision(database_url)}")


@serve_app.command("token")
def token(
    role: Annotated[str, typer.Option("--role", help="system, caseworker or admin")],
    database_url: DbOpt = DEFAULT_DB,
    label: Annotated[str, typer.Option("--label", help="who or what the token is for")] = "",
) -> None:
    """Make a bearer token with a role; it is printed once, the database keeps only its hash."""
    from ..service.tokens import create_token

    try:
        typer.echo(create_token(database_url, role, label))
    except InputError as err:
        raise fail_on_bad_input(err) from err


user_app = typer.Typer(help="Caseworkers and admins of the web pages (username and password).", no_args_is_help=True)
serve_app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="the name to sign in with")],
    role: Annotated[str, typer.Option("--role", help="caseworker or admin")] = "caseworker",
    password: Annotated[
        str,
        typer.Option(
            "--password",
            envvar="DIGISKILL_PASSWORD",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="asked for when not given (at least 12 characters); kept only as an argon2id hash",
        ),
    ] = "",
    database_url: DbOpt = DEFAULT_DB,
) -> None:
    """Add a user of the web pages (sign in at /staff)."""
    from ..web.accounts import create_user

    try:
        user_id = create_user(database_url, username, password, role)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    typer.echo(f"user {username!r} ({role}) added with id {user_id}")


def register_service_commands(app: typer.Typer) -> None:
    """Add ``serve`` and ``loadtest`` to the ``digiskill`` command."""
    from .loadtest import loadtest_command

    app.add_typer(serve_app, name="serve")
    app.command("loadtest")(loadtest_command)
