"""Citizen endpoints, opened by the invitation code (no account): the current item, answers, pause/resume, the
result, the certificate. No response carries an answer key, a score or an item parameter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ..assessments import (
    Recorded,
    by_code,
    citizen_result,
    citizen_view,
    ensure_certificate,
    record_answer,
    set_paused,
)
from ..context import Service
from ..deps import SvcDep, client_address
from ..models import AnswerIn

router = APIRouter(prefix="/v1/citizen", tags=["citizen"])
T = TypeVar("T")


# The calls of every step (and the result) are async. On SQLite they run on the event loop itself, with no hand-over
# to a worker thread and back: their work is CPU (the CAT step) and short database calls inside the process. On
# PostgreSQL each statement waits for the database server, so they run in a worker thread and the loop serves other
# requests meanwhile (measured in benchmarks/README.md, "The service under load").
async def _step(svc: Service, fn: Callable[..., T], *args: Any) -> T:
    return fn(*args) if svc.inline else await run_in_threadpool(fn, *args)


def _view(svc: Service, code: str, client: str) -> dict:
    return citizen_view(svc, by_code(svc, code, client))


def _answer(svc: Service, code: str, client: str, body: AnswerIn) -> Recorded:
    row = by_code(svc, code, client)
    return record_answer(svc, row.id, body.step, body.item, body.answer, row)


@router.get("/{code}", summary="The test of this code: progress and the item on screen")
async def current(code: str, request: Request, svc: SvcDep) -> dict:
    return await _step(svc, _view, svc, code, client_address(request))


@router.post(
    "/{code}/answers",
    summary="Answer the current step (a repeat of the same answer returns the same outcome)",
)
async def post_answer(code: str, body: AnswerIn, request: Request, svc: SvcDep):
    done = await _step(svc, _answer, svc, code, client_address(request), body)
    headers = {"X-Digiskill-Replayed": "true"} if done.replayed else None
    return Response(done.text.encode(), media_type="application/json", headers=headers)  # the JSON stored with it


@router.post("/{code}/pause", summary="Pause the test (resume later with the same code, on any device)")
def pause(code: str, request: Request, svc: SvcDep) -> dict:
    row = by_code(svc, code, client_address(request))
    return citizen_view(svc, set_paused(svc, row.id, True))


@router.post("/{code}/resume", summary="Resume a paused test at the item that was on screen")
def resume(code: str, request: Request, svc: SvcDep) -> dict:
    row = by_code(svc, code, client_address(request))
    return citizen_view(svc, set_paused(svc, row.id, False))


def _result(svc: Service, code: str, client: str) -> dict:
    return citizen_result(svc, by_code(svc, code, client))


@router.get("/{code}/result", summary="The levels per area, once the test has ended")
async def result(code: str, request: Request, svc: SvcDep) -> dict:
    return await _step(svc, _result, svc, code, client_address(request))


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
