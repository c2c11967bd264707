"""Export jobs through the REST API (api/routes/jobs.py): starting one queues it and sends
it to the workers once (a repeat returns the same job), from a spec or a template; invalid
requests are refused and send nothing; lists come newest first, filtered and paged; and a
job can be read, cancelled (a running one is flagged) and retried as a new queued job.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from exporter import db
from exporter.jobs import ExportService
from tests.api_helpers import *  # noqa: F403  (the fixtures)
from tests.api_helpers import BASE, SPEC, Sent, is_error, new_job, new_template


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
