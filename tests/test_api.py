"""The REST API over a real ExportService and Postgres: every route, auth, orgs, errors,
download links and byte ranges. Workers are not involved: the service's dispatch only
records what it would send, and jobs are run in-process with exporter.runner.run_job.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api import models
from api.app import create_app
from exporter import db, links, tokens
from exporter.jobs import ExportService, prepare_database
from exporter.models import STATUSES
from exporter.runner import run_job
from exporter.settings import Settings
from exporter.spec import RANGES

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
def admin(api_settings: Settings, database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


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
    assert tokens.resolve(service.engine, plain) == 3


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


# Templates


def test_templates_can_be_created_listed_read_replaced_and_deleted(
        client: TestClient, org1: dict[str, str]) -> None:
    created = client.post(f"{BASE}/templates", headers=org1, json={"name": "Weekly", **SPEC})
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in SPEC} == SPEC and body["format"] == "csv"
    assert body["created_by"].startswith("api:dex_") and body["last_used_at"] is None
    url = f"{BASE}/templates/{body['id']}"
    assert client.get(url, headers=org1).json() == body
    listed = client.get(f"{BASE}/templates", headers=org1).json()
    assert listed == {"templates": [body]}
    replaced = client.put(url, headers=org1, json={"name": "Monthly", **SPEC, "format": "json",
                                                   "fields": ["code"]})
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["format"]) == ("Monthly", "json")
    assert client.get(url, headers=org1).json()["fields"] == ["code"]
    deleted = client.delete(url, headers=org1)
    assert deleted.status_code == 204 and deleted.content == b""
    assert is_error(client.get(url, headers=org1), 404, "NOT_FOUND")
    assert is_error(client.delete(url, headers=org1), 404, "NOT_FOUND")


def test_a_taken_template_name_is_a_conflict(client: TestClient, org1: dict[str, str],
                                             org2: dict[str, str]) -> None:
    first = new_template(client, org1, "Weekly")
    again = client.post(f"{BASE}/templates", headers=org1, json={"name": "Weekly", **SPEC})
    assert is_error(again, 409, "TEMPLATE_NAME_TAKEN", "name")
    other = new_template(client, org1, "Other")
    renamed = client.put(f"{BASE}/templates/{other}", headers=org1, json={"name": "Weekly", **SPEC})
    assert is_error(renamed, 409, "TEMPLATE_NAME_TAKEN", "name")
    assert new_template(client, org2, "Weekly") != first  # names are unique per org only


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"fields": ["code", "salary"]}, "UNKNOWN_FIELD", "fields"),
    ({"data_type": "payroll"}, "UNKNOWN_DATA_TYPE", "data_type"),
    ({"format": "pdf"}, "UNKNOWN_FORMAT", "format"),
    ({"date_range": "custom", "date_from": "2026-01-01", "date_to": "2027-06-01"},
     "DATE_RANGE_TOO_LONG", "date_range"),
    ({"name": "  "}, "NAME_REQUIRED", "name"),
    ({"name": "x" * 101}, "INVALID_REQUEST", "name"),
    ({"date_range": "yesterday"}, "INVALID_REQUEST", "date_range"),
    ({"fields": "code"}, "INVALID_REQUEST", "fields"),
    ({"colour": "red"}, "INVALID_REQUEST", "colour"),
    ({"name": "nul\x00byte"}, "INVALID_REQUEST", "name"),
    ({"options": {"delimiter": "\x00"}}, "INVALID_REQUEST", "options"),
])
def test_an_invalid_template_is_refused_with_the_rule_that_failed(
        client: TestClient, org1: dict[str, str], change: dict[str, Any], code: str,
        field: str) -> None:
    body = {"name": "Weekly", **SPEC, **change}
    assert is_error(client.post(f"{BASE}/templates", headers=org1, json=body), 422, code, field)
    assert client.get(f"{BASE}/templates", headers=org1).json() == {"templates": []}


def test_a_body_that_is_not_json_is_a_validation_error(client: TestClient,
                                                       org1: dict[str, str]) -> None:
    response = client.post(f"{BASE}/templates", headers={**org1, "Content-Type": "application/json"},
                           content=b"{not json")
    assert is_error(response, 422, "INVALID_REQUEST")


# Jobs


def test_starting_a_job_queues_it_and_sends_it_to_the_workers(
        client: TestClient, org1: dict[str, str], sent: Sent) -> None:
    job = new_job(client, org1, name="For accounting")
    assert job["status"] == "queued" and job["created"] is True and job["position"] == 1
    assert job["name"] == "For accounting" and job["spec"]["statuses"] == ["a", "c"]
    assert sent == [(job["id"], 1)]
    repeated = client.post(f"{BASE}/jobs", headers=org1, json={**SPEC, "name": "For accounting"})
    assert repeated.status_code == 200
    assert repeated.json()["id"] == job["id"] and repeated.json()["created"] is False
    assert sent == [(job["id"], 1)]


def test_a_job_can_start_from_a_template(client: TestClient, org1: dict[str, str]) -> None:
    template = new_template(client, org1, "Weekly")
    response = client.post(f"{BASE}/jobs", headers=org1, json={"template_id": template})
    assert response.status_code == 201
    job = response.json()
    assert (job["template_id"], job["name"]) == (template, "Weekly")
    assert {k: job["spec"][k] for k in SPEC} == SPEC
    assert client.get(f"{BASE}/templates/{template}", headers=org1).json()["last_used_at"]
    repeated = client.post(f"{BASE}/jobs", headers=org1, json={"template_id": template})
    assert repeated.status_code == 200 and repeated.json()["id"] == job["id"]


def test_a_job_from_a_template_may_be_named(client: TestClient, org1: dict[str, str]) -> None:
    template = new_template(client, org1, "Weekly")
    response = client.post(f"{BASE}/jobs", headers=org1,
                           json={"template_id": template, "name": "Ad hoc"})
    assert response.status_code == 201 and response.json()["name"] == "Ad hoc"


@pytest.mark.parametrize(("body", "code", "field"), [
    ({}, "INVALID_REQUEST", None),
    ({"template_id": str(uuid.uuid4()), "data_type": "items"}, "INVALID_REQUEST", None),
    ({"template_id": "not-a-uuid"}, "INVALID_REQUEST", "template_id"),
    ({"template_id": str(uuid.uuid4())}, "NOT_FOUND", None),
    ({**SPEC, "fields": []}, "NO_FIELDS", "fields"),
    ({**SPEC, "statuses": ["z"]}, "UNKNOWN_STATUS", "statuses"),
    ({**SPEC, "options": {"delimiter": "#"}}, "INVALID_OPTION", "options.delimiter"),
    ({**SPEC, "limit": 3}, "INVALID_REQUEST", "limit"),
])
def test_an_invalid_job_request_is_refused(client: TestClient, org1: dict[str, str],
                                           sent: Sent, body: dict[str, Any], code: str,
                                           field: str | None) -> None:
    response = client.post(f"{BASE}/jobs", headers=org1, json=body)
    assert is_error(response, 404 if code == "NOT_FOUND" else 422, code, field)
    assert sent == []


def test_jobs_are_listed_newest_first_filtered_and_paged(
        client: TestClient, org1: dict[str, str]) -> None:
    # different fields, or the repeats would be one job (dedupe)
    ids = [new_job(client, org1, fields=SPEC["fields"][: n + 1])["id"] for n in range(3)]
    client.post(f"{BASE}/jobs/{ids[0]}/cancel", headers=org1)
    everything = client.get(f"{BASE}/jobs", headers=org1).json()
    assert everything["total"] == 3 and [j["id"] for j in everything["jobs"]] == ids[::-1]
    assert [j["position"] for j in everything["jobs"]] == [2, 1, None]
    page = client.get(f"{BASE}/jobs", headers=org1, params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [j["id"] for j in page["jobs"]] == [ids[1]]
    queued = client.get(f"{BASE}/jobs", headers=org1, params={"status": "queued"}).json()
    assert {j["id"] for j in queued["jobs"]} == set(ids[1:])
    cancelled = client.get(f"{BASE}/jobs", headers=org1, params={"status": "cancelled"}).json()
    assert [j["id"] for j in cancelled["jobs"]] == [ids[0]]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1},
                                    {"status": "lost"}, {"limit": "many"}])
def test_bad_list_parameters_are_validation_errors(client: TestClient, org1: dict[str, str],
                                                   params: dict[str, Any]) -> None:
    response = client.get(f"{BASE}/jobs", headers=org1, params=params)
    assert is_error(response, 422, "INVALID_REQUEST", next(iter(params)))


def test_a_job_can_be_read(client: TestClient, org1: dict[str, str]) -> None:
    job = new_job(client, org1)
    got = client.get(f"{BASE}/jobs/{job['id']}", headers=org1).json()
    assert got["id"] == job["id"] and got["status"] == "queued" and got["position"] == 1
    assert is_error(client.get(f"{BASE}/jobs/{uuid.uuid4()}", headers=org1), 404, "NOT_FOUND")
    assert is_error(client.get(f"{BASE}/jobs/42", headers=org1), 422, "INVALID_REQUEST",
                    "job_id")


def test_cancel_then_retry_makes_a_new_queued_job(client: TestClient, org1: dict[str, str],
                                                  sent: Sent) -> None:
    job = new_job(client, org1)
    cancelled = client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=org1)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=org1)
    assert is_error(again, 409, "JOB_NOT_CANCELLABLE", "status")
    sent.clear()
    retried = client.post(f"{BASE}/jobs/{job['id']}/retry", headers=org1)
    assert retried.status_code == 201
    new = retried.json()
    assert new["id"] != job["id"] and new["status"] == "queued" and new["spec"] == job["spec"]
    assert sent == [(new["id"], 1)]
    refused = client.post(f"{BASE}/jobs/{new['id']}/retry", headers=org1)
    assert is_error(refused, 409, "JOB_NOT_RETRYABLE", "status")


def test_a_running_job_is_flagged_for_cancelling(client: TestClient, org1: dict[str, str],
                                                 service: ExportService) -> None:
    job = new_job(client, org1)
    with db.org_session(service.engine, 1) as s:
        s.execute(text("UPDATE export.export_jobs SET status = 'running' WHERE id = :id"),
                  {"id": job["id"]})
    response = client.post(f"{BASE}/jobs/{job['id']}/cancel", headers=org1).json()
    assert response["status"] == "running" and response["cancel_requested"] is True


# Downloads


def test_a_completed_job_downloads_through_its_signed_link(
        client: TestClient, org1: dict[str, str], service: ExportService) -> None:
    job = completed_job(client, org1, service)
    assert job["status"] == "completed" and job["row_count"] == 2
    link = client.get(f"{BASE}/jobs/{job['id']}/download", headers=org1).json()
    assert link["url"].startswith(f"{BASE}/files/")
    assert datetime.fromisoformat(link["expires_at"]) == datetime.fromisoformat(job["expires_at"])
    response = client.get(link["url"])  # no API token: the link is the credential
    assert response.status_code == 200
    data = service.storage.open(service.job(1, job["id"]).file_key or "").read()
    assert response.content == data and len(data) == job["bytes"] > 100
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"{job['file_name']}\"; filename*=UTF-8''{job['file_name']}")


def test_a_job_without_a_file_has_no_link(client: TestClient, org1: dict[str, str]) -> None:
    job = new_job(client, org1)
    response = client.get(f"{BASE}/jobs/{job['id']}/download", headers=org1)
    assert is_error(response, 409, "FILE_NOT_READY", "status")


@pytest.fixture
def download(client: TestClient, org1: dict[str, str], service: ExportService
             ) -> tuple[str, bytes]:
    job = completed_job(client, org1, service)
    url = file_url(client, org1, job["id"])
    return url, client.get(url).content


@pytest.mark.parametrize(("header", "part"), [
    ("bytes=0-99", slice(0, 100)),
    ("bytes=-50", slice(-50, None)),
    ("bytes=100-", slice(100, None)),
    ("bytes=10-20", slice(10, 21)),
    ("bytes=5-999999", slice(5, None)),
])
def test_a_single_range_is_served_as_partial_content(
        client: TestClient, download: tuple[str, bytes], header: str, part: slice) -> None:
    url, data = download
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 206
    expected = data[part]
    assert response.content == expected
    start = part.indices(len(data))[0]
    assert response.headers["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    assert response.headers["Content-Length"] == str(len(expected))


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(client: TestClient, download: tuple[str, bytes],
                                       header: str) -> None:
    url, data = download
    response = client.get(url, headers={"Range": header.format(size=len(data))})
    assert is_error(response, 416, "RANGE_NOT_SATISFIABLE", "Range")
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-3", "bytes=x-"])
def test_ranges_we_do_not_serve_get_the_whole_file(client: TestClient,
                                                   download: tuple[str, bytes],
                                                   header: str) -> None:
    url, data = download
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 200 and response.content == data


def test_an_expired_download_is_gone(client: TestClient, org1: dict[str, str],
                                     service: ExportService, admin: Engine) -> None:
    job = completed_job(client, org1, service)
    url = file_url(client, org1, job["id"])
    with admin.begin() as conn:
        conn.execute(text("UPDATE export.export_jobs SET expires_at = now() - interval '1 minute'"
                          " WHERE id = :id"), {"id": job["id"]})
    assert is_error(client.get(f"{BASE}/jobs/{job['id']}/download", headers=org1), 410,
                    "LINK_EXPIRED")
    assert is_error(client.get(url), 410, "LINK_EXPIRED")  # a link handed out before


def test_a_link_past_its_own_expiry_is_gone(client: TestClient, org1: dict[str, str],
                                            service: ExportService,
                                            api_settings: Settings) -> None:
    job = completed_job(client, org1, service)
    key = service.job(1, job["id"]).file_key or ""
    past = datetime.now(UTC) - timedelta(seconds=1)
    token = links.sign(api_settings.secret_key, 1, job["id"], key, past)
    assert is_error(client.get(f"{BASE}/files/{token}"), 410, "LINK_EXPIRED")


def test_a_tampered_or_foreign_link_is_not_found(client: TestClient, org1: dict[str, str],
                                                 service: ExportService,
                                                 api_settings: Settings) -> None:
    job = completed_job(client, org1, service)
    url = file_url(client, org1, job["id"])
    payload, signature = url.rsplit("/", 1)[1].split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert is_error(client.get(f"{BASE}/files/{payload}.{flipped}"), 404, "LINK_INVALID")
    assert is_error(client.get(f"{BASE}/files/not-a-token"), 404, "LINK_INVALID")
    # Signed with the real secret, but for org 2: org 2 cannot see org 1's job.
    key = service.job(1, job["id"]).file_key or ""
    later = datetime.now(UTC) + timedelta(days=1)
    foreign = links.sign(api_settings.secret_key, 2, job["id"], key, later)
    assert is_error(client.get(f"{BASE}/files/{foreign}"), 404, "NOT_FOUND")


def test_a_link_to_a_file_that_is_gone_is_gone(client: TestClient, org1: dict[str, str],
                                               service: ExportService) -> None:
    job = completed_job(client, org1, service)
    url = file_url(client, org1, job["id"])
    service.storage.delete(service.job(1, job["id"]).file_key or "")
    assert is_error(client.get(url), 410, "STORAGE_NOT_FOUND")


def test_a_link_to_a_cleaned_up_job_is_not_found(client: TestClient, org1: dict[str, str],
                                                 service: ExportService, admin: Engine) -> None:
    job = completed_job(client, org1, service)
    url = file_url(client, org1, job["id"])
    with admin.begin() as conn:  # what cleanup does once a file expired
        conn.execute(text("UPDATE export.export_jobs SET file_key = NULL WHERE id = :id"),
                     {"id": job["id"]})
    assert is_error(client.get(url), 404, "LINK_INVALID")


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
