"""FastAPI dependencies: the service context, the caller's role from a bearer token, the client address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from .auth import digest
from .context import Service
from .db import ApiToken
from .problems import ProblemError

bearer = HTTPBearer(auto_error=False, description="a token made by `digiskill serve token --role ROLE`")


async def get_service(request: Request) -> Service:
    """The process's service context (async: FastAPI runs a plain function dependency in a worker thread)."""
    return request.app.state.service


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Caller:
    actor: str
    role: str


def require(*roles: str):
    """A dependency that admits a bearer token of one of ``roles`` (401 without a valid token, 403 for another role)."""

    def dependency(
        creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        svc: Annotated[Service, Depends(get_service)],
    ) -> Caller:
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise ProblemError(401, "this endpoint needs a bearer token", code="no-token")
        with svc.read() as db:
            token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(creds.credentials)))
        if token is None or token.revoked_at is not None:
            raise ProblemError(401, "the bearer token is not valid", code="bad-token")
        if token.role not in roles:
            raise ProblemError(
                403, f"role {token.role!r} may not do this; needs one of: {', '.join(roles)}", code="forbidden"
            )
        return Caller(actor=f"token:{token.id}", role=token.role)

    return dependency


def roles_extra(*roles: str) -> dict:
    return {"x-roles": list(roles)}


SvcDep = Annotated[Service, Depends(get_service)]
ANY = ("system", "caseworker", "admin")
STAFF = ("caseworker", "admin")
ADMIN = ("admin",)
AnyRole = Annotated[Caller, Depends(require(*ANY))]
StaffRole = Annotated[Caller, Depends(require(*STAFF))]
AdminRole = Annotated[Caller, Depends(require(*ADMIN))]
