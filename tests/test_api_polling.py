"""Polling job status through the API with the list cache on, as it is deployed.

A list may be reused for EXPORTER_API_CACHE_SECONDS, but a caller's own writes show at
once, a job read by id is always fresh, and a revoked token stops at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from exporter import tokens
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings
from tests.api_helpers import BASE, SPEC

ORG = 51
CACHE_SECONDS = 0.5


@pytest.fixture(scope="module")
def service(rt_settings: Settings) -> Iterator[ExportService]:
    settings = dataclasses.replace(rt_settings, api_cache_seconds=CACHE_SECONDS, dedupe_seconds=0)
    prepare_database(settings)
    svc = ExportService(settings)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def client(service: ExportService, admin_engine: Engine) -> Iterator[TestClient]:
    with admin_engine.begin() as conn:
        conn.execute(text("DELETE FROM export.export_jobs WHERE org_id = :org"), {"org": ORG})
    with TestClient(create_app(service)) as client:
        yield client


@pytest.fixture
def headers(service: ExportService) -> dict[str, str]:
    plain, _ = tokens.create(service.engine, ORG, "poller")
    return {"Authorization": f"Bearer {plain}"}


def listed(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    response = client.get(f"{BASE}/jobs", headers=headers)
    assert response.status_code == 200, response.json()
    return {job["id"]: job["status"] for job in response.json()["jobs"]}


def test_the_callers_own_writes_show_at_once(client: TestClient,
                                             headers: dict[str, str]) -> None:
    assert listed(client, headers) == {}
    job = client.post(f"{BASE}/jobs", headers=headers, json=SPEC).json()
    assert listed(client, headers) == {job["id"]: "queued"}
    client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=headers)
    assert listed(client, headers) == {job["id"]: "cancelled"}
    again = client.post(f"{BASE}/jobs/{job['id']}/retry", headers=headers).json()
    assert listed(client, headers) == {job["id"]: "cancelled", again["id"]: "queued"}


def test_a_change_made_elsewhere_shows_within_the_cache_time(
        client: TestClient, headers: dict[str, str], admin_engine: Engine) -> None:
    job = client.post(f"{BASE}/jobs", headers=headers, json=SPEC).json()
    assert listed(client, headers) == {job["id"]: "queued"}
    changed = time.monotonic()
    with admin_engine.begin() as conn:  # as a worker would
        conn.execute(text("UPDATE export.export_jobs SET status = 'running' WHERE id = :id"),
                     {"id": job["id"]})
    assert client.get(f"{BASE}/jobs/{job['id']}", headers=headers).json()["status"] == "running"
    while listed(client, headers)[job["id"]] != "running":
        assert time.monotonic() - changed < CACHE_SECONDS + 0.5, "the list stayed stale"
        time.sleep(0.05)


def test_a_revoked_token_stops_at_once_while_lists_are_cached(
        client: TestClient, service: ExportService) -> None:
    plain, row = tokens.create(service.engine, ORG, "to revoke")
    headers = {"Authorization": f"Bearer {plain}"}
    listed(client, headers)
    tokens.revoke(service.engine, ORG, str(row.id))
    response = client.get(f"{BASE}/jobs", headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"
