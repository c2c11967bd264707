"""What the REST API tests share: the API's paths and a sample spec, fixtures for a real
ExportService over Postgres and a TestClient of its app, bearer tokens of two orgs, and
helpers that make templates and jobs or check the error shape. The service's dispatch
only records what it would send to the workers (Sent); jobs run in-process through
exporter.runner.run_job. A test module takes the fixtures with `import *` (pytest finds
fixtures among a module's names) and its other names explicitly; each module gets its
own module-scoped service and client, and `clean` empties the API's tables before each
of its tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from api.models import JOB_COLUMNS
from exporter import services, tokens
from exporter.job_status import JobStatusReads
from exporter.jobs import ExportService, prepare_database
from exporter.runner import run_job
from exporter.settings import Settings

T = TypeVar("T")
# What `from tests.api_helpers import *` gives a test module: the fixtures, and only them.
__all__ = ["admin", "api_settings", "clean", "client", "org1", "org2", "sent", "service"]

BASE = "/api/integrations/exports"
SPEC = {"data_type": "items", "fields": ["code", "note", "amount", "qty", "day", "made_at"],
        "date_range": "all", "statuses": ["a", "c"]}
TABLES = "export.export_jobs, export.export_templates, export.api_tokens"
# Every route that names an object, with a body where it takes one.
ID_ROUTES = [
    ("GET", "/templates/{template}", None),
    ("PUT", "/templates/{template}", {"name": "Renamed", **SPEC}),
    ("DELETE", "/templates/{template}", None),
    ("POST", "/jobs", {"template_id": "{template}"}),
    ("GET", "/jobs/{job}", None),
    ("POST", "/jobs/{job}/cancel", None),
    ("POST", "/jobs/{job}/retry", None),
    ("GET", "/jobs/{job}/download", None),
]
ROUTES = [
    ("GET", "/templates", None),
    ("POST", "/templates", {"name": "Weekly", **SPEC}),
    ("GET", "/jobs", None),
    ("POST", "/jobs", SPEC),
    *ID_ROUTES,
]


class Sent(list[tuple[str, int]]):
    """A dispatch that records the jobs it would send to the workers."""

    def __call__(self, job_id: str, org_id: int) -> None:
        self.append((job_id, org_id))


@pytest.fixture(scope="module")
def api_settings(rt_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = dataclasses.replace(rt_settings, storage="local", secret_key="api-test-secret",
                                   storage_root=str(tmp_path_factory.mktemp("files")),
                                   api_cache_seconds=0)  # lists as the database has them now
    prepare_database(settings)
    return settings


@pytest.fixture(scope="module")
def admin(api_settings: Settings, admin_engine: Engine) -> Engine:
    return admin_engine  # once api_settings has migrated the database


@pytest.fixture(scope="module")
def sent() -> Sent:
    return Sent()


@pytest.fixture(scope="module")
def service(api_settings: Settings, sent: Sent) -> Iterator[ExportService]:
    svc = ExportService(api_settings, dispatch=sent)
    yield svc
    svc.engine.dispose()


@pytest.fixture(scope="module")
def client(service: ExportService) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as client:  # one event loop: the app's pool lives on it
        yield client


@pytest.fixture(autouse=True)
def clean(admin: Engine, sent: Sent) -> None:
    with admin.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES}"))
    sent.clear()


def bearer(service: ExportService, org: int) -> dict[str, str]:
    plain, _ = tokens.create(service.engine, org, f"tests of org {org}")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def org1(service: ExportService) -> dict[str, str]:
    return bearer(service, 1)


@pytest.fixture
def org2(service: ExportService) -> dict[str, str]:
    return bearer(service, 2)


def is_error(response: Any, status: int, code: str, field: str | None = None) -> bool:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "field"} and body["message"], body
    assert body["code"] == code, body
    assert field is None or body["field"] == field, body
    return True


def new_template(client: TestClient, headers: dict[str, str], name: str = "Weekly") -> str:
    response = client.post(f"{BASE}/templates", headers=headers, json={"name": name, **SPEC})
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def new_job(client: TestClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/jobs", headers=headers, json={**SPEC, **extra})
    assert response.status_code == 201, response.json()
    return dict(response.json())


def completed_job(client: TestClient, headers: dict[str, str], service: ExportService,
                  org: int = 1) -> dict[str, Any]:
    job = new_job(client, headers)
    assert run_job(service, job["id"], org) == "completed"
    return dict(client.get(f"{BASE}/jobs/{job['id']}", headers=headers).json())


def file_url(client: TestClient, headers: dict[str, str], job_id: str) -> str:
    response = client.get(f"{BASE}/jobs/{job_id}/download", headers=headers)
    assert response.status_code == 200, response.json()
    return str(response.json()["url"])


def call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str],
         **ids: str) -> Any:
    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value.format(**ids) if isinstance(value, str) else value

    return client.request(method, BASE + path.format(**ids), json=fill(body), headers=headers)


def status_read(engine: Engine, call: Callable[[JobStatusReads], Awaitable[T]]) -> T:
    """call(reads) with the API's status reads on engine's database and role, in an event
    loop of its own."""
    async def main() -> T:
        url = services.libpq_url(engine.url.render_as_string(hide_password=False))
        reads = JobStatusReads(url, JOB_COLUMNS, pool_size=2)
        await reads.open()
        try:
            return await call(reads)
        finally:
            await reads.close()
    return asyncio.run(main())


def token_org(engine: Engine, plain: str) -> int | None:
    """The org the API takes a token for; None for a malformed, unknown or revoked one."""
    return status_read(engine, lambda reads: reads.org_for_token(plain))
