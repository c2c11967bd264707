"""Fixtures shared by the Streamlit app's tests (AppTest and the real browser): a migrated
test database holding the demo ERP, the environment the app reads, and one org's rows
cleaned before each test. The app's tests use org 3 only, so other suites' orgs are left
alone."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text

from exporter import db, demo, services, store_jobs
from exporter.jobs import ExportService
from exporter.models import ExportJob
from exporter.settings import Settings
from exporter.spec import ExportSpec

ORG = 3
USER = "tester"
DEMO_ORDERS = 2000
SEED_LOCK = 742_005  # advisory lock id: one seeder at a time across test processes


def ensure_demo(url: str) -> None:
    """Seed the demo ERP (2,000 orders over 3 orgs) unless it is already there."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [SEED_LOCK])
        try:
            enough = demo.has_data(conn) and (conn.execute(
                "SELECT count(*) FROM erp.orders").fetchone() or (0,))[0] >= DEMO_ORDERS
            if not enough:
                demo.seed(conn, orders=DEMO_ORDERS, orgs=3)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [SEED_LOCK])


@pytest.fixture(scope="session")
def app_settings(settings: Settings, database_url: str, redis_url: str) -> Settings:
    db.upgrade(database_url, settings.app_db_password)
    ensure_demo(services.libpq_url(database_url))
    return dataclasses.replace(settings, database_url=database_url, redis_url=redis_url)


def app_environment(app_settings: Settings) -> dict[str, str]:
    """The EXPORTER_* variables that point the app (and its subprocesses) at the tests'
    servers."""
    return {"EXPORTER_HOME": str(app_settings.home.resolve()),
            "EXPORTER_DATABASE_URL": app_settings.database_url,
            "EXPORTER_REDIS_URL": app_settings.redis_url}


def clean_org(app_settings: Settings, org: int = ORG) -> None:
    engine = db.make_engine(app_settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM export.export_jobs WHERE org_id = :o"), {"o": org})
            conn.execute(text("DELETE FROM export.export_templates WHERE org_id = :o"), {"o": org})
    finally:
        engine.dispose()


@pytest.fixture
def svc(app_settings: Settings) -> Iterator[ExportService]:
    """The service as the test's own client (it queues without sending to workers)."""
    service = ExportService(app_settings)
    yield service
    service.engine.dispose()


def spec(n: int = 0, data_type: str = "orders", fmt: str = "csv") -> ExportSpec:
    """A distinct spec per n, so the service's dedupe never merges two of them."""
    day = datetime.now(UTC).date()
    return ExportSpec(data_type, ("order_number", "total") if data_type == "orders" else ("sku",),
                      format=fmt, date_range="custom", date_from=day - timedelta(days=n + 1),
                      date_to=day)


def queued(svc: ExportService, n: int, name: str, export: ExportSpec | None = None,
           **kwargs: object) -> ExportJob:
    job, created = svc.submit(ORG, export or spec(n, **kwargs), USER, name)  # type: ignore[arg-type]
    assert created
    return job


def running(svc: ExportService, n: int, name: str, done: int, total: int,
            export: ExportSpec | None = None) -> ExportJob:
    job = queued(svc, n, name, export)
    with db.org_session(svc.engine, ORG) as s:
        assert store_jobs.claim(s, job.id, "test-worker") is not None
        store_jobs.report_progress(s, job.id, done, total, "test-worker")
    return svc.job(ORG, str(job.id))


def completed(svc: ExportService, n: int, name: str, rows: int, seconds: float,
              export: ExportSpec | None = None) -> ExportJob:
    job = running(svc, n, name, rows, rows, export)
    with db.org_session(svc.engine, ORG) as s:
        store_jobs.complete(s, job.id, f"{ORG}/{uuid.uuid4().hex}.csv", "orders.csv", rows,
                            123_456, "ab" * 32, seconds, worker="test-worker")
    return svc.job(ORG, str(job.id))


def failed(svc: ExportService, n: int, name: str, done: int, total: int,
           export: ExportSpec | None = None) -> ExportJob:
    job = running(svc, n, name, done, total, export)
    with db.org_session(svc.engine, ORG) as s:
        store_jobs.fail(s, job.id, "TIMEOUT", "Timeout after 5m", done, worker="test-worker")
    return svc.job(ORG, str(job.id))
