"""Run one queued export job: claim it, run the export loop, store the file, record.

What ends a run and what happens then:
  finished          -> file moved to storage, job completed with rows, bytes, sha256, expiry
  cancel requested  -> partial file removed, job cancelled
  time limit        -> partial file removed, job failed "Timeout after 5m" with rows reached
  invalid input     -> job failed at once, never retried
  source/db trouble -> job queued again after a backoff, until its attempts are used up
A worker killed outright stops heartbeating; the sweep requeues or fails its job. While
the file uploads to storage (no progress to report) a thread keeps the heartbeat going.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import sqlalchemy.exc

from exporter import db, store_jobs
from exporter.errors import Cancelled, ExportError, InvalidSpec, LimitExceeded, SourceError
from exporter.formats import WRITERS
from exporter.jobs import ExportService, link_expiry
from exporter.run import run_export
from exporter.spec import ExportSpec
from exporter.storage import clean_name

log = logging.getLogger("exporter.runner")
TRANSIENT = (SourceError, psycopg.OperationalError, sqlalchemy.exc.OperationalError)


def worker_name() -> str:
    """Unique per attempt, so a worker presumed dead cannot touch its successor's run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _timeout_text(seconds: float) -> str:
    return f"Timeout after {int(seconds // 60)}m" if seconds >= 60 else f"Timeout after {seconds:g}s"


class _Progress:
    """Records progress (and heartbeat) in the jobs table; learns of cancel requests."""

    def __init__(self, svc: ExportService, org: int, job_id: str, worker: str) -> None:
        self.svc, self.org, self.job_id, self.worker = svc, org, job_id, worker
        self.stop = False
        self.processed = 0
        self.lock = threading.Lock()

    def __call__(self, processed: int, total: int) -> None:
        with self.lock:
            self.processed = processed
            with db.org_session(self.svc.engine, self.org) as s:
                if store_jobs.report_progress(s, self.job_id, processed, total, self.worker):
                    self.stop = True

    def beat(self) -> None:
        with self.lock, db.org_session(self.svc.engine, self.org) as s:
            if store_jobs.heartbeat(s, self.job_id, self.worker):
                self.stop = True


@contextmanager
def _beating(progress: _Progress, seconds: float) -> Iterator[None]:
    """Keep the heartbeat going through a step that reports no progress (the upload to
    storage), so the sweep does not take a slow upload for a dead worker."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(seconds):
            try:
                progress.beat()
            except TRANSIENT:
                log.warning("heartbeat of job %s failed; trying again", progress.job_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{progress.job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def run_job(svc: ExportService, job_id: str, org: int) -> str:
    """Run a job if it is its turn; return what became of it ("skipped" if not)."""
    worker = worker_name()
    with db.org_session(svc.engine, org) as s:
        job = store_jobs.claim(s, job_id, worker, svc.settings.max_running)
    if job is None:
        return "skipped"  # not its turn, already done, or cancelled: a later sweep decides
    try:
        try:
            spec = ExportSpec.from_dict(job.spec)
        except InvalidSpec as exc:  # a malformed snapshot: fail it now, never leave it running
            return _fail(svc, org, str(job.id), exc.code, exc.message, 0, worker)
        return _execute(svc, org, str(job.id), spec, worker)
    finally:
        svc.wake(org)  # a slot is free: start the next job of this org


def _execute(svc: ExportService, org: int, job_id: str, spec: ExportSpec, worker: str) -> str:
    settings = svc.settings
    progress = _Progress(svc, org, job_id, worker)
    deadline = time.monotonic() + settings.job_time_limit

    def should_stop() -> bool:
        return progress.stop or time.monotonic() > deadline

    work = settings.home / "work"
    work.mkdir(parents=True, exist_ok=True)
    # run_export's partial file (".<name>.<pid>.part") of an earlier attempt whose worker was
    # killed: this attempt holds the job now, so that one can never finish.
    for part in work.glob(f".{job_id}.*.part"):
        part.unlink(missing_ok=True)
    extension = WRITERS[spec.format].SPEC.extension if spec.format in WRITERS else "out"
    temp = work / f"{job_id}.{extension}"
    started = time.monotonic()
    try:
        result = run_export(spec, org, temp, progress, should_stop, settings)
        file_name = clean_name(f"{spec.data_type}-{datetime.now(UTC):%Y%m%d-%H%M%S}.{extension}")
        with _beating(progress, settings.progress_seconds):
            key = svc.storage.put(org, job_id, file_name, Path(result.path))
        if progress.stop:  # cancelled while uploading: keep no file
            svc.storage.delete(key)
            raise Cancelled()
        with db.org_session(svc.engine, org) as s:
            store_jobs.complete(s, job_id, key, file_name, result.rows, result.bytes,
                                result.sha256, time.monotonic() - started,
                                link_expiry(datetime.now(UTC), settings), worker)
        return "completed"
    except Cancelled:
        with db.org_session(svc.engine, org) as s:
            if progress.stop:
                store_jobs.cancelled(s, job_id, worker)
                return "cancelled"
            store_jobs.fail(s, job_id, "TIMEOUT", _timeout_text(settings.job_time_limit),
                            progress.processed, worker)
            return "failed"
    except (InvalidSpec, LimitExceeded) as exc:
        return _fail(svc, org, job_id, exc.code, exc.message, progress.processed, worker)
    except TRANSIENT as exc:
        if isinstance(exc, ExportError):
            code, message = exc.code, exc.message
        else:
            code, message = "SOURCE_UNAVAILABLE", f"Lost the database connection: {exc}"
        return _retry_later(svc, org, job_id, code, message[:500], worker)
    except ExportError as exc:
        return _fail(svc, org, job_id, exc.code, exc.message, progress.processed, worker)
    except Exception as exc:  # a bug: record it on the job, never leave it running
        _fail(svc, org, job_id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"[:500],
              progress.processed, worker)
        raise
    finally:
        temp.unlink(missing_ok=True)


def _fail(svc: ExportService, org: int, job_id: str, code: str, message: str,
          processed: int, worker: str) -> str:
    with db.org_session(svc.engine, org) as s:
        store_jobs.fail(s, job_id, code, message, processed, worker)
    return "failed"


def _retry_later(svc: ExportService, org: int, job_id: str, code: str, message: str,
                 worker: str) -> str:
    with db.org_session(svc.engine, org) as s:
        job = store_jobs.get_job(s, job_id)
        delay = svc.settings.retry_delay * 2 ** max(0, job.attempts - 1)
        job = store_jobs.requeue_for_retry(s, job_id, delay, code, message, worker)
    return "retrying" if job.status == "queued" else job.status
