"""Issuing a certificate from a result: the signed credential, its verification code, the PDF and the CV lines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..bank.default import Bank
from .credential import IssuerProfile, open_badge_credential
from .document import certificate_pdf, cv_lines, verification_code
from .models import AssessmentResult
from .recompute import recompute_result
from .signing import sign_credential
from .status import allocate_index, status_entry


@dataclass(frozen=True)
class Certificate:
    """Everything a person leaves with: ``credential_json`` (signed), ``pdf``, ``cv_lines`` and the ``code``; and
    ``result``, the recomputed result that the credential states."""

    credential_json: str
    code: str
    pdf: bytes
    cv_lines: list[str]
    result: AssessmentResult


def issue_certificate(
    result: AssessmentResult,
    bank: Bank,
    issuer: IssuerProfile,
    private_key: Ed25519PrivateKey,
    *,
    lang: Literal["da", "en"] = "da",
    holder_name: str | None = None,
    source: str | None = None,
    status_register: str | Path | None = None,
    credential_status: Mapping[str, Any] | None = None,
) -> Certificate:
    """Recompute ``result`` from its responses, sign the Open Badges credential of the recomputed result and render
    its PDF (the QR code refers to the credential). The one function every path that issues a certificate uses.

    Raises:
        InputError: the issuer's key has expired (``IssuerProfile.key_expires``); the result names another bank;
            or it does not follow from its own responses (see :func:`~digiskill.results.recompute.recompute_result`;
            ``source`` names the result's file in the messages); the status register cannot be used.

    With ``status_register`` (a register made by ``digiskill status new``) the credential gets a fresh index of that
    status list (:mod:`digiskill.results.status`), so that the issuer can revoke it. ``credential_status`` instead
    gives the ``BitstringStatusListEntry`` itself (the service allocates its indices in its database); not both.
    """
    if status_register is not None and credential_status is not None:
        raise ValueError("give a status register or a status entry, not both")
    issuer.check_key_valid()
    result = recompute_result(result, bank, source=source)
    entry = credential_status
    if status_register is not None:
        register, index = allocate_index(Path(status_register))
        entry = status_entry(register.url, index)
    unsigned = open_badge_credential(result, bank, issuer, holder_name=holder_name, credential_status=entry)
    signed = sign_credential(unsigned, private_key, proof_set=True)
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    code = verification_code(text)
    qr = signed["id"] if issuer.verify_url else f"{signed['id']} {code}"
    pdf = certificate_pdf(
        result,
        bank,
        lang=lang,
        issuer_name=issuer.display_name(lang),
        code=code,
        qr_payload=qr,
        holder_name=holder_name,
        verification_url=signed["id"] if issuer.verify_url else None,
    )
    return Certificate(text, code, pdf, cv_lines(result, bank, lang), result)
