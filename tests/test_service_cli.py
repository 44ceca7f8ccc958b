"""``digiskill serve migrate|token`` and ``digiskill loadtest`` at the command line; the CLI starts without the
service's heavy imports."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from digiskill.cli.main import app
from digiskill.service.auth import digest


def test_serve_migrate_and_token_store_only_a_hash(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "migrate", "--database-url", url])
    assert r.exit_code == 0 and "revision 0004" in r.output
    r = runner.invoke(app, ["serve", "token", "--role", "caseworker", "--database-url", url, "--label", "desk 4"])
    assert r.exit_code == 0
    token = r.output.strip()
    assert token.startswith("dsk_") and len(token) > 40
    with create_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT token_hash, role, label FROM api_tokens")).all()
    assert rows == [(digest(token), "caseworker", "desk 4")]
    assert token not in (tmp_path / "cli.db").read_bytes().decode("latin-1")


def test_bad_options_exit_2_with_a_message(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    r = runner.invoke(app, ["serve", "token", "--role", "root", "--database-url", url])
    assert r.exit_code == 2 and "role must be one of" in r.output
    r = runner.invoke(app, ["serve", "--database-url", url, "--key", str(tmp_path / "k.pem")])
    assert r.exit_code == 2 and "--issuer" in r.output
    r = runner.invoke(app, ["loadtest", "--url", "http://192.0.2.1:8000", "--token", "x", "--n", "1"])
    assert r.exit_code == 2 and "loopback" in r.output


def test_the_cli_starts_without_fastapi_or_sqlalchemy():
    heavy = "('fastapi', 'sqlalchemy', 'uvicorn', 'alembic', 'httpx')"
    code = f"import sys, digiskill.cli.main; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
