"""Who is asking: the org of the request's API token (`Authorization: Bearer dex_...`).

No token, a malformed, unknown or revoked one: 401 with `WWW-Authenticate: Bearer`.
The token is resolved on every request (a revoked one stops at once), asynchronously
through exporter.job_status. Routes get a Caller and pass its org to every service
call, so RLS confines them to that org's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.cache import ListCache
from exporter.errors import ExportError
from exporter.job_status import JobStatusReads
from exporter.jobs import ExportService

# The dependencies are async def: FastAPI runs a plain def dependency in its thread pool.
bearer = HTTPBearer(auto_error=False, bearerFormat="dex_<40 characters>",
                    description="An org's API token, made with `exporter tokens create`.")


@dataclass(frozen=True)
class Caller:
    org: int
    user: str  # recorded as the creator of jobs and templates: "api:" + token prefix


async def service(request: Request) -> ExportService:
    svc: ExportService = request.app.state.service
    return svc


async def reads(request: Request) -> JobStatusReads:
    found: JobStatusReads = request.app.state.reads
    return found


async def job_lists(request: Request) -> ListCache:
    cache: ListCache = request.app.state.job_lists
    return cache


Service = Annotated[ExportService, Depends(service)]
Reads = Annotated[JobStatusReads, Depends(reads)]
JobLists = Annotated[ListCache, Depends(job_lists)]


async def caller(reads: Reads,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> Caller:
    if credentials is None:
        raise ExportError("UNAUTHENTICATED", "An API token is required: send "
                          "'Authorization: Bearer <token>'.")
    token = credentials.credentials
    org = await reads.org_for_token(token)
    if org is None:
        raise ExportError("UNAUTHENTICATED", "The API token is not valid or was revoked.")
    return Caller(org, f"api:{token[:8]}")


Auth = Annotated[Caller, Depends(caller)]
