"""Cross-org upkeep for workers: find a job's org, dispatch, reap stale jobs, clean up.

The app role is bound by RLS, so it cannot see across orgs. Small SECURITY DEFINER
functions (made by the migration) answer only "which orgs have such work" or "which org
owns this job"; the work itself is then done per org in an `org_session`, under RLS,
with the same conditions re-checked, so a job that changed meanwhile is left alone.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from exporter import store_jobs
from exporter.db import org_session, system_session
from exporter.models import FINISHED, ExportJob
from exporter.store import as_id

J = ExportJob
WORKER_LOST = ("WORKER_LOST", "The worker stopped responding")


def org_of_job(engine: Engine, job_id: uuid.UUID | str) -> int | None:
    """The org owning a job (a queue message may carry only the job id); None if none."""
    with system_session(engine) as session:
        org = session.scalar(text("SELECT export.job_org(:id)"), {"id": as_id(job_id, "Job")})
    return None if org is None else int(org)


def dispatchable(engine: Engine, max_running: int = store_jobs.MAX_RUNNING
                 ) -> list[tuple[uuid.UUID, int]]:
    """(job_id, org_id) of every job that could start now, oldest first per org: what a
    periodic dispatcher sends (again) to the workers. Claiming stays the real guard."""
    out: list[tuple[uuid.UUID, int]] = []
    for org in _orgs(engine, "SELECT * FROM export.orgs_with_queued_jobs()"):
        with org_session(engine, org) as session:
            out += [(job_id, org) for job_id in store_jobs.next_in_line(session, max_running)]
    return out


def reap_stale(engine: Engine, seconds: float = 60) -> list[tuple[uuid.UUID, int, bool]]:
    """Running jobs whose heartbeat is older than `seconds`: requeued while attempts
    remain, else failed with WORKER_LOST (cancelled if cancel had been requested).
    Returns (job_id, org_id, requeued)."""
    query = "SELECT * FROM export.orgs_with_stale_jobs(:seconds)"
    out: list[tuple[uuid.UUID, int, bool]] = []
    for org in _orgs(engine, query, seconds=int(seconds)):
        with org_session(engine, org) as session:
            out += [(job.id, org, job.status == "queued") for job in _reap(session, org, seconds)]
    return out


def cleanup(engine: Engine, now: datetime | None = None,
            keep_days: int = 90) -> tuple[list[str], int]:
    """Forget the files of completed jobs whose link expired and delete finished jobs
    created more than `keep_days` ago. Returns (file keys for the caller to delete,
    number of jobs deleted)."""
    with system_session(engine) as session:
        at: datetime = now or session.scalars(select(func.now())).one()
    keys: list[str] = []
    deleted = 0
    for org in _orgs(engine, "SELECT * FROM export.orgs_to_clean(:at, :days)", at=at,
                     days=keep_days):
        with org_session(engine, org) as session:
            keys += _expire_files(session, org, at)
            gone = session.scalars(
                delete(J).where(J.org_id == org, J.status.in_(FINISHED),
                                J.created_at < at - timedelta(days=keep_days))
                .returning(J.file_key), execution_options={"synchronize_session": False}).all()
            keys += [key for key in gone if key]
            deleted += len(gone)
    return keys, deleted


def _orgs(engine: Engine, query: str, **params: object) -> list[int]:
    with system_session(engine) as session:
        return [int(org) for org in session.scalars(text(query), params)]


def _reap(session: Session, org: int, seconds: float) -> list[ExportJob]:
    stale = session.scalars(
        select(J).where(J.org_id == org, J.status == "running",
                        J.heartbeat_at < func.now() - timedelta(seconds=seconds))
        .with_for_update(skip_locked=True)).all()  # locked = reporting progress right now
    return [store_jobs.requeue_for_retry(session, job.id, 0, *WORKER_LOST) for job in stale]


def _expire_files(session: Session, org: int, at: datetime) -> list[str]:
    expired = session.execute(
        select(J.id, J.file_key).where(J.org_id == org, J.status == "completed",
                                       J.file_key.is_not(None), J.expires_at <= at)
        .with_for_update(skip_locked=True)).all()
    if expired:
        session.execute(update(J).where(J.id.in_([row.id for row in expired]))
                        .values(file_key=None), execution_options={"synchronize_session": False})
    return [row.file_key for row in expired]
