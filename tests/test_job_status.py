"""The API's async status reads answer as the service layer does, under the same RLS."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text

from api.models import JOB_COLUMNS, JobOut
from exporter import services, tokens
from exporter.errors import ExportError
from exporter.job_status import JobStatusReads
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings
from exporter.spec import ExportSpec
from exporter.store import NotFound

T = TypeVar("T")
ORG, OTHER = 41, 42
SPEC = {"data_type": "items", "fields": ["code"], "date_range": "all"}


@pytest.fixture(scope="module")
def service(rt_settings: Settings) -> Iterator[ExportService]:
    prepare_database(rt_settings)
    svc = ExportService(dataclasses.replace(rt_settings, dedupe_seconds=0))
    yield svc
    svc.engine.dispose()


def url(service: ExportService) -> str:
    return services.libpq_url(service.engine.url.render_as_string(hide_password=False))


def read(service: ExportService, call: Callable[[JobStatusReads], Awaitable[T]]) -> T:
    async def main() -> T:
        reads = JobStatusReads(url(service), JOB_COLUMNS, pool_size=2)
        await reads.open()
        try:
            return await call(reads)
        finally:
            await reads.close()
    return asyncio.run(main())


@pytest.fixture(scope="module")
def jobs(service: ExportService, admin_engine: Engine) -> list[str]:
    """Nine jobs of ORG: three cancelled, one running, five queued; one of OTHER."""
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
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE export.export_jobs SET status = 'running', progress = 40 "
                          "WHERE id = :id"), {"id": made[3]})
    service.submit(OTHER, ExportSpec.from_dict(SPEC), "status tests", "other org's job")
    return made


def rendered(jobs: list[Any], positions: dict[uuid.UUID, int] | None = None) -> list[dict[str, Any]]:
    if positions is None:
        return [JobOut.model_validate(row).model_dump() for row in jobs]
    return [JobOut.of_row(job, positions.get(job.id)).model_dump() for job in jobs]


@pytest.mark.parametrize("status", [None, "queued", "cancelled", "running", "failed"])
@pytest.mark.parametrize(("limit", "offset"), [(50, 0), (2, 0), (3, 4), (5, 100)])
def test_a_page_of_jobs_is_what_the_service_lists(service: ExportService, jobs: list[str],
                                                  status: str | None, limit: int,
                                                  offset: int) -> None:
    expected, total, positions = service.jobs(ORG, status=status, limit=limit, offset=offset,
                                              include_hidden=True)
    got, got_total = read(service, lambda r: r.jobs(ORG, status, limit, offset))
    assert got_total == total
    assert rendered(got) == rendered(expected, positions)


def test_queued_jobs_carry_their_place_in_the_queue(service: ExportService,
                                                    jobs: list[str]) -> None:
    got, total = read(service, lambda r: r.jobs(ORG, "queued"))
    assert total == 5
    assert [(str(row["id"]), row["position"]) for row in got] == \
        [(job_id, place) for place, job_id in reversed(list(enumerate(jobs[4:], 1)))]


def test_one_job_reads_as_the_service_reads_it(service: ExportService, jobs: list[str]) -> None:
    for job_id in (jobs[0], jobs[3], jobs[6]):
        job = service.job(ORG, job_id)
        row = read(service, lambda r, job_id=job_id: r.job(ORG, uuid.UUID(job_id)))
        expected = JobOut.of_row(job, service.position(ORG, job)).model_dump()
        assert rendered([row]) == [expected]


def test_another_orgs_jobs_are_neither_listed_nor_found(service: ExportService,
                                                        jobs: list[str]) -> None:
    got, total = read(service, lambda r: r.jobs(OTHER))
    assert total == 1 and got[0]["name"] == "other org's job"
    with pytest.raises(NotFound):
        read(service, lambda r: r.job(OTHER, uuid.UUID(jobs[4])))


def test_tokens_resolve_to_their_org_until_revoked(service: ExportService) -> None:
    plain, row = tokens.create(service.engine, ORG, "status reads")
    assert read(service, lambda r: r.org_for_token(plain)) == ORG
    [used] = [t for t in tokens.list_tokens(service.engine, ORG) if t.id == row.id]
    assert used.last_used_at is not None
    tokens.revoke(service.engine, ORG, str(row.id))
    for wrong in (plain, "dex_" + "A" * 40, "nonsense", plain + "x"):
        assert read(service, lambda r, wrong=wrong: r.org_for_token(wrong)) is None


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

    orgs, asked = read(service, many)
    assert orgs == [ORG] * 20 and asked == 1


def test_connections_the_server_dropped_are_replaced_without_an_error(
        service: ExportService, jobs: list[str], admin_engine: Engine) -> None:
    async def main(reads: JobStatusReads) -> tuple[int, int]:
        await asyncio.gather(*(reads.jobs(ORG) for _ in range(4)))  # several pooled
        with admin_engine.begin() as conn:  # as a database restart would
            ended = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'export-api' AND pid <> pg_backend_pid()")).scalar()
        _, total = await reads.jobs(ORG)
        return int(ended or 0), total

    ended, total = read(service, main)
    assert ended >= 1 and total == 9


def test_an_unreachable_database_is_service_unavailable(service: ExportService) -> None:
    dead = service.engine.url.set(port=1).render_as_string(hide_password=False)

    async def main() -> None:
        reads = JobStatusReads(services.libpq_url(dead), JOB_COLUMNS, timeout=1)
        await reads.open()
        try:
            with pytest.raises(ExportError) as caught:
                await reads.jobs(ORG)
            assert caught.value.code == "SERVICE_UNAVAILABLE"
        finally:
            await reads.close()
    asyncio.run(main())
