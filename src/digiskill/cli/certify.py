"""``digiskill keys new``, ``digiskill certify`` and ``digiskill verify``: signed Open Badges 3.0 certificates."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..bank.default import load_default
from ..errors import InputError, Problem
from ..fileio import atomic_write_text, check_output_paths, write_all
from ..results.credential import check_holder_name
from ..results.files import load_result
from ..results.issue import issue_certificate
from ..results.issuers import load_issuer_profile, load_signer, new_issuer_profile
from ..results.signing import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    public_key_to_multikey,
    save_private_key,
)
from ..results.status import load_register
from ..results.verification import (
    TrustStore,
    controller_document,
    did_web_url,
    read_json_object,
    verify_document,
)
from .common import EXIT_BAD_INPUT, fail_on_bad_input, stderr

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
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="the issuer's https web site: sets the profile's url and the verification URL <url>/verify/"
        ),
    ] = None,
) -> None:
    """Make an issuer key pair: the private key file is created with mode 0600; the public key is printed as a
    Multikey (publish it so that anyone can check your certificates)."""
    try:
        profile = None
        if issuer_id is not None:  # the profile is checked before the key file is made
            profile = new_issuer_profile(issuer_id, name=issuer_name, valid_days=valid_days, url=url)
        key, public = generate_key_pair()
        save_private_key(key, out)
        if profile is not None:
            atomic_write_text(issuer_out or out.with_name("issuer.json"), profile.model_dump_json(indent=2) + "\n")
    except InputError as err:
        raise fail_on_bad_input(err) from err
    except FileExistsError as err:
        raise fail_on_bad_input(InputError(Problem("the key file exists already; not overwritten", str(out)))) from err
    typer.echo(public_key_to_multikey(public))
    stderr.print(f"wrote private key {out} (mode 600)", markup=False)


@keys_app.command("publish")
def keys_publish(
    key: Annotated[Path, typer.Option("--key", help="the issuer's private key (only its public half is published)")],
    issuer: Annotated[Path, typer.Option("--issuer", help="the issuer profile")],
    out: Annotated[Path, typer.Option("--out", help="the controller document to write (did.json for did:web)")],
) -> None:
    """Write the controller document verifiers fetch at the issuer id: the public key as a Multikey verification
    method under assertionMethod. For a did:web issuer it is the DID document (did.json). 'verify --trust' accepts
    it."""
    try:
        check_output_paths({"--out": out})
        profile = load_issuer_profile(issuer)
        multikey = public_key_to_multikey(load_private_key(key))
        doc = controller_document(profile.id, multikey)
        atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
    except InputError as err:
        raise fail_on_bad_input(err) from err
    where = did_web_url(profile.id) if profile.id.startswith("did:web:") else profile.id
    stderr.print(f"wrote {out}: publish it at {where}", markup=False)


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
    status_register: Annotated[
        Path | None,
        typer.Option("--status", help="status list register ('digiskill status new'): makes the credential revocable"),
    ] = None,
) -> None:
    """Sign an Open Badges 3.0 credential for RESULT (eddsa-rdfc-2022) and, with --pdf, print the certificate."""
    if lang not in ("da", "en"):
        raise fail_on_bad_input(InputError(Problem(f"--lang must be da or en, got {lang!r}")))
    language: Literal["da", "en"] = "da" if lang == "da" else "en"
    try:  # everything is checked before any work: name, outputs, key, issuer, result
        if name is not None:
            check_holder_name(name)
        check_output_paths({"--out": out, "--pdf": pdf})
        signer = load_signer(key, issuer)
        res = load_result(result)
        if status_register is not None:
            load_register(status_register)  # checked before the work
        bank = load_default()
        cert = issue_certificate(
            res,
            bank,
            signer.profile,
            signer.key,
            lang=language,
            holder_name=name,
            source=str(result),
            status_register=status_register,
        )
        files: dict[str | Path, str | bytes] = {out: cert.credential_json}
        if pdf is not None:
            files[pdf] = cert.pdf
        try:
            write_all(files)  # both files or none
        except OSError as err:
            raise InputError(Problem(f"cannot write the output: {err.strerror or err}", err.filename)) from err
    except InputError as err:
        raise fail_on_bad_input(err) from err
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
    status_list: Annotated[
        Path | None,
        typer.Option("--status-list", help="the issuer's signed status list (BitstringStatusListCredential)"),
    ] = None,
    trust: Annotated[
        Path | None,
        typer.Option(
            "--trust",
            help="a trust file: {'issuers': {issuer id: [Multikey, …]}}, or an issuer's published controller "
            "document (did.json)",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="check validity at this time (ISO 8601 with a time zone, e.g. 2027-01-01T00:00:00Z)"),
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="fetch the status list the credential names (credentialStatus.statusListCredential) and the "
            "controller document at the issuer id (an https URL or did:web), and check with them as with "
            "--status-list and --trust; --key, --trust and --status-list given explicitly win over what would be "
            "fetched. Only https:// URLs (http:// only to 127.0.0.1, ::1, localhost), 10 s, at most 2 MB, JSON, "
            "no redirect to another host; a failed fetch is exit 2",
        ),
    ] = False,
) -> None:
    """Check a credential and say whether it can be trusted. Exit 0 valid and signed by a key established as the
    issuer's (--key, --trust, a did:key issuer, or with --online the controller document at the issuer id); 1 invalid
    (each problem named); 2 bad input (unreadable, not JSON, unusable key, a document --online could not fetch);
    3 signature intact but the issuer's key is not established; 4 revoked."""
    from ..results.online import FetchError, fetch_for_credential

    try:
        doc = read_json_object(credential, "credential")
        public = load_public_key(key) if key is not None else None
        when = None
        if at is not None:
            try:
                when = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError as err:
                raise InputError(Problem(f"--at {at!r} is not an ISO 8601 time")) from err
            if when.tzinfo is None:
                raise InputError(Problem(f"--at {at!r} needs a time zone (e.g. Z or +01:00)"))
        listed = read_json_object(status_list, "status list", max_bytes=20_000_000) if status_list else None
        store = None
        if trust is not None:
            store = TrustStore.from_document(read_json_object(trust, "trust file"), str(trust))
        fetched = None
        if online:
            fetched = fetch_for_credential(doc, status_list=listed is None, controller=public is None and store is None)
            listed = listed if listed is not None else fetched.status_list
            store = store if store is not None else fetched.trust
    except FetchError as err:
        stderr.print(f"error: {err}", markup=False)  # one line: the URL and the problem
        raise typer.Exit(EXIT_BAD_INPUT) from err
    except InputError as err:
        raise fail_on_bad_input(err) from err
    verdict = verify_document(doc, key=public, trust=store, at=when, status_list=listed)
    typer.echo(str(verdict))
    for line in fetched.lines() if fetched is not None else ():
        typer.echo(line)
    raise typer.Exit(verdict.exit_code)
