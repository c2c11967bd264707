"""Who is asking: the org of the request's API token (`Authorization: Bearer dex_...`).

No token, a malformed, unknown or revoked one: 401 with `WWW-Authenticate: Bearer`.
Routes get a Caller and pass its org to every ExportService call, so RLS confines them
to that org's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exporter.errors import ExportError
from exporter.jobs import ExportService

bearer = HTTPBearer(auto_error=False, bearerFormat="dex_<40 characters>",
                    description="An org's API token, made with `exporter tokens create`.")


@dataclass(frozen=True)
class Caller:
    org: int
    user: str  # recorded as the creator of jobs and templates: "api:" + token prefix


def service(request: Request) -> ExportService:
    svc: ExportService = request.app.state.service
    return svc


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> Caller:
    if credentials is None:
        raise ExportError("UNAUTHENTICATED", "An API token is required: send "
                          "'Authorization: Bearer <token>'.")
    token = credentials.credentials
    org = service(request).org_for_token(token)
    if org is None:
        raise ExportError("UNAUTHENTICATED", "The API token is not valid or was revoked.")
    return Caller(org, f"api:{token[:8]}")


Service = Annotated[ExportService, Depends(service)]
Auth = Annotated[Caller, Depends(caller)]
