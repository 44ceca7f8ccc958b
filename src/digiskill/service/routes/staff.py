"""Endpoints for systems, caseworkers and admins (bearer tokens): invitations, sessions and results, screening,
certificates, GDPR export and erasure, the audit log, retention. Reads of results and every issue or revocation are
written to the audit log.

Roles: ``system`` (a jobcenter's own system) creates invitations and reads sessions, results and screenings;
``caseworker`` also issues and revokes certificates and exports a person's data; ``admin`` also erases a person's
data, reads the audit log and runs the retention purge.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ..assessments import (
    apply_retention,
    audit_view,
    certificate_summary,
    create_invitation,
    ensure_certificate,
    erase_person,
    export_person,
    get_session,
    read_result,
    revoke_certificate,
    session_summary,
)
from ..db import AuditEntry, Certificate, SessionRow
from ..deps import ADMIN, ANY, STAFF, AdminRole, AnyRole, StaffRole, SvcDep, roles_extra
from ..models import InvitationIn, RevokeIn
from ..problems import ProblemError

router = APIRouter(prefix="/v1")


@router.post(
    "/invitations",
    status_code=201,
    tags=["invitations"],
    openapi_extra=roles_extra(*ANY),
    summary="Invite a person (pseudonymous reference) to a test; returns the code and a link",
)
def invite(body: InvitationIn, caller: AnyRole, svc: SvcDep) -> dict:
    row, code = create_invitation(svc, caller.actor, caller.role, body.person, body.areas, body.profile, body.lang)
    return {
        "session": row.id,
        "person": row.person_ref,
        "code": code,
        "link": f"{svc.settings.public_url.rstrip('/')}/t/{code}",
        "areas": json.loads(row.areas),
        "lang": row.lang,
    }


@router.get("/sessions", tags=["sessions"], openapi_extra=roles_extra(*ANY), summary="List sessions")
def list_sessions(
    *,
    person: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    caller: AnyRole,
    svc: SvcDep,
) -> dict:
    query = select(SessionRow).order_by(SessionRow.created_at, SessionRow.id)
    if person is not None:
        query = query.where(SessionRow.person_ref == person)
    if status is not None:
        query = query.where(SessionRow.status == status)
    with svc.read() as db:
        rows = db.scalars(query.limit(limit).offset(offset)).all()
    return {"sessions": [session_summary(r) for r in rows], "limit": limit, "offset": offset}


@router.get(
    "/sessions/{session_id}",
    tags=["sessions"],
    openapi_extra=roles_extra(*ANY),
    summary="One session: status, progress and its certificates (no result values)",
)
def read_session(session_id: str, caller: AnyRole, svc: SvcDep):
    row = get_session(svc, session_id)
    with svc.read() as db:
        certs = db.scalars(select(Certificate).where(Certificate.session_id == session_id)).all()
    return {**session_summary(row), "certificates": [certificate_summary(c) for c in certs]}


@router.get(
    "/sessions/{session_id}/result",
    tags=["sessions"],
    openapi_extra=roles_extra(*ANY),
    summary="The full result: θ, SE, level probabilities, step log (audited)",
)
def session_result(session_id: str, caller: AnyRole, svc: SvcDep):
    _row, result = read_result(svc, session_id, caller.actor, caller.role)
    return json.loads(result.dump_json())


@router.get(
    "/sessions/{session_id}/screening",
    tags=["sessions"],
    openapi_extra=roles_extra(*ANY),
    summary="Screen the result against a job profile (support for a caseworker's decision; audited)",
)
def screening(
    session_id: str,
    *,
    profile: Annotated[
        str | None, Query(max_length=100, description="job profile id (default: the invitation's)")
    ] = None,
    caller: AnyRole,
    svc: SvcDep,
):
    from ...results.screening import profile_by_id, screen

    row, result = read_result(svc, session_id, caller.actor, caller.role)
    chosen = profile or row.profile
    if chosen is None:
        raise ProblemError(422, "name a job profile (?profile=ID); the invitation had none", code="no-profile")
    return json.loads(screen(result, profile_by_id(svc.bank, chosen), svc.bank).model_dump_json())


@router.post(
    "/sessions/{session_id}/certificate",
    tags=["certificates"],
    openapi_extra=roles_extra(*STAFF),
    summary="Issue the session's certificate (or return the active one); audited",
)
def issue(session_id: str, caller: StaffRole, svc: SvcDep):
    cert = ensure_certificate(svc, get_session(svc, session_id), caller.actor, caller.role)
    return {**certificate_summary(cert), "credential": json.loads(cert.credential)}


@router.get(
    "/certificates/{certificate_id:path}",
    tags=["certificates"],
    openapi_extra=roles_extra(*STAFF),
    summary="One certificate and its revocation state",
)
def read_certificate(certificate_id: str, caller: StaffRole, svc: SvcDep):
    with svc.read() as db:
        cert = db.get(Certificate, certificate_id)
    if cert is None:
        raise ProblemError(404, f"no certificate {certificate_id!r}", code="unknown-certificate")
    return certificate_summary(cert)


@router.post(
    "/revocations", tags=["certificates"], openapi_extra=roles_extra(*STAFF), summary="Revoke a certificate (audited)"
)
def revoke(body: RevokeIn, caller: StaffRole, svc: SvcDep):
    return certificate_summary(revoke_certificate(svc, body.certificate, caller.actor, caller.role, body.reason))


@router.get(
    "/persons/{person}/export",
    tags=["gdpr"],
    openapi_extra=roles_extra(*STAFF),
    summary="Everything held about a person reference (GDPR art. 15); audited",
)
def export(person: str, caller: StaffRole, svc: SvcDep):
    return export_person(svc, person, caller.actor, caller.role)


@router.delete(
    "/persons/{person}",
    tags=["gdpr"],
    openapi_extra=roles_extra(*ADMIN),
    summary="Erase everything held about a person reference (GDPR art. 17); audited",
)
def erase(person: str, caller: AdminRole, svc: SvcDep):
    return {"person": person, "erased": erase_person(svc, person, caller.actor, caller.role)}


@router.get("/audit", tags=["admin"], openapi_extra=roles_extra(*ADMIN), summary="The audit log (append-only)")
def read_audit(
    *,
    after: Annotated[int, Query(ge=0, description="entries with an id above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    caller: AdminRole,
    svc: SvcDep,
):
    with svc.read() as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit)).all()
    return {"entries": [audit_view(e) for e in rows]}


@router.post(
    "/admin/retention",
    tags=["admin"],
    openapi_extra=roles_extra(*ADMIN),
    summary="Delete the response logs older than the retention setting now",
)
def retention(caller: AdminRole, svc: SvcDep):
    if svc.settings.retention_days is None:
        raise ProblemError(409, "no retention period is set (--retention-days)", code="no-retention")
    return {"purged_sessions": apply_retention(svc, actor=caller.actor, role=caller.role)}
