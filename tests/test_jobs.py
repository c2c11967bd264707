"""The queue rules of export jobs, proved with real parts: embedded Postgres and Redis, and
real `exporter worker` processes (Dramatiq on Redis) started as subprocesses.

Tests are ordered so that consecutive ones share a worker configuration (see
jobs_helpers.Workers); each still starts from empty job tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from exporter import db, links, runner, store_jobs
from exporter.errors import ExportError
from exporter.jobs import ExportService, prepare_database, secret_key
from exporter.links import LinkError
from exporter.models import ExportJob
from exporter.run import run_export
from exporter.settings import Settings
from exporter.spec import ExportSpec
from exporter.storage import LocalStorage
from tests.jobs_helpers import (
    SLOW,
    Workers,
    all_final,
    files_of,
    sample,
    wait_job,
    watch,
    worker_pid,
)
from tests.test_run import CATALOG, FIELDS

FULL = ExportSpec("items", FIELDS, format="csv", date_range="all")  # 10,001 rows per org
SMALL = ExportSpec("items", FIELDS, format="csv", date_range="all", statuses=("a",))  # 1 row
# Org 1's first 100 days: 3,889 rows (org 2 has none then), about a third of FULL's time.
MEDIUM = ExportSpec("items", FIELDS, format="csv", date_range="custom",
                    date_from=date(2026, 1, 1), date_to=date(2026, 4, 10))
MEDIUM_ROWS = 3_889
MAX = 2
# Progress (rows reached, heartbeat, cancel check) every 0.25 s instead of every second,
# so an export of a few seconds is seen mid-export early enough to cancel or kill it.
DEFAULT = {"EXPORTER_MAX_RUNNING": str(MAX), "EXPORTER_PROGRESS_SECONDS": "0.25", **SLOW}
# 2 s, not 1: opening DuckDB and the source takes up to ~1 s on a busy machine, and the
# rows reached should be > 0; five times as many id windows, so the export outlasts the
# limit on a fast machine too.
# One row per id window: thousands of small queries, far longer than the 2 s limit.
TIME_LIMITED = {**DEFAULT, "EXPORTER_JOB_TIME_LIMIT": "2", "EXPORTER_WINDOW_ROWS": "1"}
CLOSED_SOURCE = {"EXPORTER_SOURCE_URL": "postgresql://nobody:x@127.0.0.1:9/none",
                 "EXPORTER_MAX_ATTEMPTS": "2", "EXPORTER_RETRY_DELAY": "1"}
KILLABLE = {"EXPORTER_STALE_SECONDS": "3", **DEFAULT}


@pytest.fixture(scope="module")
def job_settings(rt_settings: Settings) -> Settings:
    # A job takes max_attempts from whoever submits it, so it is set here too.
    settings = dataclasses.replace(rt_settings, max_running=MAX, max_attempts=2)
    prepare_database(settings)
    return settings


@pytest.fixture(scope="module")
def svc(job_settings: Settings, redis_url: str) -> Iterator[ExportService]:
    # workers.actors sets up its broker on import, from the environment: point it at ours.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXPORTER_HOME", str(job_settings.home))
        env.setenv("EXPORTER_REDIS_URL", redis_url)
        actors = importlib.import_module("workers.actors")
    service = ExportService(job_settings, dispatch=actors.send_job)
    yield service
    service.engine.dispose()


@pytest.fixture(scope="module")
def workers(job_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    pool = Workers(job_settings, CATALOG, tmp_path_factory.mktemp("worker-logs"))
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="module")
def admin(job_settings: Settings, admin_engine: Engine) -> Engine:
    return admin_engine  # once job_settings has migrated the database


@pytest.fixture(autouse=True)
def clean(admin: Engine) -> None:
    with admin.begin() as conn:
        conn.execute(text("TRUNCATE export.export_jobs, export.export_templates"))


def submit(svc: ExportService, org: int, spec: ExportSpec = FULL, user: str = "ann") -> ExportJob:
    job, created = svc.submit(org, spec, user)
    assert created
    return job


def stored(svc: ExportService, key: str | None) -> bytes:
    assert key
    with svc.storage.open(key) as stream:
        return stream.read()


def columns(job: ExportJob) -> dict[str, Any]:
    return {c.key: getattr(job, c.key) for c in ExportJob.__mapper__.column_attrs}


def leftovers(svc: ExportService, job: ExportJob) -> list[str]:
    """Temp files in <home>/work and stored files that belong to the job."""
    assert isinstance(svc.storage, LocalStorage)
    return files_of(svc.settings.home / "work", job.id) + files_of(svc.storage.root, job.id)


@pytest.mark.parametrize("together", [False, True], ids=["one after the other", "at once"])
def test_the_same_export_submitted_twice_within_a_second_is_one_job(
        svc: ExportService, together: bool) -> None:
    if together:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: svc.submit(1, FULL, "ann"), range(2)))
    else:
        results = [svc.submit(1, FULL, "ann"), svc.submit(1, FULL, "ann")]
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].id == results[1][0].id
    assert svc.jobs(1, include_hidden=True)[1] == 1
    assert svc.submit(1, FULL, "bob")[1]  # someone else's identical export is their own job


def test_a_submitted_export_runs_on_a_worker_and_stores_the_rows_of_a_direct_run(
        svc: ExportService, workers: Workers, job_settings: Settings, tmp_path: Path) -> None:
    workers.ensure(2, **DEFAULT)
    job = wait_job(svc, 2, submit(svc, 2).id)
    assert (job.status, job.attempts, job.error_code) == ("completed", 1, None), workers.log_tail()
    data = stored(svc, job.file_key)
    assert hashlib.sha256(data).hexdigest() == job.sha256 and len(data) == job.bytes
    direct = run_export(FULL, 2, tmp_path / "direct.csv", settings=job_settings)
    assert job.row_count == direct.rows == 10_001 and job.processed_rows == 10_001
    assert data == (tmp_path / "direct.csv").read_bytes()
    assert job.expires_at and job.completed_at
    assert abs(job.expires_at - job.completed_at - timedelta(days=7)) < timedelta(seconds=5)
    assert files_of(job_settings.home / "work", job.id) == []


def test_a_download_link_streams_the_file_for_its_own_org_and_exact_token_only(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(2, **DEFAULT)
    job = wait_job(svc, 2, submit(svc, 2, SMALL).id)
    assert job.status == "completed" and job.file_key and job.expires_at
    token, expires = svc.download_link(2, str(job.id))
    assert expires == job.expires_at
    download = svc.open_download(token)
    with download.stream as stream:
        assert stream.read() == stored(svc, job.file_key)
    assert (download.file_name, download.size) == (job.file_name, job.bytes)
    assert download.media_type.startswith("text/csv")
    for at in (3, len(token) // 2, len(token) - 2):
        flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]
        with pytest.raises(LinkError) as refused:
            svc.open_download(flipped)
        assert refused.value.code == "LINK_INVALID"
    other_org = links.sign(secret_key(svc.settings), 1, str(job.id), job.file_key, job.expires_at)
    with pytest.raises(ExportError) as refused:
        svc.open_download(other_org)
    assert refused.value.code in ("NOT_FOUND", "LINK_INVALID")


def test_running_a_completed_job_again_is_skipped_and_changes_nothing(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(2, **DEFAULT)
    job = wait_job(svc, 1, submit(svc, 1, SMALL).id)
    assert job.status == "completed"
    path = svc.storage.local_path(job.file_key or "")
    assert path is not None
    before, data, mtime = columns(job), stored(svc, job.file_key), path.stat().st_mtime_ns
    assert runner.run_job(svc, str(job.id), 1) == "skipped"
    after = svc.job(1, str(job.id))
    assert columns(after) == before
    assert stored(svc, after.file_key) == data and path.stat().st_mtime_ns == mtime


def test_cleanup_deletes_an_expired_file_and_its_link_stops_working(
        svc: ExportService, workers: Workers, admin: Engine) -> None:
    workers.ensure(2, **DEFAULT)
    job = wait_job(svc, 1, submit(svc, 1, SMALL).id)
    token, _ = svc.download_link(1, str(job.id))
    assert job.file_key and svc.storage.exists(job.file_key)
    with admin.begin() as conn:
        conn.execute(text("UPDATE export.export_jobs SET expires_at = now() - interval '1 minute'"
                          " WHERE id = :id"), {"id": job.id})
    assert svc.cleanup() == {"files": 1, "jobs": 0}
    assert not svc.storage.exists(job.file_key)
    after = svc.job(1, str(job.id))
    assert (after.status, after.file_key) == ("completed", None)
    with pytest.raises(LinkError):
        svc.open_download(token)
    assert svc.cleanup() == {"files": 0, "jobs": 0}


def test_an_org_runs_at_most_max_running_jobs_in_submit_order_across_two_workers(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(2, **DEFAULT)
    ids = [submit(svc, 1, MEDIUM, user=f"user{n}").id for n in range(5)]
    first = sample(svc, [1])
    wait_job(svc, 1, ids[1], until=lambda j: j.status == "running")
    other = submit(svc, 2, MEDIUM).id  # org 2 has its own slots while org 1's are full
    samples = [first, *watch(svc, [1, 2], all_final([*ids, other]))]
    jobs = [samples[-1].jobs[i] for i in ids]
    assert all(j.status == "completed" for j in [*jobs, samples[-1].jobs[other]])
    # Sampled every 50 ms: never more than MAX running, and the limit was reached.
    assert max(s.running(ids) for s in samples) == MAX
    # Queued jobs are numbered 1, 2, 3... in submit order, in every sample.
    for s in samples:
        queued = [i for i in ids if s.jobs[i].status == "queued"]
        assert [s.positions[i] for i in queued] == list(range(1, len(queued) + 1))
    assert any(len(s.positions) >= 3 for s in samples)
    # FIFO: started in submit order; each later job started only once a slot had freed.
    starts = [j.started_at for j in jobs]
    assert all(a is not None for a in starts) and starts == sorted(starts)  # type: ignore[type-var]
    ends = sorted(j.completed_at for j in jobs)  # type: ignore[type-var]
    for n in range(MAX, len(jobs)):
        freed = ends[n - MAX]
        assert freed <= starts[n], f"job {n} started before a slot freed"  # type: ignore[operator]
    org2 = samples[-1].jobs[other]
    assert org2.started_at < min(j.completed_at for j in jobs[:MAX])  # type: ignore[operator,type-var]


def test_a_cancelled_queued_job_never_starts_even_when_slots_free_up(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(2, **DEFAULT)
    ids = [submit(svc, 1, user=f"user{n}").id for n in range(MAX + 1)]
    assert svc.cancel(1, str(ids[-1])).status == "cancelled"
    for job_id in ids[:MAX]:  # end the running ones: their slots free up
        wait_job(svc, 1, job_id, until=lambda j: j.status == "running")
        svc.cancel(1, str(job_id))
    watch(svc, [1], all_final(ids[:MAX]))
    time.sleep(2.1)  # a full sweep period: nothing picks the cancelled job up
    job = svc.job(1, str(ids[-1]))
    assert (job.status, job.started_at, job.attempts, job.worker) == ("cancelled", None, 0, None)


def test_cancelling_a_running_job_stops_it_and_leaves_no_file(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(2, **DEFAULT)
    job = submit(svc, 1)
    wait_job(svc, 1, job.id, until=lambda j: j.status == "running" and j.processed_rows > 0)
    assert svc.cancel(1, str(job.id)).cancel_requested
    # How fast (the 2 s bar) is measured by bench/jobs_bench.py, not asserted here.
    done = wait_job(svc, 1, job.id, timeout=30)
    assert done.status == "cancelled"
    assert done.file_key is None and 0 < done.processed_rows < 10_001
    assert leftovers(svc, done) == []


@pytest.mark.parametrize("broken", ["unknown field", "malformed date"])
def test_invalid_input_fails_at_once_and_is_never_retried(
        svc: ExportService, workers: Workers, broken: str) -> None:
    workers.ensure(2, **DEFAULT)
    with db.org_session(svc.engine, 1) as s:  # straight into the queue, past validation
        spec = ExportSpec("items", ("code", "salary") if broken == "unknown field" else ("code",),
                          date_range="all")
        job, _ = store_jobs.submit(s, spec, "broken", "ann", max_attempts=3)
        if broken == "malformed date":
            bad = {**job.spec, "date_range": "custom", "date_from": "someday"}
            s.execute(update(ExportJob).where(ExportJob.id == job.id).values(spec=bad))
    svc.wake(1)
    done = wait_job(svc, 1, job.id, timeout=20)
    code = "UNKNOWN_FIELD" if broken == "unknown field" else "INVALID_DATE"
    assert (done.status, done.attempts, done.error_code) == ("failed", 1, code)
    assert done.max_attempts == 3 and done.not_before is None


def test_a_job_over_its_time_limit_fails_with_the_rows_it_reached(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(1, **TIME_LIMITED)
    done = wait_job(svc, 1, submit(svc, 1, MEDIUM).id)
    assert (done.status, done.error_code, done.attempts) == ("failed", "TIMEOUT", 1)
    assert done.error_message == "Timeout after 2s"
    # The rows reached are recorded (the last progress report before the limit).
    assert done.processed_rows is not None and done.processed_rows < MEDIUM_ROWS
    assert done.file_key is None
    assert leftovers(svc, done) == []


@pytest.mark.parametrize("ended", ["timed out", "cancelled"])
def test_retrying_a_failed_or_cancelled_job_runs_the_same_spec_as_a_new_job(
        svc: ExportService, workers: Workers, ended: str) -> None:
    if ended == "timed out":
        workers.ensure(1, **TIME_LIMITED)
        old = wait_job(svc, 1, submit(svc, 1, MEDIUM).id)
        assert old.status == "failed"
    workers.ensure(2, **DEFAULT)
    if ended == "cancelled":
        job = submit(svc, 1, MEDIUM)
        wait_job(svc, 1, job.id, until=lambda j: j.status == "running")
        svc.cancel(1, str(job.id))
        old = wait_job(svc, 1, job.id)
        assert old.status == "cancelled"
    new = svc.retry(1, str(old.id), "bob")
    assert new.id != old.id and (new.spec, new.name, new.template_id) == (old.spec, old.name, None)
    assert (new.status, new.attempts, new.created_by) == ("queued", 0, "bob")
    assert svc.retry(1, str(old.id), "bob").id == new.id  # a double-click queues it once
    done = wait_job(svc, 1, new.id)
    assert (done.status, done.row_count, done.attempts) == ("completed", MEDIUM_ROWS, 1)
    assert svc.job(1, str(old.id)).status == old.status  # the old run stays in history


def test_an_unreachable_source_is_retried_after_a_backoff_until_attempts_run_out(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(1, **CLOSED_SOURCE)
    job = submit(svc, 1)
    samples = watch(svc, [1], all_final([job.id]), timeout=30)
    waiting = [s.jobs[job.id] for s in samples
               if s.jobs[job.id].status == "queued" and s.jobs[job.id].attempts == 1]
    assert waiting, "the job was never seen waiting for its retry"
    assert waiting[0].error_code == "SOURCE_UNAVAILABLE" and waiting[0].not_before
    done = samples[-1].jobs[job.id]
    assert (done.status, done.attempts, done.max_attempts) == ("failed", 2, 2)
    assert done.error_code == "SOURCE_UNAVAILABLE"
    assert "Cannot read the source database" in (done.error_message or "")
    assert done.started_at >= waiting[0].not_before  # type: ignore[operator]


def test_a_transient_failure_is_retried_and_completes_once_the_source_is_back(
        svc: ExportService, workers: Workers) -> None:
    workers.ensure(1, **CLOSED_SOURCE)
    job = submit(svc, 1, MEDIUM)
    wait_job(svc, 1, job.id, until=lambda j: j.status == "queued" and j.attempts == 1
             and j.error_code == "SOURCE_UNAVAILABLE", timeout=20)
    workers.ensure(2, **KILLABLE)  # the source is reachable again
    done = wait_job(svc, 1, job.id)
    assert (done.status, done.attempts, done.error_code, done.row_count) == (
        "completed", 2, None, MEDIUM_ROWS)


def test_a_job_of_a_killed_worker_is_requeued_by_a_surviving_sweeper_and_completes(
        svc: ExportService, workers: Workers) -> None:
    procs = workers.ensure(2, **KILLABLE)
    job = submit(svc, 1)
    running = wait_job(svc, 1, job.id, until=lambda j: j.status == "running"
                       and j.processed_rows > 0)
    victim = worker_pid(running)
    host = workers.owner(victim)
    os.kill(victim, signal.SIGKILL)
    samples = watch(svc, [1], all_final([job.id]), timeout=45)
    requeued = {s.jobs[job.id].error_code for s in samples if s.jobs[job.id].status == "queued"}
    assert requeued <= {"WORKER_LOST"}  # seen only if sampled in the instant before its rerun
    done = samples[-1].jobs[job.id]
    # reaped only once its heartbeat was 3 s old, then run again
    assert done.started_at - running.heartbeat_at > timedelta(seconds=3)  # type: ignore[operator]
    assert (done.status, done.attempts, done.row_count) == ("completed", 2, 10_001)
    assert worker_pid(done) != victim
    assert hashlib.sha256(stored(svc, done.file_key)).hexdigest() == done.sha256
    assert svc.jobs(1, status="running")[1] == 0
    assert files_of(svc.settings.home / "work", job.id) == []  # nor the killed run's part file
    # Dramatiq stops all its processes when one dies; `exporter worker` starts them again.
    assert all(p.poll() is None for p in procs), workers.log_tail()
    assert workers.dramatiq_pids(host) - {victim}
