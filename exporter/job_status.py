"""Async reads of job status for the REST API: which org a token is, a page of jobs, one job.

These are what integrations poll, often many at once, so they skip the thread pool and
the ORM: a pool of async psycopg connections (as export_app, under RLS), one statement
to resolve a token, and one transaction that binds the org and reads in one statement.
Postgres renders the jobs as JSON text (the caller names the columns), which the API
validates and re-serialises with its models in one pass each, rather than building a
Python object per value. They answer as store_jobs does for the pages: newest first, the
total matching, and each queued job's 1-based place in its org's FIFO queue
(tests/test_job_status.py compares).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from exporter import tokens
from exporter.errors import ExportError
from exporter.store import NotFound

Connection = psycopg.AsyncConnection[tuple[Any, ...]]
T = TypeVar("T")
UNAVAILABLE = "The job database is not reachable; try again shortly."

_BIND = "SELECT set_config('app.org_id', %(org)s, true)"
_TOKEN = "SELECT export.token_org(%(hash)s)"
_TOUCH = "UPDATE export.api_tokens SET last_used_at = now() WHERE token_hash = %(hash)s"
# The place of a queued job: queued jobs of its org ahead of it (queued_at, then id), + 1.
_POSITION = """CASE WHEN j.status = 'queued' THEN 1 + (
    SELECT count(*) FROM export.export_jobs q WHERE q.org_id = j.org_id AND q.status = 'queued'
       AND (q.queued_at, q.id) < (j.queued_at, j.id)) END AS position"""
_MATCHING = "org_id = %(org)s AND (%(status)s::text IS NULL OR status = %(status)s)"


def _job_sql(columns: Sequence[str]) -> str:
    """One job as a JSON object of `columns` and its position; no row when not found."""
    listed = ", ".join(f"j.{name}" for name in columns)
    return f"""
        SELECT row_to_json(job)::text FROM (
            SELECT {listed}, {_POSITION} FROM export.export_jobs j
            WHERE j.org_id = %(org)s AND j.id = %(id)s) AS job"""


def _page_sql(columns: Sequence[str]) -> str:
    """{"total", "limit", "offset", "jobs": [...]} in one statement, so one snapshot."""
    listed = ", ".join(f"j.{name}" for name in columns)
    return f"""
        SELECT json_build_object(
            'total', (SELECT count(*) FROM export.export_jobs WHERE {_MATCHING}),
            'limit', %(limit)s::int, 'offset', %(offset)s::int,
            'jobs', coalesce((
                SELECT json_agg(page ORDER BY page.created_at DESC, page.id DESC) FROM (
                    SELECT {listed}, {_POSITION} FROM export.export_jobs j WHERE {_MATCHING}
                    ORDER BY j.created_at DESC, j.id DESC LIMIT %(limit)s OFFSET %(offset)s
                ) AS page), '[]'::json))::text"""


class JobStatusReads:
    """Token, job page and job reads on a pool of async connections; open() before use.

    `columns` are the export_jobs columns each job's JSON carries (and "position").
    """

    def __init__(self, url: str, columns: Sequence[str], pool_size: int = 10,
                 timeout: float = 5.0) -> None:
        self.pool = AsyncConnectionPool(url, min_size=1, max_size=pool_size, open=False,
                                        timeout=timeout, name="job-status",
                                        kwargs={"autocommit": True, "row_factory": tuple_row,
                                                "application_name": "export-api"})
        self._checks: dict[str, asyncio.Future[int | None]] = {}  # token hash -> check
        self.page_sql = _page_sql(columns)
        self.job_sql = _job_sql(columns)

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def org_for_token(self, plain: str) -> int | None:
        """The org of a live API token; None for a malformed, unknown or revoked one.

        Asked of the database on every request, so a revoked token stops at once; the
        requests that arrive while the same token's check is in flight share its answer.
        """
        if not isinstance(plain, str) or not tokens.TOKEN_RE.fullmatch(plain):
            return None
        digest = tokens.hash_token(plain)
        check = self._checks.get(digest)
        if check is None:
            check = asyncio.ensure_future(self._token_org(digest))
            self._checks[digest] = check
            check.add_done_callback(lambda _: self._checks.pop(digest, None))
        # shield: a caller that goes away must not cancel the check the others wait for
        return await asyncio.shield(check)

    async def _token_org(self, digest: str) -> int | None:
        async def work(conn: Connection) -> int | None:
            found = await (await conn.execute(_TOKEN, {"hash": digest})).fetchone()
            org = found[0] if found else None
            if org is not None and tokens.touch_due(digest):
                async with conn.transaction():
                    await conn.execute(_BIND, {"org": str(org)})
                    await conn.execute(_TOUCH, {"hash": digest})
            return None if org is None else int(org)

        return await self._on_connection(work)

    async def page_json(self, org: int, status: str | None = None, limit: int = 50,
                        offset: int = 0) -> str:
        """{"total", "limit", "offset", "jobs"} of the org as JSON text: a page of its jobs
        newest first, with positions, and the total matching."""
        params = {"org": org, "status": status, "limit": limit, "offset": offset}
        found = await self._read(org, self.page_sql, params)
        assert found is not None  # an aggregate: always one row
        return found

    async def job_json(self, org: int, job_id: uuid.UUID) -> str:
        """One job of the org, with its position, as JSON text; NotFound also for another
        org's job."""
        found = await self._read(org, self.job_sql, {"org": org, "id": job_id})
        if found is None:
            raise NotFound("Job", job_id)
        return found

    async def _read(self, org: int, sql: str, params: dict[str, Any]) -> str | None:
        async def work(conn: Connection) -> str | None:
            async with conn.transaction():
                await conn.execute(_BIND, {"org": str(org)})
                found = await (await conn.execute(sql, params)).fetchone()
                return None if found is None else str(found[0])

        return await self._on_connection(work)

    async def _on_connection(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """work(conn) on a pooled connection. One the server dropped (a restart, an idle
        timeout) fails once: the pool then drops every dead idle connection and the work
        runs again. A database still unreachable, or a pool run dry, is
        SERVICE_UNAVAILABLE (503)."""
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    return await work(conn)
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise ExportError("SERVICE_UNAVAILABLE", UNAVAILABLE) from exc
                await self.pool.check()
            except PoolTimeout as exc:
                raise ExportError("SERVICE_UNAVAILABLE", UNAVAILABLE) from exc
        raise AssertionError("unreachable")
