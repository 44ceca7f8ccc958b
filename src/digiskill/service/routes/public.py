"""Public endpoints (no token): health, the issuer and its public key, verification of a posted credential, and what
other verifiers fetch: the revocation status list and the issuer's controller document (see
:mod:`digiskill.service.statuslist`). Every one but ``/health`` counts towards the per-address public rate limit."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from ... import __version__
from ..assessments import verify
from ..context import Service
from ..deps import SvcDep, client_address
from ..problems import ProblemError
from ..statuslist import CONTROLLER_PATH, LIST_PATH, MAX_AGE_S, Published, list_url

router = APIRouter(tags=["public"])
PUBLISHED_JSON = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    304: {"description": "not modified (If-None-Match named the current ETag)"},
}


def _count_public(request: Request, svc: Service) -> None:
    """Count a call of a public endpoint; 429 when the address has gone over its limit this minute."""
    limit = svc.settings.limits.public_per_minute
    if not svc.limiter.hit("public", client_address(request), limit):
        raise ProblemError(429, "too many requests from this address; wait a minute", code="rate-limited")


def _published(request: Request, doc: Published) -> Response:
    """``doc`` as ``application/json`` with its ``ETag`` and ``Cache-Control: public, max-age=300``; 304 without a
    body when ``If-None-Match`` names that ETag (weak comparison, as RFC 9110 has it for this header)."""
    headers = {"ETag": doc.etag, "Cache-Control": f"public, max-age={MAX_AGE_S}"}
    asked = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if doc.etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    return Response(doc.body, media_type="application/json", headers=headers)


def _published_route(path: str, summary: str):
    """The route of a public JSON document served by :func:`_published` (its 200 and 304 in the OpenAPI document)."""
    return router.get(path, summary=summary, response_class=Response, responses=PUBLISHED_JSON)


@router.get("/health", summary="Is the service up and its database reachable?")
def health(svc: SvcDep) -> dict:
    with svc.read() as db:
        db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "demo_issuer": svc.issuer.demo}


@router.get("/v1/issuer", summary="The issuer profile and the public key this service signs with")
def issuer(svc: SvcDep) -> dict:
    base = svc.settings.public_url.rstrip("/")
    return {
        "profile": svc.issuer.profile.as_profile(),
        "public_key_multikey": svc.issuer.public_multikey,
        "demo": svc.issuer.demo,
        "controller_document": base + CONTROLLER_PATH,
        "status_list": list_url(svc.settings.public_url),
    }


@_published_route(
    CONTROLLER_PATH, "The issuer's controller document: its public key as a Multikey under assertionMethod"
)
def issuer_controller(request: Request, svc: SvcDep) -> Response:
    """What a verifier needs to establish this service's key as the issuer's (W3C Controlled Identifiers 1.0; for a
    ``did:web`` issuer the DID document, with the DID contexts): one ``Multikey`` verification method
    (``issuer id#Multikey``) listed under ``assertionMethod``. ``digiskill verify CRED --trust FILE`` accepts it.

    When the issuer id resolves to a path of this service (a ``did:web`` DID's ``did.json``, e.g.
    ``/.well-known/did.json``, or an ``https`` id under ``public_url``) the same document is served there too, so a
    verifier that dereferences the issuer id finds it. ``application/json`` (see the status list for why)."""
    _count_public(request, svc)
    return _published(request, svc.issuer.controller)


@_published_route(LIST_PATH, "The signed revocation list (W3C Bitstring Status List) every issued credential points to")
def revocation_list(request: Request, svc: SvcDep) -> Response:
    """The ``BitstringStatusListCredential`` (eddsa-rdfc-2022, signed with the issuer key) of 131,072 entries: bit
    ``statusListIndex`` of a credential's ``credentialStatus`` is 1 when the credential was revoked. Revoking sets the
    bit for the next request; verifiers and proxies may keep the list for 300 s (``Cache-Control: max-age=300`` and
    the list's ``ttl``), so a revocation reaches them within 5 minutes. ``ETag`` and ``If-None-Match`` (304) let them
    check cheaply; every worker serves the same bytes for the same revocations.

    Media type ``application/json``: the type VC 2.0 registered, ``application/vc``, has no ``+json`` suffix, so
    generic HTTP clients and JSON-LD document loaders do not read it as JSON, and the draft
    ``application/vc+ld+json`` was withdrawn; the body is the credential itself, a JSON object."""
    _count_public(request, svc)
    return _published(request, svc.status_list.get(svc))


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
    _count_public(request, svc)
    body = await request.body()
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise ProblemError(422, f"the body is not a JSON document: {str(err)[:200]}", code="not-json") from None
    if not isinstance(document, dict):
        raise ProblemError(422, "a credential is a JSON object", code="not-a-credential")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(verify, svc, document)
