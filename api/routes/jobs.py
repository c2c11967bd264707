"""Export jobs of the caller's org: list, start, read, cancel, retry, get a download link.

Starting, cancelling and retrying go through ExportService, which sends the jobs that
may start now to the workers through its dispatch; each forgets the org's cached lists.
Listing and reading a job, which integrations poll, are async reads (JobStatusReads).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.auth import Auth, JobLists, Reads, Service
from api.errors import responses
from api.models import DownloadLink, JobIn, JobList, JobOut, JobStatus
from api.routes import PREFIX

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=responses(401, 422))
REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": JobOut, "description": "The same export was queued moments ago by the "
          "same token: that job (created: false)"}}


@router.get("", summary="List jobs, newest first", response_model=JobList)
async def list_jobs(who: Auth, reads: Reads, lists: JobLists, status: JobStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> Response:
    async def read() -> bytes:
        page = JobList.model_validate_json(await reads.page_json(who.org, status, limit, offset))
        return page.__pydantic_serializer__.to_json(page)

    body = await lists.get((who.org, (status, limit, offset)), read)
    return Response(body, media_type="application/json")


@router.post("", status_code=201, summary="Start an export (from a template or a spec)",
             responses={**REPEATED, **responses(404)})
def start_job(body: JobIn, who: Auth, svc: Service, lists: JobLists,
              response: Response) -> JobOut:
    if body.template_id is not None:
        job, created = svc.export_template(who.org, str(body.template_id), who.user, body.name)
    else:
        job, created = svc.submit(who.org, body.spec(), who.user, body.name)
    if not created:
        response.status_code = 200
    lists.forget(who.org)
    return JobOut.of_row(job, svc.position(who.org, job), created)


@router.get("/{job_id}", summary="Read a job (status, progress, file)", responses=responses(404))
async def get_job(job_id: uuid.UUID, who: Auth, reads: Reads) -> JobOut:
    return JobOut.model_validate_json(await reads.job_json(who.org, job_id))


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job",
             responses=responses(404, 409))
def cancel_job(job_id: uuid.UUID, who: Auth, svc: Service, lists: JobLists) -> JobOut:
    job = svc.cancel(who.org, str(job_id))
    lists.forget(who.org)
    return JobOut.of_row(job)


@router.post("/{job_id}/retry", status_code=201, responses=responses(404, 409),
             summary="Run a failed or cancelled job again (a new job)")
def retry_job(job_id: uuid.UUID, who: Auth, svc: Service, lists: JobLists) -> JobOut:
    job = svc.retry(who.org, str(job_id), who.user)
    lists.forget(who.org)
    return JobOut.of_row(job, svc.position(who.org, job))


@router.get("/{job_id}/download", summary="A signed download URL of a completed job",
            responses=responses(404, 409, 410))
def download_link(job_id: uuid.UUID, who: Auth, svc: Service) -> DownloadLink:
    token, expires_at = svc.download_link(who.org, str(job_id))
    return DownloadLink(url=f"{PREFIX}/files/{token}", expires_at=expires_at)
