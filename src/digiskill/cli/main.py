"""Entry point of the ``digiskill`` command.

Start-up is what a caller of ``digiskill cat next`` waits for on every step, so the root command imports nothing but
typer: each subcommand's module (and with it numpy, scipy, PDF, signing…) is imported only when that subcommand runs.
``digiskill --help`` lists the commands from the short help texts in :data:`COMMANDS` without importing them; a test
checks that these texts stay the first line of each command's own help.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives (``digiskill.cli.<module>.<attribute>``) and its one-line help for the listing."""

    module: str
    attribute: str
    help: str


COMMANDS: dict[str, LazyCommand] = {
    "score": LazyCommand(
        "score",
        "score",
        "Score every person in RESPONSES with the parameter set: theta, SE and number of answered items.",
    ),
    "schema": LazyCommand("schema", "schema", "Print (or write) the JSON Schema of the public data models."),
    "calibrate": LazyCommand(
        "calibrate",
        "calibrate_command",
        "Calibrate item parameters by marginal maximum likelihood (EM, 61 points on [-6, 6]) and write PARAMS.json.",
    ),
    "dif": LazyCommand(
        "dif",
        "dif_command",
        "Differential item functioning between a focal and a reference group (Mantel-Haenszel, or the IRT "
        "likelihood-ratio test with --method lr).",
    ),
    "link": LazyCommand(
        "link", "link_command", "Link FROM.json to the scale of TO.json through the items they share (by id)."
    ),
    "screen": LazyCommand(
        "screen",
        "screen_command",
        "Rank candidates for a job profile: per-area probability of meeting the required level, the profile score S, "
        "its band and a plain-language reason.",
    ),
    "certify": LazyCommand(
        "certify",
        "certify_command",
        "Sign an Open Badges 3.0 credential for RESULT (eddsa-rdfc-2022) and, with --pdf, print the certificate.",
    ),
    "verify": LazyCommand(
        "certify",
        "verify_command",
        "Check a credential and say whether it can be trusted (exit 0 valid and issuer established; 1 invalid; "
        "2 bad input; 3 issuer not established; 4 revoked).",
    ),
    "take": LazyCommand(
        "take", "take_command", "Take an adaptive test of your digital skills in the terminal (Danish by default)."
    ),
    "simulate": LazyCommand(  # also `digiskill cat simulate`
        "cat",
        "simulate_cmd",
        "Simulate complete adaptive tests and report bias, RMSE, test length, exposure and classification accuracy.",
    ),
    "keys": LazyCommand("certify", "keys_app", "Issuer signing keys (Ed25519)."),
    "bank": LazyCommand("bank", "bank_app", "Check the item bank content: framework, items and job profiles."),
    "cat": LazyCommand("cat", "cat_app", "Adaptive tests: the stateless next-item step and simulations."),
    "status": LazyCommand(
        "status",
        "status_app",
        "Revocation: a status list of at least 131,072 entries (W3C Bitstring Status List v1.0).",
    ),
    "serve": LazyCommand(
        "serve",
        "serve_app",
        "The HTTP service: sessions in a database, tests over HTTP, certificates issued by the server.",
    ),
    "loadtest": LazyCommand(
        "loadtest",
        "loadtest_command",
        "Take N tests through the HTTP API, verify every credential, report throughput, latency, errors and leaks.",
    ),
}


def load_command(name: str) -> Any:
    """Import subcommand ``name`` and convert it to the (click) command typer would have built at start."""
    spec = COMMANDS[name]
    target = getattr(import_module(f"{__package__}.{spec.module}"), spec.attribute)
    holder = typer.Typer()
    holder.callback()(lambda: None)  # a group, so that typer keeps the subcommand's own name and options
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


class LazyGroup(TyperGroup):
    """The root group: lists every subcommand from :data:`COMMANDS`, imports one only to run it (or show its help)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in COMMANDS:  # the listing in --help: name and help only, nothing imported
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        return None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="digiskill",
    cls=LazyGroup,
    help="Adaptive measurement of digital skills: scoring, calibration, adaptive tests and certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"digiskill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version"),
) -> None:
    """digiskill command line."""


# One BLAS thread per process unless the user chose otherwise. The calibration's E-step runs its row blocks on the
# cores itself, and OpenBLAS's own threads spin while they wait: on 2 cores they made ``calibrate`` 10,000 × 50 take
# 1.4 s instead of 0.75 s, and under load ten times longer. Set before numpy is imported (a subcommand imports it).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def main(args: Any = None) -> None:
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        app(args)
    finally:
        # The interpreter's last garbage collection at exit then skips the heap the command built (pydantic's schemas
        # are many small cycles): the process ends 40-60 ms sooner. Objects are still released; outputs are closed.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
