"""Citizen endpoints, opened by the invitation code (no account): the current item, answers, pause/resume, the
result, the certificate. No response carries an answer key, a score or an item parameter."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..assessments import (
    Recorded,
    answer_steps,
    by_code,
    citizen_result,
    citizen_view,
    ensure_certificate,
    pause_steps,
    session_by_code,
)
from ..context import Service
from ..deps import SvcDep, client_address
from ..models import AnswerIn
from ..steps import Steps, serve_steps

router = APIRouter(prefix="/v1/citizen", tags=["citizen"])


# A step reads and writes the session through database steps (service/steps.py): on SQLite they run straight through
# on the event loop (short calls inside the process, no hand-over to a worker thread and back); on PostgreSQL each
# call is awaited on the loop, which serves other requests while the database server works.
def _view(svc: Service, code: str, client: str) -> Steps[dict]:
    return citizen_view(svc, (yield from session_by_code(svc, code, client)))


def _answer(svc: Service, code: str, client: str, body: AnswerIn) -> Steps[Recorded]:
    row = yield from session_by_code(svc, code, client)
    return (yield from answer_steps(svc, row.id, body.step, body.item, body.answer, row))


def _result(svc: Service, code: str, client: str) -> Steps[dict]:
    return citizen_result(svc, (yield from session_by_code(svc, code, client)))


@router.get("/{code}", summary="The test of this code: progress and the item on screen")
async def current(code: str, request: Request, svc: SvcDep) -> dict:
    return await serve_steps(svc, _view(svc, code, client_address(request)))


@router.post(
    "/{code}/answers",
    summary="Answer the current step (a repeat of the same answer returns the same outcome)",
)
async def post_answer(code: str, body: AnswerIn, request: Request, svc: SvcDep):
    done = await serve_steps(svc, _answer(svc, code, client_address(request), body))
    headers = {"X-Digiskill-Replayed": "true"} if done.replayed else None
    return Response(done.text.encode(), media_type="application/json", headers=headers)  # the JSON stored with it


def _pause(svc: Service, code: str, client: str, paused: bool) -> Steps[dict]:
    row = yield from session_by_code(svc, code, client)
    return citizen_view(svc, (yield from pause_steps(svc, row.id, paused)))


@router.post("/{code}/pause", summary="Pause the test (resume later with the same code, on any device)")
async def pause(code: str, request: Request, svc: SvcDep) -> dict:
    return await serve_steps(svc, _pause(svc, code, client_address(request), True))


@router.post("/{code}/resume", summary="Resume a paused test at the item that was on screen")
async def resume(code: str, request: Request, svc: SvcDep) -> dict:
    return await serve_steps(svc, _pause(svc, code, client_address(request), False))


@router.get("/{code}/result", summary="The levels per area, once the test has ended")
async def result(code: str, request: Request, svc: SvcDep) -> dict:
    return await serve_steps(svc, _result(svc, code, client_address(request)))


@router.get(
    "/{code}/credential",
    summary="The signed Open Badges 3.0 credential (issued by the server from the session it holds)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def credential(code: str, request: Request, svc: SvcDep) -> Response:
    row = by_code(svc, code, client_address(request))
    cert = ensure_certificate(svc, row, f"citizen:{row.id}", "citizen")
    return Response(cert.credential, media_type="application/json")


@router.get(
    "/{code}/certificate.pdf",
    summary="The readable certificate (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def certificate_pdf(code: str, request: Request, svc: SvcDep) -> Response:
    row = by_code(svc, code, client_address(request))
    cert = ensure_certificate(svc, row, f"citizen:{row.id}", "citizen")
    return Response(cert.pdf, media_type="application/pdf")
