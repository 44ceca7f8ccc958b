"""Public endpoints: health, the issuer and its public key, verification of a posted credential."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from sqlalchemy import text

from ... import __version__
from ..assessments import verify
from ..deps import SvcDep, client_address
from ..problems import ProblemError

router = APIRouter(tags=["public"])


@router.get("/health", summary="Is the service up and its database reachable?")
def health(svc: SvcDep) -> dict:
    with svc.read() as db:
        db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "demo_issuer": svc.issuer.demo}


@router.get("/v1/issuer", summary="The issuer profile and the public key this service signs with")
def issuer(svc: SvcDep) -> dict:
    return {
        "profile": svc.issuer.profile.as_profile(),
        "public_key_multikey": svc.issuer.public_multikey,
        "demo": svc.issuer.demo,
    }


@router.post(
    "/v1/verify",
    summary="Verify a credential: signature by this service's issuer key, and whether it was revoked",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "a signed credential"}}},
        }
    },
)
async def verify_posted(request: Request, svc: SvcDep) -> dict:
    limit = svc.settings.limits.public_per_minute
    if not svc.limiter.hit("public", client_address(request), limit):
        raise ProblemError(429, "too many verifications from this address; wait a minute", code="rate-limited")
    body = await request.body()
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise ProblemError(422, f"the body is not a JSON document: {str(err)[:200]}", code="not-json") from None
    if not isinstance(document, dict):
        raise ProblemError(422, "a credential is a JSON object", code="not-a-credential")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(verify, svc, document)
