"""The signed certificate: an Open Badges 3.0 ``OpenBadgeCredential`` (W3C Verifiable Credentials 2.0) per test.

Shape (every term is defined by the two pinned contexts, so JSON-LD canonicalization drops nothing):

* ``credentialSubject.achievement``: the digiskill assessment, aligned to DigComp 2.2 (and to DigComp 3.0 when the
  framework carries the 3.0 mapping), with one ``resultDescription`` per competence area: aligned to the area's DigComp
  competences (the 3.0 ones with ``targetType`` ``ext:DigCompCompetence``), of type ``RubricCriterionLevel``,
  listing the levels 1–8 with their descriptors (our own words; each names the DigComp 3.0 level it falls in).
  This is the "achievement per area": each area is one result description of the test's achievement, because an
  OpenBadgeCredential carries one achievement.
* ``credentialSubject.result``: one ``Result`` per tested area, pointing at its result description; ``achievedLevel``
  names the certified level (absent when no level is confirmed) and ``value`` gives the level number.
* ``evidence``: per area, the items answered, θ, SE, the level probabilities, and the bank version; for a
  multidimensional test also the joint level and the area's own-answers evidence (θ, SE, proven and supported level),
  and the achievement's ``criteria`` state the joint rule.
* ``issuer`` (a ``Profile``), ``validFrom``, and an ``eddsa-rdfc-2022`` Data Integrity proof (see
  :mod:`digiskill.results.signing`).

Data minimisation: the subject is identified by a salted SHA-256 ``IdentityObject`` (``hashed: true``) of the
result's pseudonymous person reference, never the reference itself; the name appears only if the person chose to put
it on the certificate (``holder_name``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from ..bank.default import Bank
from ..bank.frozen import FrozenModel
from ..errors import InputError, Problem
from .models import AssessmentResult

CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
DIGCOMP_URL = "https://publications.jrc.ec.europa.eu/repository/handle/JRC128415"
DIGCOMP3_URL = "https://publications.jrc.ec.europa.eu/repository/handle/JRC144121"
URN = "urn:digiskill"
#: alignment target types: DigComp is neither CASE nor CTDL, so OB 3.0 wants an ``ext:``-prefixed value
DIGCOMP_COMPETENCE_TYPE = "ext:DigCompCompetence"
DIGCOMP_FRAMEWORK_TYPE = "ext:DigCompFramework"
IDENTITY_HASH_ALGORITHM = "sha256"


MAX_HOLDER_NAME = 80
"""Longest holder name (characters) on a certificate."""


def check_holder_name(name: str) -> None:
    """A holder name must fit the certificate: one line of at most :data:`MAX_HOLDER_NAME` printable characters that
    its fonts can show (Latin-1: æ, ø, å, é, ü, …).

    Raises:
        InputError: naming ``--name`` and what to change.
    """
    if not name.strip() or len(name) > MAX_HOLDER_NAME or not name.isprintable():
        raise InputError(Problem(f"--name: give your name on one line, at most {MAX_HOLDER_NAME} characters"))
    try:
        name.encode("latin-1")
    except UnicodeEncodeError as err:
        bad = name[err.start]
        raise InputError(
            Problem(f"--name: the certificate cannot show the character {bad!r}; write the name with Latin letters")
        ) from err


class IssuerProfile(FrozenModel):
    """The issuer (file given to ``digiskill certify --issuer``): an OB3 ``Profile``."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:[^#\s]+$", description="URL or DID, no '#'")
    name: str = Field(min_length=1)
    url: str | None = Field(None, pattern=r"^https?://\S+$", description="the issuer's web site")
    verify_url: str | None = Field(
        None,
        pattern=r"^https://\S+$",
        description="base URL of the issuer's verification page; a credential's id (and the PDF's QR code) is this "
        "URL followed by the credential's UUID",
    )
    email: str | None = None
    description: str | None = None
    names: dict[Literal["da", "en"], str] = Field(
        default_factory=dict, description="the issuer's name per language, shown on the PDF ('name' otherwise)"
    )
    key_expires: datetime | None = Field(
        None, description="the issuer's signing key may not sign after this time (certify refuses an expired key)"
    )

    def check_key_valid(self, now: datetime | None = None) -> None:
        """Raise :class:`~digiskill.errors.InputError` when the issuer's key has expired."""
        now = now or datetime.now(UTC)
        if self.key_expires is not None and now >= self.key_expires:
            raise InputError(
                Problem(f"the issuer key of {self.id!r} expired on {self.key_expires.isoformat()}; make a new key")
            )

    def display_name(self, lang: str) -> str:
        """The issuer's name in ``lang`` (da/en), or ``name``."""
        return self.names.get(lang, self.name)  # type: ignore[call-overload]

    def credential_id(self, uuid: str) -> str:
        """The credential's id: its verification URL when the issuer has one, else ``urn:uuid:…``."""
        return f"{self.verify_url}{uuid}" if self.verify_url else f"urn:uuid:{uuid}"

    def as_profile(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name}
        for key in ("url", "email", "description"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out


def _achievement_id(bank: Bank) -> str:
    return f"{URN}:achievement:digital-skills:{bank.content.framework.version}"


def _area_rd_id(bank: Bank, area: str) -> str:
    return f"{_achievement_id(bank)}:{area}"


def _digcomp3_alignments(bank: Bank, area_id: str) -> list[dict[str, Any]]:
    """The area's DigComp 3.0 competences as OB 3.0 alignments (none when the framework has no 3.0 mapping)."""
    fw = bank.content.framework
    area = fw.area(area_id)
    if fw.digcomp3 is None or area is None or area.digcomp3 is None:
        return []
    return [
        {
            "type": ["Alignment"],
            "targetName": f"DigComp 3.0 competence {c} (area {c[0]}: {fw.digcomp3.areas[c[0]].en})",
            "targetCode": c,
            "targetFramework": "DigComp 3.0",
            "targetType": "ext:DigCompCompetence",  # DigComp is neither CASE nor CTDL: an OB 3.0 ext: target type
            "targetUrl": DIGCOMP3_URL,
        }
        for c in area.digcomp3.competences
    ]


def _level_description(bank: Bank, level: int, descriptor: str) -> str:
    """A level's descriptor, followed by the DigComp 3.0 proficiency level it falls in (when mapped)."""
    fw3 = bank.content.framework.digcomp3
    return descriptor if fw3 is None else f"{descriptor} DigComp 3.0 proficiency level: {fw3.level_of(level).name.en}."


CRITERIA = (
    "A level in an area is confirmed when the posterior probability that the person's ability is at or above the "
    "level's cut score is at least 0.8 (cut scores set by item mapping at RP67)."
)
CRITERIA_JOINT = (
    "Multidimensional test: the areas' abilities are correlated, so the posterior uses the answers in all areas. A "
    "level in an area is the highest one whose probability (ability at or above the level's cut score) given all "
    "answers is at least 0.8, but never above the highest level the area's own answers alone give at least 0.5, and "
    "never below the highest level they alone give at least 0.8 (cut scores set by item mapping at RP67)."
)
"""The achievement's criteria: the level rule of a unidimensional test, and that of a multidimensional one
(:mod:`digiskill.results.adaptive`)."""


def _achievement(bank: Bank, areas: list[str], joint: bool = False) -> dict[str, Any]:
    fw = bank.content.framework
    versions = "DigComp 2.2" + (" and DigComp 3.0" if fw.digcomp3 is not None else "")
    descriptions = []
    for area_id in areas:
        area = fw.area(area_id)
        rd_id = _area_rd_id(bank, area_id)
        descriptions.append(
            {
                "id": rd_id,
                "type": ["ResultDescription"],
                "name": f"{area.name.en} / {area.name.da}",
                "resultType": "RubricCriterionLevel",
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": c.name.en,
                        "targetCode": c.id,
                        "targetFramework": "DigComp 2.2",
                        "targetType": DIGCOMP_COMPETENCE_TYPE,
                        "targetUrl": DIGCOMP_URL,
                    }
                    for c in area.competences
                ]
                + _digcomp3_alignments(bank, area_id),
                "rubricCriterionLevel": [
                    {
                        "id": f"{rd_id}:level:{lv.level}",
                        "type": ["RubricCriterionLevel"],
                        "level": str(lv.level),
                        "name": f"{lv.name.en} / {lv.name.da}",
                        "description": _level_description(bank, lv.level, lv.descriptor.en),
                    }
                    for lv in fw.levels
                ],
            }
        )
    return {
        "id": _achievement_id(bank),
        "type": ["Achievement"],
        "achievementType": "Assessment",
        "name": "Digital skills (digiskill) / Digitale kompetencer",
        "description": f"An adaptive assessment of adults' digital skills in competence areas mapped to {versions}.",
        "criteria": {"narrative": CRITERIA_JOINT if joint else CRITERIA},
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": "DigComp 2.2: The Digital Competence Framework for Citizens",
                "targetFramework": "DigComp 2.2",
                "targetType": DIGCOMP_FRAMEWORK_TYPE,
                "targetUrl": DIGCOMP_URL,
            }
        ]
        + (
            [
                {
                    "type": ["Alignment"],
                    "targetName": "DigComp 3.0: European Digital Competence Framework, Fifth Edition",
                    "targetFramework": "DigComp 3.0",
                    "targetType": "ext:DigCompFramework",
                    "targetUrl": DIGCOMP3_URL,
                }
            ]
            if fw.digcomp3 is not None
            else []
        ),
        "resultDescription": descriptions,
        "version": fw.version,
    }


def hashed_identity(reference: str, salt: str) -> dict[str, Any]:
    """The OB 3.0 ``IdentityObject`` of a pseudonymous person reference: ``identityHash`` is
    ``'sha256$' + hex(SHA-256(UTF-8(reference + salt)))``, ``hashed: true``, with the salt beside it.

    Whoever knows the reference (the person, their caseworker) recomputes the hash with the credential's salt and so
    proves that the credential is theirs (:func:`identity_matches`); the reference itself is never in the credential.
    """
    digest = hashlib.sha256((reference + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"{IDENTITY_HASH_ALGORITHM}${digest}",
        "identityType": "identifier",
        "hashed": True,
        "salt": salt,
    }


def identity_matches(credential: Mapping[str, Any], reference: str) -> bool:
    """True when one hashed identifier of the credential's subject is the hash of ``reference`` with its salt."""
    subject = credential.get("credentialSubject")
    idents = subject.get("identifier", []) if isinstance(subject, Mapping) else []
    for ident in idents if isinstance(idents, list) else [idents]:
        if isinstance(ident, Mapping) and ident.get("hashed") is True and isinstance(ident.get("salt"), str):
            if hmac.compare_digest(
                hashed_identity(reference, ident["salt"])["identityHash"], str(ident.get("identityHash"))
            ):
                return True
    return False


def open_badge_credential(
    result: AssessmentResult,
    bank: Bank,
    issuer: IssuerProfile,
    *,
    holder_name: str | None = None,
    salt: str | None = None,
    credential_status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential for ``result`` (sign it with ``signing.sign_credential``).

    The subject is identified by a salted SHA-256 of the result's pseudonymous person reference
    (:func:`hashed_identity`; ``salt`` defaults to 16 random bytes, hex) and, only if the person chose it, by their
    name in plain text. ``credential_status`` (a ``BitstringStatusListEntry``) makes the credential revocable.
    """
    areas = [a.area for a in result.areas]
    provisional = (
        " PROVISIONAL (provisional parameters, not calibrated on real responses)." if result.provisional else ""
    )
    results = []
    evidence = []
    for a in result.areas:
        rd_id = _area_rd_id(bank, a.area)
        r: dict[str, Any] = {"type": ["Result"], "resultDescription": rd_id}
        if a.certified_level is not None:
            r["achievedLevel"] = f"{rd_id}:level:{a.certified_level}"
            r["value"] = str(a.certified_level)
        else:
            r["value"] = "no level confirmed"
        results.append(r)
        probs = ", ".join(f"L{k}: {v:.3f}" for k, v in sorted(a.level_probabilities.items()))
        own = a.own_answers
        if own is not None:  # a multidimensional test: the joint level and what the area's own answers say
            probs += (
                f" (all areas' answers; joint level {a.joint_level or 'none'}); own answers alone: "
                + (
                    f"theta = {own.theta:.4f}, SE = {own.se:.4f}, "
                    if own.theta is not None and own.se is not None
                    else ""
                )
                + f"proven level {own.proven_level or 'none'}, supported level {own.supported_level or 'none'}"
            )
        evidence.append(
            {
                "id": f"urn:uuid:{result.result_id}#{a.area}",
                "type": ["Evidence"],
                "name": f"{a.area}: {a.n_items} items",
                "narrative": f"Items: {', '.join(a.items)}. theta = {a.theta:.4f}, SE = {a.se:.4f} "
                f"({result.estimator}); P(theta >= cut): {probs}. Bank: framework {result.bank.framework_version}, "
                f"content {result.bank.content_digest[:16]}, parameters {result.bank.parameter_set}; "
                f"{result.engine}.{provisional}"
                if a.theta is not None and a.se is not None
                else f"Items: {', '.join(a.items)}.",
                "genre": "digiskill assessment",
            }
        )
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "achievement": _achievement(bank, areas, result.multidimensional),
    }
    identifiers = [hashed_identity(result.person, salt if salt is not None else secrets.token_hex(16))]
    if holder_name:
        identifiers.append(
            {"type": "IdentityObject", "identityHash": holder_name, "identityType": "name", "hashed": False}
        )
    subject["identifier"] = identifiers
    subject["result"] = results
    return {
        "@context": list(CONTEXTS),
        "id": issuer.credential_id(result.result_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer.as_profile(),
        "validFrom": result.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": "Digital skills certificate (digiskill)" + (" - PROVISIONAL" if result.provisional else ""),
        "description": "Certified levels 1-8 per competence area (the eight DigComp 2.2 proficiency levels"
        + ("; each level also names its DigComp 3.0 proficiency level)." if bank.content.framework.digcomp3 else ").")
        + provisional,
        "credentialSubject": subject,
        "evidence": evidence,
    } | ({"credentialStatus": dict(credential_status)} if credential_status is not None else {})
