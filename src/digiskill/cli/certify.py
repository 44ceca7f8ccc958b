"""``digiskill keys new``, ``digiskill certify`` and ``digiskill verify``: signed Open Badges 3.0 certificates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError

from ..bank.default import load_default
from ..errors import InputError, Problem
from ..fileio import atomic_write_bytes, atomic_write_text
from ..results.credential import IssuerProfile
from ..results.issue import issue_certificate
from ..results.models import AssessmentResult
from ..results.signing import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    public_key_to_multikey,
    save_private_key,
    verify_credential,
)
from .common import fail_on_bad_input, stderr

keys_app = typer.Typer(help="Issuer signing keys (Ed25519).", no_args_is_help=True)


@keys_app.command("new")
def keys_new(
    out: Annotated[Path, typer.Option("--out", help="private key file to create (PEM, owner-only permissions)")],
    issuer_id: Annotated[
        str | None, typer.Option("--issuer-id", help="also write an issuer profile with this id")
    ] = None,
    issuer_name: Annotated[str | None, typer.Option("--issuer-name", help="the issuer's name for that profile")] = None,
    issuer_out: Annotated[Path | None, typer.Option("--issuer-out", help="where to write the issuer profile")] = None,
    valid_days: Annotated[
        int | None, typer.Option("--valid-days", min=1, help="the key may sign for this many days (in the profile)")
    ] = None,
) -> None:
    """Make an issuer key pair: the private key file is created with mode 0600; the public key is printed as a
    Multikey (publish it so that anyone can check your certificates)."""
    try:
        key, public = generate_key_pair()
        save_private_key(key, out)
        if issuer_id is not None:
            expires = (
                None if valid_days is None else datetime.now(UTC).replace(microsecond=0) + timedelta(days=valid_days)
            )
            profile = IssuerProfile(id=issuer_id, name=issuer_name or issuer_id, key_expires=expires)
            atomic_write_text(issuer_out or out.with_name("issuer.json"), profile.model_dump_json(indent=2) + "\n")
    except (InputError, ValidationError) as err:
        raise fail_on_bad_input(err if isinstance(err, InputError) else InputError(str(err))) from err
    except FileExistsError as err:
        raise fail_on_bad_input(InputError(Problem("the key file exists already; not overwritten", str(out)))) from err
    typer.echo(public_key_to_multikey(public))
    stderr.print(f"wrote private key {out} (mode 600)", markup=False)


def _read_result(path: Path) -> AssessmentResult:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as err:
        raise InputError(Problem(f"cannot read result: {err.strerror}", str(path))) from err
    text = "\n".join(lines)
    if len(lines) > 1 and lines[0].lstrip().startswith("{") and lines[0].rstrip().endswith("}"):
        try:
            json.loads(lines[0])
            raise InputError(Problem(f"{len(lines)} results in the file; certify one result at a time", str(path)))
        except json.JSONDecodeError:
            pass
    try:
        return AssessmentResult.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(Problem(f"not an assessment result: {where}: {first['msg']}", str(path))) from err


def _read_issuer(path: Path) -> IssuerProfile:
    try:
        return IssuerProfile.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(Problem(f"cannot read issuer profile: {err.strerror}", str(path))) from err
    except ValidationError as err:
        raise InputError(
            [Problem(".".join(map(str, e["loc"])) + ": " + e["msg"], str(path)) for e in err.errors()]
        ) from err


def certify_command(
    result: Annotated[Path, typer.Argument(help="one assessment result (JSON)")],
    key: Annotated[Path, typer.Option("--key", help="issuer private key (from 'digiskill keys new')")],
    issuer: Annotated[Path, typer.Option("--issuer", help="issuer profile JSON: id, name, optional url")],
    out: Annotated[Path, typer.Option("--out", help="signed credential (JSON) to write")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="also write the readable certificate (PDF)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="language of the PDF and CV lines: da or en")] = "da",
    name: Annotated[
        str | None, typer.Option("--name", help="the person's name, only if they want it on the certificate")
    ] = None,
) -> None:
    """Sign an Open Badges 3.0 credential for RESULT (eddsa-rdfc-2022) and, with --pdf, print the certificate."""
    if lang not in ("da", "en"):
        raise fail_on_bad_input(InputError(Problem(f"--lang must be da or en, got {lang!r}")))
    language: Literal["da", "en"] = "da" if lang == "da" else "en"
    try:
        bank = load_default()
        res = _read_result(result)
        profile = _read_issuer(issuer)
        cert = issue_certificate(
            res, bank, profile, load_private_key(key), lang=language, holder_name=name, source=str(result)
        )
    except InputError as err:
        raise fail_on_bad_input(err) from err
    atomic_write_text(out, cert.credential_json)
    if pdf is not None:
        atomic_write_bytes(pdf, cert.pdf)
    for line in cert.cv_lines:
        typer.echo(line)
    stderr.print(f"wrote {out}" + (f" and {pdf}" if pdf else "") + f"; verification code {cert.code}", markup=False)
    if res.provisional:
        stderr.print("note: the result is PROVISIONAL and the certificate says so", markup=False)


def verify_command(
    credential: Annotated[Path, typer.Argument(help="signed credential (JSON)")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="the issuer's public key you trust: a Multikey (z6Mk…) or a PEM file"),
    ] = None,
) -> None:
    """Check the signature of a credential and say exactly what is wrong with it. Exit 0 valid, 1 invalid, 2 bad
    input (unreadable file, not JSON, unusable key)."""
    try:
        try:
            doc = json.loads(credential.read_text(encoding="utf-8"))
        except OSError as err:
            raise InputError(Problem(f"cannot read credential: {err.strerror}", str(credential))) from err
        except json.JSONDecodeError as err:
            raise InputError(Problem(f"not JSON: {err.msg}", str(credential), err.lineno)) from err
        public = load_public_key(key) if key is not None else None
    except InputError as err:
        raise fail_on_bad_input(err) from err
    outcome = verify_credential(doc, public)
    typer.echo(str(outcome))
    if outcome.ok and outcome.key_source != "given":
        typer.echo(
            "note: checked with the key named in the credential itself; pass --key with the issuer's "
            "published key to also check who signed it"
        )
    raise typer.Exit(0 if outcome.ok else 1)
