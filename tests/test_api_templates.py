"""Saved export templates through the REST API (api/routes/templates.py): one is created,
listed, read, replaced and deleted; a name is unique within an org only; an invalid
template is refused with the code and field of the rule it broke, and nothing is saved;
and a body that is not JSON is a validation error in the same shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import *  # noqa: F403  (the fixtures)
from tests.api_helpers import BASE, SPEC, is_error, new_template


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
