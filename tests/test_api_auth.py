"""Who may use the REST API, and what holds on every route: each refuses a missing, wrong
or revoked token; tokens are stored only as hashes and revoking one works at once; an org
never sees or changes another org's templates, jobs or files; unknown routes and methods
answer in the one error shape, which the OpenAPI document names for every route; the
API's enums mirror the core's; and the api package never talks SQL itself.
"""

from __future__ import annotations

import typing
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api import models
from exporter import tokens
from exporter.jobs import ExportService
from exporter.models import STATUSES
from exporter.spec import RANGES
from tests.api_helpers import *  # noqa: F403  (the fixtures)
from tests.api_helpers import (
    BASE,
    ID_ROUTES,
    ROUTES,
    call,
    completed_job,
    is_error,
    new_job,
    new_template,
    token_org,
)

# Auth


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("case", ["none", "wrong", "malformed", "not bearer", "revoked"])
def test_every_route_refuses_a_missing_wrong_or_revoked_token(
        client: TestClient, service: ExportService, method: str, path: str, body: Any,
        case: str) -> None:
    plain, row = tokens.create(service.engine, 1, "soon revoked")
    tokens.revoke(service.engine, 1, str(row.id))
    headers = {"none": {}, "wrong": {"Authorization": "Bearer dex_" + "A" * 40},
               "malformed": {"Authorization": "Bearer nonsense"},
               "not bearer": {"Authorization": f"Basic {plain}"},
               "revoked": {"Authorization": f"Bearer {plain}"}}[case]
    response = call(client, method, path, body, headers, template=str(uuid.uuid4()),
                    job=str(uuid.uuid4()))
    assert is_error(response, 401, "UNAUTHENTICATED")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_valid_token_is_accepted_and_its_use_recorded(
        client: TestClient, service: ExportService, org1: dict[str, str]) -> None:
    response = client.get(f"{BASE}/jobs", headers=org1)
    assert response.status_code == 200
    assert response.json() == {"total": 0, "limit": 50, "offset": 0, "jobs": []}
    [row] = tokens.list_tokens(service.engine, 1)
    assert row.last_used_at is not None and row.revoked_at is None


def test_a_token_is_stored_only_as_its_hash(service: ExportService, admin: Engine) -> None:
    plain, row = tokens.create(service.engine, 3, "hash check")
    assert tokens.TOKEN_RE.fullmatch(plain) and row.prefix == plain[:8]
    with admin.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, prefix FROM export.api_tokens")).one()
    assert stored == (tokens.hash_token(plain), plain[:8])
    assert token_org(service.engine, plain) == 3


def test_revoking_works_at_once_and_only_within_the_org(
        client: TestClient, service: ExportService) -> None:
    plain, row = tokens.create(service.engine, 1, "to revoke")
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get(f"{BASE}/templates", headers=headers).status_code == 200
    with pytest.raises(Exception, match="not found"):
        tokens.revoke(service.engine, 2, str(row.id))
    assert client.get(f"{BASE}/templates", headers=headers).status_code == 200
    tokens.revoke(service.engine, 1, str(row.id))
    assert is_error(client.get(f"{BASE}/templates", headers=headers), 401, "UNAUTHENTICATED")
    assert tokens.list_tokens(service.engine, 2) == []




# Orgs


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_another_orgs_objects_are_not_found_on_every_route(
        client: TestClient, service: ExportService, org1: dict[str, str],
        org2: dict[str, str], method: str, path: str, body: Any) -> None:
    template = new_template(client, org1)
    job = completed_job(client, org1, service)
    before = client.get(f"{BASE}/jobs/{job['id']}", headers=org1).json()
    response = call(client, method, path, body, org2, template=template, job=job["id"])
    assert is_error(response, 404, "NOT_FOUND")
    # nothing of org 1 changed, and org 2 got nothing
    assert client.get(f"{BASE}/templates/{template}", headers=org1).json()["name"] == "Weekly"
    assert client.get(f"{BASE}/jobs/{job['id']}", headers=org1).json() == before
    assert client.get(f"{BASE}/jobs", headers=org2).json()["total"] == 0
    assert client.get(f"{BASE}/templates", headers=org2).json() == {"templates": []}


def test_lists_show_only_the_callers_org(client: TestClient, org1: dict[str, str],
                                         org2: dict[str, str]) -> None:
    new_template(client, org1, "Mine")
    new_job(client, org1)
    assert client.get(f"{BASE}/templates", headers=org2).json() == {"templates": []}
    assert client.get(f"{BASE}/jobs", headers=org2).json()["jobs"] == []


# Errors and the document


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: TestClient,
                                                              org1: dict[str, str]) -> None:
    assert is_error(client.get(f"{BASE}/nothing", headers=org1), 404, "NOT_FOUND")
    response = client.patch(f"{BASE}/jobs", headers=org1)
    assert is_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_the_openapi_document_describes_every_route_and_error(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    operations = {(m.upper(), p.removeprefix(BASE)) for p, ops in doc["paths"].items() for m in ops}
    assert operations == {
        ("GET", "/templates"), ("POST", "/templates"), ("GET", "/templates/{template_id}"),
        ("PUT", "/templates/{template_id}"), ("DELETE", "/templates/{template_id}"),
        ("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/{job_id}"),
        ("POST", "/jobs/{job_id}/cancel"), ("POST", "/jobs/{job_id}/retry"),
        ("GET", "/jobs/{job_id}/download"), ("GET", "/files/{token}")}
    error = {"$ref": "#/components/schemas/Error"}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == error, (path, status)
            assert ("security" in op) == (not path.startswith(f"{BASE}/files")), path
            assert "422" in op["responses"], path
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert client.get("/api/docs").status_code == 200


def test_api_enums_mirror_the_core() -> None:
    assert set(typing.get_args(models.JobStatus)) == set(STATUSES)
    assert set(typing.get_args(models.DateRange)) == set(RANGES)


def test_the_api_package_calls_no_sql() -> None:
    root = Path(__file__).resolve().parent.parent / "api"
    for path in root.rglob("*.py"):
        source = path.read_text()
        assert "sqlalchemy" not in source and "psycopg" not in source, path
