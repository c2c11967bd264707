"""The repository against real Postgres, through org sessions of the app role (as in
production): templates, the job queue and its life cycle, and cross-org upkeep."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from exporter import store_jobs as jobs
from exporter import store_maintenance as upkeep
from exporter import store_templates as templates
from exporter.db import org_session
from exporter.errors import ExportError, InvalidSpec
from exporter.models import ExportJob
from exporter.spec import ExportSpec
from exporter.store import Conflict, NotFound
from tests import test_db_rls

# the migrated database, its app engine and the table cleaner, shared with test_db_rls
# (the admin engine is conftest's)
migrated, app_engine, clean = test_db_rls.migrated, test_db_rls.app_engine, test_db_rls.clean

SPEC = ExportSpec(data_type="orders", fields=("order_number", "total"), format="csv")
OTHER = ExportSpec(data_type="products", fields=("sku",), format="json")


def spec(n: int) -> ExportSpec:
    """A distinct spec per n, so dedupe never merges them."""
    return ExportSpec(data_type="orders", fields=("order_number",), date_range="custom",
                      date_from=date(2024, 1, 1), date_to=date(2024, 1, 1) + timedelta(days=n))


def run(engine: Engine, org: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a store function in its own org session (one committed transaction)."""
    with org_session(engine, org) as session:
        return fn(session, *args, **kwargs)


def queue(engine: Engine, org: int, count: int, **kwargs: Any) -> list[uuid.UUID]:
    with org_session(engine, org) as session:
        return [jobs.submit(session, spec(n), f"job {n}", "ann", **kwargs)[0].id
                for n in range(count)]


def admin_sql(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


# --- templates -------------------------------------------------------------------------

def test_a_template_saves_and_returns_its_spec(app_engine: Engine) -> None:
    full = ExportSpec(data_type="orders", fields=("order_number", "status"), format="xlsx",
                      date_range="custom", date_from=date(2024, 1, 1), date_to=date(2024, 3, 31),
                      statuses=("shipped",), only_active=True)
    made = run(app_engine, 1, templates.create_template, " Weekly orders ", full, "ann")
    assert made.name == "Weekly orders" and made.org_id == 1 and made.created_at
    got = run(app_engine, 1, templates.get_template, made.id)
    assert templates.spec_of(got) == full
    assert got.filters["statuses"] == ["shipped"] and got.fields == ["order_number", "status"]


@pytest.mark.parametrize(("name", "code"), [("", "NAME_REQUIRED"), ("   ", "NAME_REQUIRED"),
                                            ("x" * 101, "NAME_TOO_LONG")])
def test_a_template_needs_a_short_name(app_engine: Engine, name: str, code: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        run(app_engine, 1, templates.create_template, name, SPEC, "ann")
    assert (caught.value.code, caught.value.field) == (code, "name")
    run(app_engine, 1, templates.create_template, "x" * 100, SPEC, "ann")  # 100 is fine


def test_a_template_name_is_unique_per_org_only(app_engine: Engine) -> None:
    run(app_engine, 1, templates.create_template, "Weekly", SPEC, "ann")
    with org_session(app_engine, 1) as session:
        with pytest.raises(Conflict) as caught:
            templates.create_template(session, "Weekly", OTHER, "bob")
        assert (caught.value.code, caught.value.field) == ("TEMPLATE_NAME_TAKEN", "name")
        assert "Weekly" in caught.value.message
        templates.create_template(session, "Monthly", OTHER, "bob")  # the session lives on
    run(app_engine, 2, templates.create_template, "Weekly", SPEC, "cy")
    assert [t.name for t in run(app_engine, 1, templates.list_templates)] == ["Monthly", "Weekly"]
    assert [t.name for t in run(app_engine, 2, templates.list_templates)] == ["Weekly"]


@pytest.mark.parametrize(("bad", "code"), [
    (ExportSpec(data_type="", fields=("x",)), "DATA_TYPE_REQUIRED"),
    (ExportSpec(data_type="orders", fields=()), "NO_FIELDS"),
    (ExportSpec(data_type="orders", fields=("nope",)), "UNKNOWN_FIELD"),
    (ExportSpec(data_type="orders", fields=("total",), format="pdf"), "UNKNOWN_FORMAT"),
])
def test_a_template_with_an_invalid_spec_is_refused(app_engine: Engine, bad: ExportSpec,
                                                     code: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        run(app_engine, 1, templates.create_template, "Bad", bad, "ann")
    assert caught.value.code == code
    assert run(app_engine, 1, templates.list_templates) == []


def test_a_template_updates_renames_touches_and_deletes(app_engine: Engine) -> None:
    first = run(app_engine, 1, templates.create_template, "A", SPEC, "ann")
    run(app_engine, 1, templates.create_template, "B", SPEC, "ann")
    with pytest.raises(Conflict):
        run(app_engine, 1, templates.update_template, first.id, name="B")
    changed = run(app_engine, 1, templates.update_template, first.id, name="C", spec=OTHER)
    assert changed.name == "C" and templates.spec_of(changed) == OTHER
    assert changed.updated_at > first.updated_at
    touched = run(app_engine, 1, templates.touch_template, first.id)
    assert first.last_used_at is None and touched.last_used_at is not None
    job, _ = run(app_engine, 1, jobs.submit, OTHER, "C", "ann", template_id=first.id)
    run(app_engine, 1, templates.delete_template, first.id)
    with pytest.raises(NotFound):
        run(app_engine, 1, templates.get_template, first.id)
    assert run(app_engine, 1, jobs.get_job, job.id).template_id is None  # history stays


def test_another_orgs_template_is_not_found(app_engine: Engine) -> None:
    made = run(app_engine, 1, templates.create_template, "Mine", SPEC, "ann")
    for call in (templates.get_template, templates.delete_template):
        with pytest.raises(NotFound):
            run(app_engine, 2, call, made.id)
    with pytest.raises(NotFound):
        run(app_engine, 2, templates.get_template, "not-a-uuid")


# --- submit ----------------------------------------------------------------------------

def test_submitting_twice_in_a_row_queues_one_job(app_engine: Engine) -> None:
    first, created = run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann")
    again, created_again = run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann")
    assert (created, created_again) == (True, False) and again.id == first.id
    assert first.status == "queued" and first.spec == SPEC.to_dict()
    # another person, another spec or another org is another job
    assert run(app_engine, 1, jobs.submit, SPEC, "Orders export", "bob")[1]
    assert run(app_engine, 1, jobs.submit, OTHER, "Products", "ann")[1]
    assert run(app_engine, 2, jobs.submit, SPEC, "Orders export", "ann")[1]
    assert run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann", dedupe_seconds=0)[1]


def test_a_cancelled_job_can_be_submitted_again_at_once(app_engine: Engine) -> None:
    first, _ = run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann")
    run(app_engine, 1, jobs.request_cancel, first.id)
    assert run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann")[1]


def test_concurrent_double_submits_queue_one_job(app_engine: Engine) -> None:
    barrier, results = threading.Barrier(4), []

    def click() -> None:
        barrier.wait()
        results.append(run(app_engine, 1, jobs.submit, SPEC, "Orders export", "ann"))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({job.id for job, _ in results}) == 1
    assert run(app_engine, 1, jobs.list_jobs)[1] == 1


# --- claim and FIFO --------------------------------------------------------------------

def test_claim_follows_fifo_and_runs_at_most_five_per_org(app_engine: Engine) -> None:
    ids = queue(app_engine, 1, 7)
    other = queue(app_engine, 2, 1)
    claimed: list[uuid.UUID] = []
    rng = random.Random(5)
    for _ in range(60):
        job_id = rng.choice(ids)
        job = run(app_engine, 1, jobs.claim, job_id, "w1", max_running=5)
        if job is not None:
            assert job.status == "running" and job.attempts == 1 and job.worker == "w1"
            claimed.append(job.id)
    assert claimed == ids[:5]  # oldest first, and never a sixth
    assert run(app_engine, 1, jobs.list_jobs, status="running")[1] == 5
    assert run(app_engine, 1, jobs.next_in_line) == []
    assert run(app_engine, 2, jobs.claim, other[0], "w2") is not None  # orgs don't share slots
    assert run(app_engine, 1, jobs.claim, ids[6], "w1") is None  # not its turn
    run(app_engine, 1, jobs.complete, ids[0], "k", "f.csv", 1, 10, "ab", 0.5)
    assert run(app_engine, 1, jobs.next_in_line) == [ids[5]]
    assert run(app_engine, 1, jobs.claim, ids[5], "w1") is not None
    assert run(app_engine, 1, jobs.claim, ids[5], "w1") is None  # a redelivered message


def test_concurrent_claims_never_run_more_than_five(app_engine: Engine) -> None:
    ids = queue(app_engine, 1, 7)
    barrier, won = threading.Barrier(len(ids)), []

    def worker(name: str) -> None:
        barrier.wait()
        for job_id in ids:  # every worker tries every message
            if run(app_engine, 1, jobs.claim, job_id, name) is not None:
                won.append(job_id)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(len(ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won, key=ids.index) == ids[:5] and len(won) == 5


def test_claim_skips_jobs_waiting_for_their_retry_backoff(app_engine: Engine) -> None:
    first, second = queue(app_engine, 1, 2)
    run(app_engine, 1, jobs.claim, first, "w1")
    run(app_engine, 1, jobs.requeue_for_retry, first, 60, "SOURCE_ERROR", "db away")
    assert run(app_engine, 1, jobs.next_in_line) == [second]
    assert run(app_engine, 1, jobs.claim, first, "w1") is None
    assert run(app_engine, 1, jobs.claim, second, "w1") is not None


def test_another_orgs_job_cannot_be_claimed_or_seen(app_engine: Engine) -> None:
    (job_id,) = queue(app_engine, 1, 1)
    assert run(app_engine, 2, jobs.claim, job_id, "w") is None
    for call in (jobs.get_job, jobs.request_cancel, jobs.retry):
        with pytest.raises(NotFound):
            run(app_engine, 2, call, job_id)
    assert upkeep.org_of_job(app_engine, job_id) == 1
    assert upkeep.org_of_job(app_engine, uuid.uuid4()) is None


def test_positions_count_from_one_in_fifo_order(app_engine: Engine) -> None:
    ids = queue(app_engine, 1, 3)
    run(app_engine, 1, jobs.claim, ids[0], "w")
    with org_session(app_engine, 1) as session:
        found = [jobs.get_job(session, i) for i in ids]
        assert [jobs.position(session, job) for job in found] == [None, 1, 2]
        assert jobs.positions(session) == {ids[1]: 1, ids[2]: 2}


# --- progress and outcomes -------------------------------------------------------------

def test_progress_sets_percent_eta_and_heartbeat(app_engine: Engine, admin_engine: Engine) -> None:
    (job_id,) = queue(app_engine, 1, 1)
    run(app_engine, 1, jobs.claim, job_id, "w")
    admin_sql(admin_engine, "UPDATE export.export_jobs SET started_at = now() - interval '10 s',"
              " heartbeat_at = now() - interval '10 s'")
    assert run(app_engine, 1, jobs.report_progress, job_id, 2_500, 10_000, worker="w") is False
    job = run(app_engine, 1, jobs.get_job, job_id)
    assert (job.progress, job.processed_rows, job.total_rows) == (25, 2_500, 10_000)
    assert 29 <= job.eta_seconds <= 36  # 10 s for a quarter: ~30 s to go
    assert job.heartbeat_at > job.started_at + timedelta(seconds=9)
    assert run(app_engine, 1, jobs.report_progress, job_id, 1, 2, worker="someone else")


def test_complete_records_the_file(app_engine: Engine) -> None:
    (job_id,) = queue(app_engine, 1, 1)
    run(app_engine, 1, jobs.claim, job_id, "w")
    done = run(app_engine, 1, jobs.complete, job_id, "org1/a.csv", "a.csv", 42, 1234, "ff",
               1.23456, worker="w")
    assert (done.status, done.row_count, done.bytes, done.progress) == ("completed", 42, 1234, 100)
    assert float(done.duration_seconds) == 1.235 and done.file_key == "org1/a.csv"
    assert done.expires_at - done.completed_at > timedelta(days=6, hours=23)
    with pytest.raises(Conflict):  # a duplicated message cannot finish it twice
        run(app_engine, 1, jobs.fail, job_id, "X", "late", worker="w")


def test_cancel_queued_running_and_finished_jobs(app_engine: Engine) -> None:
    queued, running, finished = queue(app_engine, 1, 3)
    cancelled = run(app_engine, 1, jobs.request_cancel, queued)
    assert cancelled.status == "cancelled" and cancelled.completed_at is not None
    for job_id in (running, finished):
        assert run(app_engine, 1, jobs.claim, job_id, "w") is not None
    run(app_engine, 1, jobs.fail, finished, "SOURCE_ERROR", "boom", 10)

    flagged = run(app_engine, 1, jobs.request_cancel, running)
    assert (flagged.status, flagged.cancel_requested) == ("running", True)
    assert run(app_engine, 1, jobs.report_progress, running, 5, 10) is True  # runner stops
    assert run(app_engine, 1, jobs.cancelled, running).status == "cancelled"
    for job_id in (queued, running, finished):
        with pytest.raises(Conflict) as caught:
            run(app_engine, 1, jobs.request_cancel, job_id)
        assert caught.value.code == "JOB_NOT_CANCELLABLE"


def test_retry_queues_a_new_job_with_the_same_snapshot(app_engine: Engine) -> None:
    tpl = run(app_engine, 1, templates.create_template, "T", SPEC, "ann")
    job, _ = run(app_engine, 1, jobs.submit, SPEC, "T", "ann", template_id=tpl.id)
    run(app_engine, 1, jobs.claim, job.id, "w")
    run(app_engine, 1, jobs.fail, job.id, "SOURCE_ERROR", "boom")
    # the template changes after the run: the retry still repeats the original export
    run(app_engine, 1, templates.update_template, tpl.id, spec=OTHER)
    again = run(app_engine, 1, jobs.retry, job.id, "bob")
    assert again.id != job.id and again.status == "queued" and again.attempts == 0
    assert (again.spec, again.template_id, again.name) == (SPEC.to_dict(), tpl.id, "T")
    assert again.created_by == "bob"
    assert run(app_engine, 1, jobs.retry, job.id, "bob").id == again.id  # double click
    assert run(app_engine, 1, jobs.get_job, job.id).status == "failed"  # history kept
    with pytest.raises(Conflict) as caught:
        run(app_engine, 1, jobs.retry, again.id)
    assert caught.value.code == "JOB_NOT_RETRYABLE"


def test_requeue_for_retry_fails_once_attempts_are_used_up(app_engine: Engine) -> None:
    (job_id,) = queue(app_engine, 1, 1, max_attempts=2)
    run(app_engine, 1, jobs.claim, job_id, "w")
    back = run(app_engine, 1, jobs.requeue_for_retry, job_id, 0, "SOURCE_ERROR", "db away")
    assert (back.status, back.attempts, back.error_code) == ("queued", 1, "SOURCE_ERROR")
    assert back.not_before is not None and back.worker is None
    run(app_engine, 1, jobs.claim, job_id, "w")
    last = run(app_engine, 1, jobs.requeue_for_retry, job_id, 0, "SOURCE_ERROR", "db away")
    assert (last.status, last.attempts, last.error_message) == ("failed", 2, "db away")


# --- maintenance -----------------------------------------------------------------------

def test_reap_stale_requeues_then_fails_after_max_attempts(app_engine: Engine,
                                                           admin_engine: Engine) -> None:
    (job_id,) = queue(app_engine, 1, 1)
    (fresh,) = queue(app_engine, 2, 1)
    run(app_engine, 2, jobs.claim, fresh, "w2")
    outcomes = []
    for _ in range(3):
        assert run(app_engine, 1, jobs.claim, job_id, "w1") is not None
        admin_sql(admin_engine, "UPDATE export.export_jobs SET heartbeat_at ="
                  " now() - interval '2 minutes' WHERE id = :id", id=job_id)
        outcomes += upkeep.reap_stale(app_engine, seconds=60)
    assert outcomes == [(job_id, 1, True), (job_id, 1, True), (job_id, 1, False)]
    job = run(app_engine, 1, jobs.get_job, job_id)
    assert (job.status, job.attempts, job.error_code) == ("failed", 3, "WORKER_LOST")
    assert job.error_message == "The worker stopped responding"
    assert run(app_engine, 2, jobs.get_job, fresh).status == "running"  # alive: untouched


def test_dispatchable_lists_what_could_start_in_every_org(app_engine: Engine) -> None:
    one = queue(app_engine, 1, 3)
    two = queue(app_engine, 2, 1)
    found = upkeep.dispatchable(app_engine, max_running=2)
    assert sorted(found, key=str) == sorted([(one[0], 1), (one[1], 1), (two[0], 2)], key=str)


def test_cleanup_forgets_expired_files_and_deletes_old_jobs(app_engine: Engine,
                                                            admin_engine: Engine) -> None:
    expired, fresh, old, running = queue(app_engine, 1, 4, dedupe_seconds=0)
    (elsewhere,) = queue(app_engine, 2, 1)
    for job_id, org in ((expired, 1), (fresh, 1), (old, 1), (elsewhere, 2)):
        run(app_engine, org, jobs.claim, job_id, "w", max_running=10)
        run(app_engine, org, jobs.complete, job_id, f"key-{job_id}", "f.csv", 1, 1, "x", 0.1)
    run(app_engine, 1, jobs.claim, running, "w", max_running=10)
    admin_sql(admin_engine, "UPDATE export.export_jobs SET expires_at = now() - interval '1 s'"
              " WHERE id IN (:a, :b)", a=expired, b=elsewhere)
    admin_sql(admin_engine, "UPDATE export.export_jobs SET created_at = now() - interval '91 d'"
              " WHERE id IN (:a, :b)", a=old, b=running)
    keys, deleted = upkeep.cleanup(app_engine)
    assert sorted(keys) == sorted(f"key-{i}" for i in (expired, elsewhere, old))
    assert deleted == 1  # a running job is never deleted under its worker
    assert run(app_engine, 1, jobs.get_job, expired).file_key is None
    assert run(app_engine, 1, jobs.get_job, fresh).file_key == f"key-{fresh}"
    with pytest.raises(NotFound):
        run(app_engine, 1, jobs.get_job, old)
    assert upkeep.cleanup(app_engine) == ([], 0)


# --- views -----------------------------------------------------------------------------

def test_clear_completed_hides_finished_jobs_from_the_queue_only(app_engine: Engine) -> None:
    done, failed, waiting = queue(app_engine, 1, 3, dedupe_seconds=0)
    for job_id in (done, failed):
        run(app_engine, 1, jobs.claim, job_id, "w")
    run(app_engine, 1, jobs.complete, done, "k", "f.csv", 1, 1, "x", 0.1)
    run(app_engine, 1, jobs.fail, failed, "X", "no")
    assert run(app_engine, 1, jobs.clear_completed) == 2
    assert run(app_engine, 1, jobs.clear_completed) == 0
    shown, total = run(app_engine, 1, jobs.list_jobs)
    assert [j.id for j in shown] == [waiting] and total == 1
    everything, total = run(app_engine, 1, jobs.list_jobs, include_hidden=True)
    assert total == 3 and {j.id for j in everything} == {done, failed, waiting}


def test_list_jobs_pages_newest_first_and_filters(app_engine: Engine) -> None:
    ids = queue(app_engine, 1, 5)
    product, _ = run(app_engine, 1, jobs.submit, OTHER, "Products", "ann")
    queue(app_engine, 2, 2)
    newest_first = [product.id, *reversed(ids)]
    page, total = run(app_engine, 1, jobs.list_jobs, limit=4)
    assert total == 6 and [j.id for j in page] == newest_first[:4]
    page, _ = run(app_engine, 1, jobs.list_jobs, limit=4, offset=4)
    assert [j.id for j in page] == newest_first[4:]
    assert run(app_engine, 1, jobs.list_jobs, data_type="products")[1] == 1
    run(app_engine, 1, jobs.claim, ids[0], "w")
    assert [j.id for j in run(app_engine, 1, jobs.list_jobs, status="running")[0]] == [ids[0]]
    assert run(app_engine, 1, jobs.list_jobs, status=("running", "queued"))[1] == 6
    assert run(app_engine, 1, jobs.list_jobs, since=product.created_at)[1] == 1
    assert run(app_engine, 1, jobs.list_jobs, until=product.created_at)[1] == 5


def test_store_errors_are_export_errors(app_engine: Engine) -> None:
    with pytest.raises(ExportError):
        run(app_engine, 1, jobs.get_job, uuid.uuid4())
    assert issubclass(Conflict, ExportError) and ExportJob.__table__.schema == "export"
