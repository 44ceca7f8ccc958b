"""``digiskill status new|revoke|publish``: the issuer's revocation list (W3C Bitstring Status List v1.0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, Problem
from ..fileio import atomic_write_text, check_output_paths
from ..results.issuers import Signer, load_signer
from ..results.status import entry_index, load_register, new_register, revoke, signed_status_list
from .common import fail_on_bad_input, stderr

status_app = typer.Typer(
    help="Revocation: a status list of at least 131,072 entries (W3C Bitstring Status List v1.0).",
    no_args_is_help=True,
)

KeyOpt = Annotated[Path, typer.Option("--key", help="issuer private key (signs the published list)")]
IssuerOpt = Annotated[Path, typer.Option("--issuer", help="issuer profile JSON (the list's issuer)")]
OutOpt = Annotated[Path, typer.Option("--out", help="the signed BitstringStatusListCredential to publish at the URL")]


def _signer(key: Path, issuer: Path, out: Path) -> Signer:
    """The issuer's key and profile, and the output path, checked before the register is touched."""
    check_output_paths({"--out": out})
    return load_signer(key, issuer)


def _publish(register_path: Path, signer: Signer, out: Path) -> None:
    register = load_register(register_path)
    signed = signed_status_list(register.url, register.revoked, signer.profile.id, signer.key)
    atomic_write_text(out, json.dumps(signed, indent=2) + "\n")
    stderr.print(f"wrote {out}: publish it at {register.url}", markup=False)


@status_app.command("new")
def status_new(
    register: Annotated[Path, typer.Argument(help="the register file to create (keep it with the issuer key)")],
    url: Annotated[str, typer.Option("--url", help="where the signed list will be published (https://…)")],
    size: Annotated[int, typer.Option("--size", help="entries (at least 131,072, a multiple of 8)")] = 131_072,
    key: Annotated[Path | None, typer.Option("--key", help="also sign the (empty) list with this key")] = None,
    issuer: Annotated[Path | None, typer.Option("--issuer", help="issuer profile, with --key")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="the signed list to write, with --key")] = None,
) -> None:
    """Make a new status list register; with --key/--issuer/--out also the signed list to publish."""
    try:
        if (key, issuer, out).count(None) not in (0, 3):
            raise InputError(Problem("--key, --issuer and --out go together"))
        signer = _signer(key, issuer, out) if key is not None and issuer is not None and out is not None else None
        new_register(register, url, size)
        if signer is not None and out is not None:
            _publish(register, signer, out)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    stderr.print(f"wrote {register} ({size:,} entries, list {url})", markup=False)


@status_app.command("revoke")
def status_revoke(
    register: Annotated[Path, typer.Argument(help="the status list register")],
    target: Annotated[str, typer.Argument(help="a credential file (JSON) or a list index")],
    key: KeyOpt,
    issuer: IssuerOpt,
    out: OutOpt,
) -> None:
    """Revoke a credential (by its file or its index) and write the signed list to publish."""
    try:
        signer = _signer(key, issuer, out)
        reg = load_register(register)
        if target.isdigit():
            index = int(target)
        else:
            from ..results.verification import read_json_object

            credential = read_json_object(Path(target), "credential")
            try:
                url, index = entry_index(credential)
            except ValueError as err:
                raise InputError(Problem(str(err), target)) from err
            if url != reg.url:
                raise InputError(Problem(f"the credential is on list {url!r}, this register is {reg.url!r}", target))
        revoke(register, index)
        _publish(register, signer, out)
    except InputError as err:
        raise fail_on_bad_input(err) from err
    stderr.print(f"revoked index {index}", markup=False)


@status_app.command("publish")
def status_publish(
    register: Annotated[Path, typer.Argument(help="the status list register")],
    key: KeyOpt,
    issuer: IssuerOpt,
    out: OutOpt,
) -> None:
    """Write the signed list (e.g. again before it expires from caches)."""
    try:
        _publish(register, _signer(key, issuer, out), out)
    except InputError as err:
        raise fail_on_bad_input(err) from err
