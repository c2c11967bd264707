"""Downloads through the REST API (the download route of api/routes/jobs.py, and
api/routes/files.py): a completed job's signed link serves its file without an API token,
whole or as one byte range, refusing unsatisfiable ranges and ignoring those it does not
serve; a job without a file has no link; and a link that expired, was tampered with,
names another org, or whose file or job is gone is refused with its own error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from exporter import links
from exporter.jobs import ExportService
from exporter.settings import Settings
from tests.api_helpers import *  # noqa: F403  (the fixtures)
from tests.api_helpers import BASE, completed_job, file_url, is_error, new_job


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
