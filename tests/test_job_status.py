"""The API's async status reads answer as the service layer does, under the same RLS."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text

from api.models import JOB_COLUMNS, JobList, JobOut
from exporter import services, tokens
from exporter.errors import ExportError
from exporter.job_status import JobStatusReads
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings
from exporter.spec import ExportSpec
from exporter.store import NotFound
from tests.api_helpers import status_read

T = TypeVar("T")
ORG, OTHER = 41, 42
SPEC = {"data_type": "items", "fields": ["code"], "date_range": "all"}


@pytest.fixture(scope="module")
def service(rt_settings: Settings) -> Iterator[ExportService]:
    prepare_database(rt_settings)
    svc = ExportService(dataclasses.replace(rt_settings, dedupe_seconds=0))
    yield svc
    svc.engine.dispose()


@pytest.fixture(scope="module")
def jobs(service: ExportService, admin_engine: Engine) -> list[str]:
    """Nine jobs of ORG: cancelled, completed, failed, running, five queued; one of OTHER."""
    with admin_engine.begin() as conn:
        conn.execute(text("DELETE FROM export.export_jobs WHERE org_id IN (41, 42)"))
    made = []  # (dedupe off: the same spec again is a new job)
    for k in range(9):
        spec = ExportSpec.from_dict({**SPEC, "fields": ["code", "note", "amount"][: 1 + k % 3],
                                     "format": ("csv", "json", "xml")[k % 3]})
        job, _ = service.submit(ORG, spec, "status tests", f"job {k}")
        made.append(str(job.id))
    for job_id in made[:3]:
        service.cancel(ORG, job_id)
    with admin_engine.begin() as conn:  # as workers would leave them: every field set
        conn.execute(text(
            "UPDATE export.export_jobs SET status = 'completed', progress = 100, attempts = 1,"
            " started_at = created_at + interval '1.25 s', completed_at = now(), "
            " expires_at = now() + interval '7 days', duration_seconds = 1.5, bytes = 12345,"
            " row_count = 99, processed_rows = 99, total_rows = 99, eta_seconds = 0,"
            " sha256 = repeat('ab', 32), file_name = 'items-1.csv' WHERE id = :id"),
            {"id": made[1]})
        conn.execute(text(
            "UPDATE export.export_jobs SET status = 'failed', attempts = 3, "
            " error_code = 'SOURCE_UNAVAILABLE', error_message = 'Lost the \"ERP\" – try again'"
            " WHERE id = :id"), {"id": made[2]})
        conn.execute(text(
            "UPDATE export.export_jobs SET status = 'running', progress = 40, "
            " processed_rows = 400, total_rows = 1000, eta_seconds = 3, started_at = now()"
            " WHERE id = :id"), {"id": made[3]})
    service.submit(OTHER, ExportSpec.from_dict(SPEC), "status tests", "other org's job")
    return made


def rendered(jobs: list[Any], positions: dict[uuid.UUID, int]) -> list[dict[str, Any]]:
    return [JobOut.of_row(job, positions.get(job.id)).model_dump(mode="json") for job in jobs]


def page(service: ExportService, org: int, status: str | None = None, limit: int = 50,
         offset: int = 0) -> JobList:
    return JobList.model_validate_json(
        status_read(service.engine, lambda r: r.page_json(org, status, limit, offset)))


@pytest.mark.parametrize("status", [None, "queued", "cancelled", "running", "failed",
                                    "completed"])
@pytest.mark.parametrize(("limit", "offset"), [(50, 0), (2, 0), (3, 4), (5, 100)])
def test_a_page_of_jobs_is_what_the_service_lists(service: ExportService, jobs: list[str],
                                                  status: str | None, limit: int,
                                                  offset: int) -> None:
    expected, total, positions = service.jobs(ORG, status=status, limit=limit, offset=offset,
                                              include_hidden=True)
    got = page(service, ORG, status, limit, offset)
    assert (got.total, got.limit, got.offset) == (total, limit, offset)
    assert [job.model_dump(mode="json") for job in got.jobs] == rendered(expected, positions)


def test_queued_jobs_carry_their_place_in_the_queue(service: ExportService,
                                                    jobs: list[str]) -> None:
    got = page(service, ORG, "queued")
    assert got.total == 5
    assert [(str(job.id), job.position) for job in got.jobs] == \
        [(job_id, place) for place, job_id in reversed(list(enumerate(jobs[4:], 1)))]


def test_one_job_reads_as_the_service_reads_it(service: ExportService, jobs: list[str]) -> None:
    for job_id in jobs[:5]:
        job = service.job(ORG, job_id)
        got = status_read(service.engine, lambda r, job_id=job_id: r.job_json(ORG, uuid.UUID(job_id)))
        expected = JobOut.of_row(job, service.position(ORG, job))
        assert JobOut.model_validate_json(got).model_dump_json() == expected.model_dump_json()


def test_another_orgs_jobs_are_neither_listed_nor_found(service: ExportService,
                                                        jobs: list[str]) -> None:
    got = page(service, OTHER)
    assert got.total == 1 and got.jobs[0].name == "other org's job"
    with pytest.raises(NotFound):
        status_read(service.engine, lambda r: r.job_json(OTHER, uuid.UUID(jobs[4])))


def test_tokens_resolve_to_their_org_until_revoked(service: ExportService) -> None:
    plain, row = tokens.create(service.engine, ORG, "status reads")
    assert status_read(service.engine, lambda r: r.org_for_token(plain)) == ORG
    [used] = [t for t in tokens.list_tokens(service.engine, ORG) if t.id == row.id]
    assert used.last_used_at is not None
    tokens.revoke(service.engine, ORG, str(row.id))
    for wrong in (plain, "dex_" + "A" * 40, "nonsense", plain + "x"):
        assert status_read(service.engine, lambda r, wrong=wrong: r.org_for_token(wrong)) is None


def test_concurrent_checks_of_one_token_share_one_query(service: ExportService) -> None:
    plain, _ = tokens.create(service.engine, ORG, "many pollers")

    async def many(reads: JobStatusReads) -> tuple[list[int | None], int]:
        asked = 0
        real = reads._token_org

        async def counted(digest: str) -> int | None:
            nonlocal asked
            asked += 1
            return await real(digest)

        reads._token_org = counted  # type: ignore[method-assign]
        return list(await asyncio.gather(*(reads.org_for_token(plain) for _ in range(20)))), asked

    orgs, asked = status_read(service.engine, many)
    assert orgs == [ORG] * 20 and asked == 1


def test_connections_the_server_dropped_are_replaced_without_an_error(
        service: ExportService, jobs: list[str], admin_engine: Engine) -> None:
    async def main(reads: JobStatusReads) -> tuple[int, int]:
        await asyncio.gather(*(reads.page_json(ORG) for _ in range(4)))  # several pooled
        with admin_engine.begin() as conn:  # as a database restart would
            ended = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'export-api' AND pid <> pg_backend_pid()")).scalar()
        total = JobList.model_validate_json(await reads.page_json(ORG)).total
        return int(ended or 0), total

    ended, total = status_read(service.engine, main)
    assert ended >= 1 and total == 9


def test_an_unreachable_database_is_service_unavailable(service: ExportService) -> None:
    dead = service.engine.url.set(port=1).render_as_string(hide_password=False)

    async def main() -> None:
        reads = JobStatusReads(services.libpq_url(dead), JOB_COLUMNS, timeout=1)
        await reads.open()
        try:
            with pytest.raises(ExportError) as caught:
                await reads.page_json(ORG)
            assert caught.value.code == "SERVICE_UNAVAILABLE"
        finally:
            await reads.close()
    asyncio.run(main())
