"""Test sessions held by the server: invitations, the current item, answers recorded exactly once, results and
certificates, audit, GDPR export/erase and retention.

Exactly once: an answer names its step. The answer to the current step is scored from the item content, applied to the
CAT session read from the database, and written with ``UPDATE … WHERE version = v`` plus an ``answers`` row that is
unique per (session, step), in one transaction. A writer that lost the race (version changed, or the row exists)
re-reads and then sees the step as answered: the same answer returns the stored outcome and records nothing; another
answer to an answered step, or an answer to a future step, is a 409.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from .auth import code_digest, new_code
from .context import Service
from .db import Answer, AuditEntry, Certificate, SessionRow, utcnow
from .problems import ProblemError
from .steps import Execute, Read, Steps, postgresql_sql, run_steps

MAX_ATTEMPTS = 20
SESSIONS = SessionRow.__table__
ANSWERS = Answer.__table__
# the statements of a citizen's steps, built once (Core SQL: their compiled form is cached by SQLAlchemy)
_SESSION_BY_CODE = select(SESSIONS).where(SESSIONS.c.code_hash == bindparam("key"))
_SESSION_BY_ID = select(SESSIONS).where(SESSIONS.c.id == bindparam("key"))
_STORED_ANSWER = select(ANSWERS.c.item, ANSWERS.c.answer, ANSWERS.c.outcome).where(
    ANSWERS.c.session_id == bindparam("session"), ANSWERS.c.step == bindparam("step")
)
_NEXT_VERSION = update(SESSIONS).where(  # SET: the columns named in the parameters
    SESSIONS.c.id == bindparam("where_id"), SESSIONS.c.version == bindparam("where_version")
)
_RECORD_ANSWER = insert(ANSWERS)
_SET_STATUS = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("where_id"), SESSIONS.c.version == bindparam("where_version"))
    .values(status=bindparam("new_status"), updated_at=bindparam("new_updated_at"), version=bindparam("new_version"))
)
_ANSWERS_OF = (
    select(ANSWERS.c.step, ANSWERS.c.item, ANSWERS.c.answer, ANSWERS.c.response)
    .where(ANSWERS.c.session_id == bindparam("key"))
    .order_by(ANSWERS.c.step)
)
_STEP_COLUMNS = ("state", "n_steps", "current_item", "status", "updated_at", "version")
_ANSWER_COLUMNS = ("session_id", "step", "item", "answer", "response", "outcome", "created_at")


def _one_statement_step(finished: bool):
    """PostgreSQL: the session's next version and the answer row in one statement (a data-modifying WITH), atomic by
    itself, so a step's write is one round trip instead of BEGIN, UPDATE, INSERT, COMMIT. It inserts no row when the
    version moved on (another writer was first), and fails whole on a duplicate (session, step)."""
    columns = _STEP_COLUMNS + (("finished_at", "result") if finished else ())
    moved = (
        update(SESSIONS)
        .where(SESSIONS.c.id == bindparam("where_id"), SESSIONS.c.version == bindparam("where_version"))
        .values({c: bindparam(f"new_{c}", type_=SESSIONS.c[c].type) for c in columns})
        .returning(SESSIONS.c.id)
        .cte("moved")
    )
    values = [moved.c.id] + [bindparam(f"a_{c}", type_=ANSWERS.c[c].type) for c in _ANSWER_COLUMNS[1:]]
    statement = insert(ANSWERS).from_select(list(_ANSWER_COLUMNS), select(*values))
    return statement.execution_options(preserve_rowcount=True)  # an INSERT's row count is kept only when asked


_PG_STEP = {finished: _one_statement_step(finished) for finished in (False, True)}


class _LostRace(Exception):
    """Another writer changed the session first (its version moved on)."""


def _now() -> datetime:
    return datetime.now(UTC)


def audit(db, actor: str, role: str, action: str, target: str, **detail: Any) -> None:
    db.add(AuditEntry(at=utcnow(), actor=actor, role=role, action=action, target=target, detail=json.dumps(detail)))


# ------------------------------------------------------------------------------------------------- invitations
def create_invitation(
    svc: Service, actor: str, role: str, person: str, areas: list[str] | None, profile: str | None, lang: str
) -> tuple[SessionRow, str]:
    """A new session for ``person`` over ``areas`` (or the essential areas of ``profile``); returns it and its code."""
    from ..cat import start_session
    from ..results.plan import areas_to_test

    chosen = areas_to_test(svc.bank, areas, profile)
    seed = uuid.uuid4().int % (2**31)
    session = start_session(svc.cat_bank, svc.config, seed=seed, areas=chosen)
    from ..cat import next_item

    first = next_item(session, svc.cat_bank)
    for _ in range(5):
        code = new_code()
        row = SessionRow(
            id=str(uuid.uuid4()),
            code_hash=code_digest(code),
            person_ref=person,
            areas=json.dumps(chosen),
            profile=profile,
            lang=lang,
            seed=seed,
            status="invited",
            state=session.model_dump_json(),
            n_steps=0,
            current_item=first,
            version=1,
            created_by=None,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        with svc.write() as db:
            db.add(row)
            audit(db, actor, role, "create_invitation", person, session=row.id, areas=chosen, profile=profile)
            try:
                db.commit()
            except IntegrityError:  # a code collision (2^-100): draw again
                db.rollback()
                continue
        svc.sessions.put(row.id, row.version, row.state, session)  # the first answer reuses it (and its choice)
        return row, code
    raise RuntimeError("could not store a new invitation")


def _next_version(conn, row: Row, **values: Any) -> bool:
    """Move the session from ``row.version`` to the next version with ``values``; False when another writer did
    first."""
    params = {"where_id": row.id, "where_version": row.version, "version": row.version + 1, **values}
    return conn.execute(_NEXT_VERSION, params).rowcount == 1


def by_code(svc: Service, code: str, client: str) -> Row:
    """The session of an invitation code; unknown codes count towards the client's guessing limit (429)."""
    return run_steps(svc, session_by_code(svc, code, client))


def session_by_code(svc: Service, code: str, client: str) -> Steps[Row]:
    """:func:`by_code` as database steps (run them with :func:`~.steps.run_steps` or :func:`~.steps.arun_steps`)."""
    limit = svc.settings.limits.code_failures_per_minute
    if svc.limiter.exceeded("code", client, limit):
        raise ProblemError(429, "too many unknown codes from this address; wait a minute", code="rate-limited")
    digest = code_digest(code)
    row = None if digest is None else (yield Read(_SESSION_BY_CODE, {"key": digest}))
    if row is None:
        svc.limiter.hit("code", client, limit)
        raise ProblemError(404, "no test has this code; check the code on your invitation", code="unknown-code")
    if row.status == "purged":
        raise ProblemError(410, "this test's answers have been deleted (retention period)", code="purged")
    return row


# ------------------------------------------------------------------------------------------------ the citizen
def _area_name(svc: Service, area: str | None, lang: str) -> str:
    if area is None:
        return ""
    return getattr(svc.bank.content.framework.area(area).name, lang)


def item_view(svc: Service, row: SessionRow | Row, item_id: str | None, step: int, lang: str) -> dict[str, Any] | None:
    """What a citizen sees of an item: the stem and options in their language, never the key or the scoring."""
    if item_id is None:
        return None
    item = svc.items[item_id]
    area = svc.item_area[item_id]
    return {
        "step": step,
        "item": item_id,
        "format": item.format,
        "area": area,
        "area_name": _area_name(svc, area, lang),
        "stem": getattr(item.stem, lang),
        "options": [{"id": o.id, "text": getattr(o, lang)} for o in item.options],
    }


def progress(svc: Service, row: SessionRow | Row) -> dict[str, Any]:
    return {
        "status": row.status,
        "lang": row.lang,
        "answered": row.n_steps,
        "finished": row.status == "finished",
        "areas": [{"area": a, "name": _area_name(svc, a, row.lang)} for a in json.loads(row.areas)],
    }


def citizen_view(svc: Service, row: SessionRow | Row) -> dict[str, Any]:
    view = progress(svc, row)
    view["item"] = None if row.status == "paused" else item_view(svc, row, row.current_item, row.n_steps + 1, row.lang)
    return view


def _canonical_answer(item, answer: str | list[str]) -> str:
    if item.format == "multiple_response" and isinstance(answer, list):
        answer = sorted(answer)
    return json.dumps(answer, ensure_ascii=False)


@dataclass(frozen=True)
class Recorded:
    """What answering a step gave: the outcome, its JSON text (stored with the answer: a repeat gets the same bytes),
    and whether this was a repeat of an answer already recorded."""

    outcome: dict[str, Any]
    text: str
    replayed: bool


def record_answer(
    svc: Service, session_id: str, step: int, item_id: str, answer: str | list[str], row: Row | None = None
) -> Recorded:
    """Record the answer to ``step`` exactly once (see :func:`answer_steps`), waiting for each database call."""
    return run_steps(svc, answer_steps(svc, session_id, step, item_id, answer, row))


def answer_steps(
    svc: Service, session_id: str, step: int, item_id: str, answer: str | list[str], row: Row | None = None
) -> Steps[Recorded]:
    """Record the answer to ``step`` exactly once, as database steps.

    ``row``: the session row the caller has just read (by its code), used for the first attempt instead of reading it
    again; its ``version`` guards the write like any other read. A writer that lost the race reads again and then
    replays or refuses."""
    for _ in range(MAX_ATTEMPTS):
        if row is None or row.id != session_id:
            row = yield Read(_SESSION_BY_ID, {"key": session_id})
        if row is None:
            raise ProblemError(404, "the test no longer exists", code="unknown-session")
        if 1 <= step <= row.n_steps:
            stored = yield Read(_STORED_ANSWER, {"session": row.id, "step": step})
            text = _replayed_outcome(svc, row, stored, step, item_id, answer)
            return Recorded(json.loads(text), text, True)
        write = _next_step(svc, row, step, item_id, answer)
        if not (yield write):  # another request answered first: read again, then replay or refuse
            row = None
            continue
        svc.sessions.put(session_id, row.version + 1, write.values["state"], write.session)
        return Recorded(write.outcome, write.text, False)
    raise ProblemError(409, "the test is busy with another answer; try again", code="busy")


def _next_step(svc: Service, row: Row, step: int, item_id: str, answer: str | list[str]) -> StepWrite:
    """The answer to the current ``step`` applied to the session ``row`` holds: the CAT step, the outcome and the
    write that records both (409 when the step is not the current one, 422 for an option the item lacks)."""
    from ..bank.content import score_response
    from ..cat import answer as cat_answer
    from ..cat import next_item
    from ..results.models import result_from_session

    if row.status == "purged":
        raise ProblemError(410, "this test's answers have been deleted (retention period)", code="purged")
    if row.status == "finished":
        raise ProblemError(409, "the test has ended; no more answers", code="finished")
    if step != row.n_steps + 1:
        raise ProblemError(
            409,
            f"step {step} is not the current step {row.n_steps + 1}",
            code="stale-step",
            current_step=row.n_steps + 1,
        )
    if row.status == "paused":
        raise ProblemError(409, "the test is paused; resume it first", code="paused")
    if item_id != row.current_item:
        raise ProblemError(
            409, f"item {item_id!r} is not the item of step {step}", code="stale-item", current_step=step
        )
    item = svc.items[item_id]
    response = score_response(item, answer)  # InputError (422) for an option the item does not have
    session = svc.session_of(row.id, row.version, row.state)
    cat_bank = svc.cat_bank_for(session.config)  # a session keeps the configuration it was started with
    new = cat_answer(session, cat_bank, item_id, response)
    nxt = next_item(new, cat_bank)
    finished = nxt is None
    now = utcnow()
    outcome = {
        "step": step,
        "item": item_id,
        "recorded": True,
        "answered": step,
        "finished": finished,
        "next": None if finished else item_view(svc, row, nxt, step + 1, row.lang),
    }
    values: dict[str, Any] = {
        "state": new.model_dump_json(),
        "n_steps": step,
        "current_item": nxt,
        "status": "finished" if finished else "active",
        "updated_at": now,
    }
    if finished:
        values["finished_at"] = now
        values["result"] = result_from_session(new, svc.bank, person=row.person_ref, cat=cat_bank).dump_json()
    text = json.dumps(outcome, ensure_ascii=False)
    recorded = {
        "session_id": row.id,
        "step": step,
        "item": item_id,
        "answer": _canonical_answer(item, answer),
        "response": response,
        "outcome": text,
        "created_at": now,
    }
    return StepWrite(row, values, recorded, finished, outcome, text, new)


@dataclass(frozen=True)
class StepWrite:
    """The write of one step: the session's next version (``values``) and the answer row (``recorded``), atomic; its
    result is False when another writer moved the version first or recorded the same step (no partial write)."""

    row: Row
    values: dict[str, Any]
    recorded: dict[str, Any]
    finished: bool
    outcome: dict[str, Any]
    text: str
    session: Any  # the CAT session after the step (kept in the worker's cache once written)

    def run(self, svc: Service) -> bool:
        try:
            if svc.engine.dialect.name == "postgresql":
                with svc.read_engine.connect() as conn:  # autocommit: the one statement commits itself
                    return conn.execute(_PG_STEP[self.finished], self._pg_params()).rowcount == 1
            with svc.write_engine.begin() as conn:  # one transaction: the session's new version and the answer row
                if not _next_version(conn, self.row, **self.values):
                    raise _LostRace  # rolls the transaction back
                conn.execute(_RECORD_ANSWER, self.recorded)
            return True
        except (_LostRace, IntegrityError):
            return False

    async def arun(self, svc: Service) -> bool:
        """PostgreSQL (the only database served asynchronously): the one statement, awaited on the event loop."""
        import psycopg

        pool = await svc.pg_pool()
        try:
            async with pool.connection() as conn:  # autocommit: the one statement commits itself
                cursor = await conn.execute(postgresql_sql(_PG_STEP[self.finished]), self._pg_params())
                return cursor.rowcount == 1
        except psycopg.IntegrityError:  # the same step recorded by another request
            return False

    def _pg_params(self) -> dict[str, Any]:
        params = {"where_id": self.row.id, "where_version": self.row.version, "new_version": self.row.version + 1}
        params.update({f"new_{k}": v for k, v in self.values.items()})
        params.update({f"a_{k}": v for k, v in self.recorded.items() if k != "session_id"})
        return params


def _replayed_outcome(svc: Service, row: Row, stored: Row | None, step: int, item_id: str, answer) -> str:
    """The stored outcome (JSON) of an answered ``step`` when this is the same answer again; 409 for another."""
    item = None if stored is None else svc.items.get(stored.item)
    if item is not None and stored.item == item_id and stored.answer == _canonical_answer(item, answer):
        return stored.outcome
    raise ProblemError(
        409,
        f"step {step} was already answered (with another answer); the current step is {row.n_steps + 1}",
        code="step-answered",
        current_step=row.n_steps + 1,
    )


def pause_steps(svc: Service, session_id: str, paused: bool) -> Steps[Row]:
    """Pause (``paused``) or resume a session, as database steps: its status moves to ``paused``, or back to
    ``active`` (``invited`` before the first answer), with the next version; the session row after the move."""
    for _ in range(MAX_ATTEMPTS):
        row = yield Read(_SESSION_BY_ID, {"key": session_id})
        if row is None:
            raise ProblemError(404, "the test no longer exists", code="unknown-session")
        if row.status in ("finished", "purged"):
            raise ProblemError(409, "the test has ended", code="finished")
        status = "paused" if paused else ("active" if row.n_steps else "invited")
        params = {"where_id": row.id, "where_version": row.version, "new_version": row.version + 1}
        moved = yield Execute(_SET_STATUS, {**params, "new_status": status, "new_updated_at": utcnow()})
        if moved == 1:
            return (yield Read(_SESSION_BY_ID, {"key": session_id}))
    raise ProblemError(409, "the test is busy; try again", code="busy")


def answered(session_id: str) -> Steps[list[Row]]:
    """Every recorded answer of a session in step order (``step``, ``item``, ``answer`` as stored JSON,
    ``response``), as a database step."""
    return (yield Read(_ANSWERS_OF, {"key": session_id}, many=True))


def _result(row: SessionRow | Row):
    from ..results.models import AssessmentResult

    if row.result is None:
        raise ProblemError(409, "the test has not ended yet", code="not-finished")
    return AssessmentResult.model_validate_json(row.result)


def citizen_result(svc: Service, row: SessionRow | Row) -> dict[str, Any]:
    """Levels per area with what they mean (no item keys: those belong to the explanation pages); a multidimensional
    test's result also states its level rule (``level_rule``, the certificate's words)."""
    result = _result(row)
    levels = {lv.level: lv for lv in svc.bank.content.framework.levels}
    lang = row.lang
    view = {
        "finished": True,
        "provisional": result.provisional,
        "created": result.created.isoformat(),
        "areas": [
            {
                "area": a.area,
                "name": _area_name(svc, a.area, lang),
                "items": a.n_items,
                "level": a.certified_level,
                "level_name": getattr(levels[a.certified_level].name, lang) if a.certified_level else None,
                "descriptor": getattr(levels[a.certified_level].descriptor, lang) if a.certified_level else None,
            }
            for a in result.areas
        ],
    }
    if result.multidimensional:
        from ..results.document import TEXT

        view["level_rule"] = TEXT["framework_joint"][lang]
    return view


# ------------------------------------------------------------------------------------------------ certificates
def ensure_certificate(svc: Service, row: SessionRow | Row, actor: str, role: str) -> Certificate:
    """The session's active certificate, issued now (from the result the server computed) if there is none.

    A new credential gets an index on the service's revocation list (:func:`.statuslist.free_index`) and its status
    entry. Two requests may issue at once: the unique index on the session's active certificate keeps the first and
    the other returns it; a list index taken by another worker between the draw and the insert fails the insert on
    the unique ``status_index``, and the credential is signed again with a new draw."""
    from ..results.issue import issue_certificate
    from ..results.status import status_entry
    from .statuslist import free_index, list_url

    active = select(Certificate).where(Certificate.session_id == row.id, Certificate.revoked_at.is_(None))
    with svc.read() as db:
        cert = db.scalar(active)
    if cert is not None:
        return cert
    result = _result(row)
    with svc.read() as db:
        earlier = len(db.scalars(select(Certificate.id).where(Certificate.session_id == row.id)).all())
    if earlier:  # re-issue after a revocation: a new credential id
        result = result.model_copy(update={"result_id": str(uuid.uuid4())})
    for _ in range(MAX_ATTEMPTS):
        index = free_index(svc)
        entry = status_entry(list_url(svc.settings.public_url), index)
        with svc.issuing:  # one issuance of this process at a time (see Service.issuing)
            issued = issue_certificate(
                result, svc.bank, svc.issuer.profile, svc.issuer.private_key, lang=row.lang, credential_status=entry
            )
        cert_id = json.loads(issued.credential_json)["id"]
        cert = Certificate(
            id=cert_id,
            session_id=row.id,
            person_ref=row.person_ref,
            code=issued.code,
            credential=issued.credential_json,
            pdf=issued.pdf,
            issued_at=utcnow(),
            issued_by=actor,
            status_index=index,
        )
        with svc.write() as db:
            db.add(cert)
            audit(db, actor, role, "issue_certificate", row.person_ref, session=row.id, certificate=cert_id)
            try:
                db.commit()
            except IntegrityError:  # issued by a concurrent request (use that one), or the index was taken
                db.rollback()
                with svc.read() as rdb:
                    cert = rdb.scalar(active)
                if cert is not None:
                    return cert
                continue
        return cert
    raise ProblemError(503, "could not allocate a revocation list index; try again", code="busy")


def revoke_certificate(svc: Service, cert_id: str, actor: str, role: str, reason: str) -> Certificate:
    with svc.write() as db:
        cert = db.get(Certificate, cert_id)
        if cert is None:
            raise ProblemError(404, f"no certificate {cert_id!r}", code="unknown-certificate")
        if cert.revoked_at is None:
            cert.revoked_at = utcnow()
            cert.revoked_by = actor
            cert.revocation_reason = reason
            audit(db, actor, role, "revoke_certificate", cert.person_ref or "", certificate=cert_id, reason=reason)
        db.commit()
        return cert


def verify(svc: Service, document: Any) -> dict[str, Any]:
    """Public verification: signature with this service's issuer key, and the revocation state it holds."""
    from ..results.signing import verify_credential

    result = verify_credential(document, svc.issuer.private_key.public_key())
    issuer = document.get("issuer") if isinstance(document, dict) else None
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    trusted = result.ok and issuer_id == svc.issuer.profile.id
    revoked = None
    cred_id = document.get("id") if isinstance(document, dict) else None
    if isinstance(cred_id, str):
        with svc.read() as db:
            cert = db.get(Certificate, cred_id)
        if cert is not None:
            revoked = cert.revoked_at is not None
    return {
        "valid": bool(trusted and not revoked),
        "signature_valid": result.ok,
        "issuer_established": trusted,
        "revoked": bool(revoked),
        "known_to_this_service": revoked is not None,
        "issuer": issuer_id,
        "demo_issuer": svc.issuer.demo,
        "problems": [{"code": str(p.code), "message": p.message} for p in result.problems],
    }


# -------------------------------------------------------------------------------------------- staff: read, GDPR
def session_summary(row: SessionRow | Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "person": row.person_ref,
        "status": row.status,
        "areas": json.loads(row.areas),
        "profile": row.profile,
        "lang": row.lang,
        "answered": row.n_steps,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "has_result": row.result is not None,
    }


def certificate_summary(cert: Certificate) -> dict[str, Any]:
    return {
        "id": cert.id,
        "session": cert.session_id,
        "code": cert.code,
        "issued_at": cert.issued_at.isoformat(),
        "issued_by": cert.issued_by,
        "revoked": cert.revoked_at is not None,
        "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revocation_reason": cert.revocation_reason,
    }


def get_session(svc: Service, session_id: str) -> SessionRow:
    with svc.read() as db:
        row = db.get(SessionRow, session_id)
    if row is None:
        raise ProblemError(404, f"no session {session_id!r}", code="unknown-session")
    return row


def read_result(svc: Service, session_id: str, actor: str, role: str):
    """The full result (θ, SE, level probabilities, step log), audited."""
    row = get_session(svc, session_id)
    result = _result(row)
    with svc.write() as db:
        audit(db, actor, role, "read_result", row.person_ref, session=session_id)
        db.commit()
    return row, result


def export_person(svc: Service, person: str, actor: str, role: str) -> dict[str, Any]:
    """Everything held about ``person`` (GDPR art. 15), audited."""
    with svc.write() as db:
        audit(db, actor, role, "export_person", person)
        db.commit()
    with svc.read() as db:
        rows = db.scalars(select(SessionRow).where(SessionRow.person_ref == person)).all()
        ids = [r.id for r in rows]
        answers = db.scalars(select(Answer).where(Answer.session_id.in_(ids)).order_by(Answer.step)).all()
        certs = db.scalars(select(Certificate).where(Certificate.person_ref == person)).all()
        entries = db.scalars(select(AuditEntry).where(AuditEntry.target == person).order_by(AuditEntry.id)).all()
    by_session: dict[str, list] = {i: [] for i in ids}
    for a in answers:
        by_session[a.session_id].append(
            {"step": a.step, "item": a.item, "answer": json.loads(a.answer), "at": a.created_at.isoformat()}
        )
    return {
        "person": person,
        "exported_at": _now().isoformat(),
        "sessions": [
            {
                **session_summary(r),
                "answers": by_session[r.id],
                "result": json.loads(r.result) if r.result else None,
            }
            for r in rows
        ],
        "certificates": [{**certificate_summary(c), "credential": c.credential} for c in certs],
        "audit": [audit_view(e) for e in entries],
    }


def erase_person(svc: Service, person: str, actor: str, role: str) -> dict[str, int]:
    """Erase everything held about ``person`` (GDPR art. 17). Issued certificates keep only their id, code, index on
    the revocation list and revocation state (no personal data), so that a credential the person holds still verifies
    (here and against the published list) and its index is never given again; the audit log keeps the fact of the
    erasure."""
    with svc.write() as db:
        ids = db.scalars(select(SessionRow.id).where(SessionRow.person_ref == person)).all()
        n_answers = db.execute(delete(Answer).where(Answer.session_id.in_(ids))).rowcount
        n_sessions = db.execute(delete(SessionRow).where(SessionRow.id.in_(ids))).rowcount
        n_certs = db.execute(
            update(Certificate)
            .where(Certificate.person_ref == person)
            .values(person_ref=None, session_id=None, credential=None, pdf=None)
        ).rowcount
        audit(db, actor, role, "erase_person", person, sessions=n_sessions, answers=n_answers, certificates=n_certs)
        db.commit()
    return {"sessions": n_sessions, "answers": n_answers, "certificates": n_certs}


def apply_retention(svc: Service, now: datetime | None = None, actor: str = "system", role: str = "system") -> int:
    """Delete the response logs of sessions inactive for more than ``retention_days``; returns how many sessions.

    A purged session keeps its levels (the result without its step log) and its certificates stay verifiable."""
    days = svc.settings.retention_days
    if days is None:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    from ..results.models import AssessmentResult

    with svc.write() as db:
        rows = db.scalars(
            select(SessionRow).where(SessionRow.updated_at < cutoff, SessionRow.purged_at.is_(None))
        ).all()
        for row in rows:
            db.execute(delete(Answer).where(Answer.session_id == row.id))
            if row.result is not None:
                slim = AssessmentResult.model_validate_json(row.result).model_copy(update={"steps": None})
                row.result = slim.dump_json()
            row.state = None
            row.status = "purged"
            row.purged_at = utcnow()
            row.current_item = None
            row.version += 1
        if rows:
            audit(db, actor, role, "retention_purge", "*", sessions=len(rows), days=days)
        db.commit()
    return len(rows)


def audit_view(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "role": e.role,
        "action": e.action,
        "target": e.target,
        "detail": json.loads(e.detail),
    }
