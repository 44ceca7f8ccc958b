"""Issuing a certificate from a result: the signed credential, its verification code, the PDF and the CV lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..bank.default import Bank
from .credential import IssuerProfile, open_badge_credential
from .document import certificate_pdf, cv_lines, verification_code
from .models import AssessmentResult
from .signing import sign_credential


@dataclass(frozen=True)
class Certificate:
    """Everything a person leaves with: ``credential_json`` (signed), ``pdf``, ``cv_lines`` and the ``code``."""

    credential_json: str
    code: str
    pdf: bytes
    cv_lines: list[str]


def issue_certificate(
    result: AssessmentResult,
    bank: Bank,
    issuer: IssuerProfile,
    private_key: Ed25519PrivateKey,
    *,
    lang: Literal["da", "en"] = "da",
    holder_name: str | None = None,
) -> Certificate:
    """Sign the Open Badges credential of ``result`` and render its PDF (the QR code refers to the credential).

    Raises:
        InputError: the issuer's key has expired (``IssuerProfile.key_expires``).
    """
    issuer.check_key_valid()
    signed = sign_credential(open_badge_credential(result, bank, issuer, holder_name=holder_name), private_key)
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    code = verification_code(text)
    qr = f"{issuer.url.rstrip('/')}/verify/{code}" if issuer.url else f"{signed['id']} {code}"
    pdf = certificate_pdf(
        result, bank, lang=lang, issuer_name=issuer.name, code=code, qr_payload=qr, holder_name=holder_name
    )
    return Certificate(text, code, pdf, cv_lines(result, bank, lang))
