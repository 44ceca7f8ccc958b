"""Entry point of the ``digiskill`` command."""

from __future__ import annotations

import typer

from .. import __version__
from .bank import bank_app
from .calibrate import calibrate_command
from .cat import cat_app, simulate_cmd
from .certify import certify_command, keys_app, verify_command
from .dif import dif_command
from .link import link_command
from .schema import schema
from .score import score
from .screen import screen_command
from .serve import register_service_commands
from .status import status_app
from .take import take_command

app = typer.Typer(
    name="digiskill",
    help="Adaptive measurement of digital skills: scoring, calibration, adaptive tests and certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(score)
app.command()(schema)
app.command("calibrate")(calibrate_command)
app.command("dif")(dif_command)
app.command("link")(link_command)
app.command("screen")(screen_command)
app.command("certify")(certify_command)
app.command("verify")(verify_command)
app.command("take")(take_command)
app.add_typer(keys_app, name="keys")
app.add_typer(status_app, name="status")
app.add_typer(bank_app, name="bank")
app.add_typer(cat_app, name="cat")
app.command("simulate")(simulate_cmd)  # also `digiskill cat simulate`
register_service_commands(app)  # serve (+ migrate, token) and loadtest


def _version(value: bool) -> None:
    if value:
        typer.echo(f"digiskill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version"),
) -> None:
    """digiskill command line."""


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
