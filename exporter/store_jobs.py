"""The export queue of one org: submit, claim in FIFO order, progress, outcomes, views.

A job's life: queued -> running -> completed | failed | cancelled, with running ->
queued again for an automatic retry. Every change of state is one conditional UPDATE
(`WHERE status IN ...`), so a late or duplicated message cannot move a finished job.
Calls that pass `worker=` act only while that worker holds the job: a worker that was
presumed dead and replaced cannot overwrite its successor's run.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Select,
    cast,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from exporter.models import FINISHED, ExportJob
from exporter.spec import ExportSpec
from exporter.store import Conflict, NotFound, as_id, org_of

MAX_RUNNING = 5
DEDUPE_STATUSES = ("queued", "running", "completed")  # a cancelled or failed job may be redone
J = ExportJob


def dedupe_key(snapshot: dict[str, Any], template_id: uuid.UUID | None) -> str:
    """sha256 of the canonical JSON of what would run: same key, same export."""
    payload = {"spec": snapshot, "template_id": str(template_id) if template_id else None}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit(session: Session, spec: ExportSpec, name: str, created_by: str | None,
           template_id: uuid.UUID | None = None, dedupe_seconds: float = 5,
           max_attempts: int = 3) -> tuple[ExportJob, bool]:
    """Queue a job running `spec` (validate it first). If the same person queued the same
    export less than `dedupe_seconds` ago, return that job and False instead."""
    return _enqueue(session, spec.to_dict(), name, created_by, template_id, dedupe_seconds,
                    max_attempts)


def claim(session: Session, job_id: uuid.UUID | str, worker: str,
          max_running: int = MAX_RUNNING) -> ExportJob | None:
    """Start the job if it is its turn: still queued, not cancelled, past its backoff, the
    oldest such job of its org, and the org runs fewer than `max_running`. Else None."""
    job_id = as_id(job_id, "Job")
    org = _lock(session, "export-claim")
    if session.scalar(_eligible(org).with_only_columns(J.id).limit(1)) != job_id:
        return None
    if _running(session, org) >= max_running:
        return None
    now = func.clock_timestamp()
    return session.scalars(
        update(J).where(J.id == job_id, J.status == "queued", J.cancel_requested.is_(False))
        .values(status="running", started_at=now, heartbeat_at=now, attempts=J.attempts + 1,
                worker=worker, not_before=None, progress=0, processed_rows=0, eta_seconds=None)
        .returning(J), execution_options={"populate_existing": True}).one_or_none()


def next_in_line(session: Session, max_running: int = MAX_RUNNING) -> list[uuid.UUID]:
    """The jobs that could start now, oldest first (as many as free running slots)."""
    org = org_of(session)
    free = max_running - _running(session, org)
    if free <= 0:
        return []
    return list(session.scalars(_eligible(org).with_only_columns(J.id).limit(free)))


def report_progress(session: Session, job_id: uuid.UUID | str, processed: int, total: int,
                    worker: str | None = None) -> bool:
    """Record progress and heartbeat; True means stop: cancel was requested, or the job is
    no longer running for this worker (reaped, cancelled, finished)."""
    percent = max(0, min(100, processed * 100 // total)) if total > 0 else 0
    elapsed = func.extract("epoch", func.clock_timestamp() - J.started_at)
    eta: Any = None
    if 0 < processed < total:
        eta = cast(func.ceil(elapsed * ((total - processed) / processed)), Integer)
    elif total and processed >= total:
        eta = 0
    stmt = update(J).where(*_held(as_id(job_id, "Job"), worker)).values(
        processed_rows=processed, total_rows=total, progress=percent, eta_seconds=eta,
        heartbeat_at=func.clock_timestamp())
    flag = session.scalars(stmt.returning(J.cancel_requested)).one_or_none()
    return flag is None or bool(flag)


def heartbeat(session: Session, job_id: uuid.UUID | str, worker: str | None = None) -> bool:
    """Record that the worker is alive, progress unchanged; True means stop, as for
    report_progress."""
    stmt = update(J).where(*_held(as_id(job_id, "Job"), worker)).values(
        heartbeat_at=func.clock_timestamp())
    flag = session.scalars(stmt.returning(J.cancel_requested)).one_or_none()
    return flag is None or bool(flag)


def complete(session: Session, job_id: uuid.UUID | str, file_key: str, file_name: str,
             rows: int, bytes: int, sha256: str, duration: float,
             expires_at: datetime | None = None, worker: str | None = None) -> ExportJob:
    """Record a finished file; expires_at defaults to 7 days from now."""
    expiry: Any = expires_at or func.now() + timedelta(days=7)
    return _finish(session, job_id, worker, "completed", file_key=file_key, file_name=file_name,
                   row_count=rows, processed_rows=rows, total_rows=rows, progress=100,
                   eta_seconds=0, bytes=bytes, sha256=sha256, expires_at=expiry,
                   duration_seconds=round(duration, 3), error_code=None, error_message=None)


def fail(session: Session, job_id: uuid.UUID | str, code: str, message: str,
         processed_rows: int | None = None, worker: str | None = None) -> ExportJob:
    extra = {} if processed_rows is None else {"processed_rows": processed_rows}
    return _finish(session, job_id, worker, "failed", error_code=code, error_message=message,
                   eta_seconds=None, **extra)


def cancelled(session: Session, job_id: uuid.UUID | str, worker: str | None = None) -> ExportJob:
    """The runner confirms it stopped the job."""
    return _finish(session, job_id, worker, "cancelled", eta_seconds=None)


def requeue_for_retry(session: Session, job_id: uuid.UUID | str, delay_seconds: float,
                      code: str, message: str, worker: str | None = None) -> ExportJob:
    """Queue a running job again after `delay_seconds`, keeping its error visible; once
    its attempts are used up (or cancel was requested) it fails/cancels instead."""
    job = get_job(session, job_id, lock=True)
    if job.status != "running" or (worker is not None and job.worker != worker):
        raise Conflict("JOB_NOT_RUNNING", f"Job {job.id} is {job.status}, not running here")
    if job.cancel_requested:
        return cancelled(session, job.id)
    if job.attempts >= job.max_attempts:
        return fail(session, job.id, code, message)
    now = func.clock_timestamp()
    return _set(session, J.id == job.id, status="queued", queued_at=now,
                not_before=now + timedelta(seconds=delay_seconds), worker=None,
                heartbeat_at=None, eta_seconds=None, error_code=code, error_message=message)


def request_cancel(session: Session, job_id: uuid.UUID | str) -> ExportJob:
    """Queued: cancelled at once. Running: flagged, and the runner stops it."""
    job = get_job(session, job_id, lock=True)
    if job.status == "queued":
        return _set(session, J.id == job.id, status="cancelled",
                    completed_at=func.clock_timestamp(), not_before=None)
    if job.status == "running":
        return _set(session, J.id == job.id, cancel_requested=True)
    raise Conflict("JOB_NOT_CANCELLABLE", f"The export is already {job.status}", "status")


def retry(session: Session, job_id: uuid.UUID | str, created_by: str | None = None,
          dedupe_seconds: float = 5) -> ExportJob:
    """A NEW queued job with the failed/cancelled job's spec snapshot, template and name
    (the old row stays as history). A double-click returns the same new job."""
    job = get_job(session, job_id)
    if job.status not in ("failed", "cancelled"):
        raise Conflict("JOB_NOT_RETRYABLE", f"Only failed or cancelled exports can be retried; "
                       f"this one is {job.status}", "status")
    new, _ = _enqueue(session, job.spec, job.name, created_by or job.created_by,
                      job.template_id, dedupe_seconds, job.max_attempts)
    return new


def get_job(session: Session, job_id: uuid.UUID | str, lock: bool = False) -> ExportJob:
    """The job, fresh from the database; NotFound also for another org's job."""
    found = session.get(J, as_id(job_id, "Job"), populate_existing=True, with_for_update=lock)
    if found is None:
        raise NotFound("Job", job_id)
    return found


def list_jobs(session: Session, status: str | Iterable[str] | None = None,
              include_hidden: bool = False, limit: int = 50, offset: int = 0,
              data_type: str | None = None, template_id: uuid.UUID | None = None,
              since: datetime | None = None,
              until: datetime | None = None) -> tuple[list[ExportJob], int]:
    """One page of jobs, newest first, and how many match in all."""
    conds: list[ColumnElement[bool]] = [J.org_id == org_of(session)]
    if status is not None:
        conds.append(J.status.in_([status] if isinstance(status, str) else list(status)))
    if not include_hidden:
        conds.append(J.hidden.is_(False))
    if data_type is not None:
        conds.append(J.spec["data_type"].astext == data_type)
    if template_id is not None:
        conds.append(J.template_id == template_id)
    if since is not None:
        conds.append(J.created_at >= since)
    if until is not None:
        conds.append(J.created_at < until)
    total = session.scalar(select(func.count()).select_from(J).where(*conds)) or 0
    page = select(J).where(*conds).order_by(J.created_at.desc(), J.id.desc())
    return list(session.scalars(page.limit(limit).offset(offset))), total


def position(session: Session, job: ExportJob) -> int | None:
    """1-based place of a queued job in its org's FIFO queue; None when not queued."""
    if job.status != "queued":
        return None
    ahead = select(func.count()).select_from(J).where(
        J.org_id == job.org_id, J.status == "queued",
        tuple_(J.queued_at, J.id) < tuple_(job.queued_at, job.id))
    return (session.scalar(ahead) or 0) + 1


def positions(session: Session) -> dict[uuid.UUID, int]:
    """The place of every queued job of the org, for showing a whole queue at once."""
    place = func.row_number().over(order_by=(J.queued_at, J.id))
    query = select(J.id, place).where(J.org_id == org_of(session), J.status == "queued")
    return {job_id: int(n) for job_id, n in session.execute(query)}


def clear_completed(session: Session) -> int:
    """Hide finished jobs from the queue view (history still lists them); how many."""
    stmt = update(J).where(J.org_id == org_of(session), J.status.in_(FINISHED),
                           J.hidden.is_(False)).values(hidden=True)
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    return result.rowcount


def _enqueue(session: Session, snapshot: dict[str, Any], name: str, created_by: str | None,
             template_id: uuid.UUID | None, dedupe_seconds: float,
             max_attempts: int) -> tuple[ExportJob, bool]:
    # Serialise submits of the org so two concurrent double-clicks see each other.
    org = _lock(session, "export-submit")
    key = dedupe_key(snapshot, template_id)
    if dedupe_seconds > 0:
        same = session.scalars(
            select(J).where(J.org_id == org, J.dedupe_key == key,
                            J.created_by.is_not_distinct_from(created_by),
                            J.status.in_(DEDUPE_STATUSES),
                            J.created_at > func.now() - timedelta(seconds=dedupe_seconds))
            .order_by(J.created_at.desc()).limit(1)).first()
        if same is not None:
            return same, False
    now = func.clock_timestamp()  # not now(): jobs queued in one transaction keep their order
    job = ExportJob(org_id=org, name=name, created_by=created_by, spec=snapshot,
                    template_id=template_id, dedupe_key=key, max_attempts=max_attempts,
                    created_at=now, queued_at=now)
    session.add(job)
    session.flush()
    session.refresh(job)
    return job, True


def _lock(session: Session, purpose: str) -> int:
    """Take the org's transaction-level advisory lock for `purpose`; return the org."""
    org = org_of(session)
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(purpose), org)))
    return org


def _eligible(org: int) -> Select[ExportJob]:
    """Queued jobs that may start now, in FIFO order."""
    return (select(J).where(J.org_id == org, J.status == "queued",
                            J.cancel_requested.is_(False),
                            or_(J.not_before.is_(None), J.not_before <= func.now()))
            .order_by(J.queued_at, J.id))


def _running(session: Session, org: int) -> int:
    query = select(func.count()).select_from(J).where(J.org_id == org, J.status == "running")
    return session.scalar(query) or 0


def _held(job_id: uuid.UUID, worker: str | None) -> list[ColumnElement[bool]]:
    """The job is running, and (when a worker is named) under that worker."""
    conds = [J.id == job_id, J.status == "running"]
    return conds if worker is None else [*conds, J.worker == worker]


def _finish(session: Session, job_id: uuid.UUID | str, worker: str | None, status: str,
            **values: Any) -> ExportJob:
    """Move a running job (held by `worker`, when given) to a final status."""
    job_id = as_id(job_id, "Job")
    end = func.clock_timestamp()
    values.setdefault("duration_seconds",
                      cast(func.extract("epoch", end - J.started_at), J.duration_seconds.type))
    job = _set(session, *_held(job_id, worker), status=status, completed_at=end,
               missing_ok=True, **values)
    if job is None:
        current = get_job(session, job_id)
        raise Conflict("JOB_NOT_RUNNING", f"Job {job_id} is {current.status}, not running here")
    return job


def _set(session: Session, *conds: ColumnElement[bool], missing_ok: bool = False,
         **values: Any) -> Any:
    """One conditional UPDATE ... RETURNING of a job; the identity map gets the new row."""
    stmt = update(J).where(*conds).values(**values).returning(J)
    job = session.scalars(stmt, execution_options={"populate_existing": True}).one_or_none()
    if job is None and not missing_ok:
        raise Conflict("JOB_STATE_CHANGED", "The export changed meanwhile; reload and retry")
    return job
