"""Schemathesis against the API's own OpenAPI document, with a valid token: generated
requests (valid and invalid) never get a 5xx, and every response conforms to the
document (status, content type, headers, body). Bounded to ~25 examples per operation
and mode, so the whole run stays well under a minute and a half.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

from api.app import create_app
from exporter import db, tokens
from exporter.jobs import ExportService, prepare_database
from exporter.runner import run_job
from exporter.settings import Settings
from exporter.spec import ExportSpec
from tests.api_helpers import BASE, SPEC, TABLES

EXAMPLES = 25
# Not negative_data_rejection: our fixed Authorization header undoes its "missing
# header" cases, and unknown query parameters are ignored, as HTTP APIs usually do.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))


@dataclasses.dataclass
class World:
    schema: Any
    headers: dict[str, str]
    ids: dict[str, str]  # path parameter -> an id of an existing object


@pytest.fixture(scope="module")
def world(rt_settings: Settings, database_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings_ = dataclasses.replace(rt_settings, storage="local", secret_key="schema-secret",
                                    storage_root=str(tmp_path_factory.mktemp("files")))
    prepare_database(settings_)
    admin = db.make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES}"))
    admin.dispose()
    svc = ExportService(settings_, dispatch=lambda job_id, org: None)
    spec = ExportSpec.from_dict(SPEC)
    template = svc.create_template(1, "Weekly", spec)
    done, _ = svc.submit(1, spec, "schema")
    assert run_job(svc, str(done.id), 1) == "completed"
    cancelled, _ = svc.submit(1, ExportSpec.from_dict({**SPEC, "format": "json"}), "schema")
    svc.cancel(1, str(cancelled.id))
    svc.submit(1, ExportSpec.from_dict({**SPEC, "format": "xml"}), "schema")  # stays queued
    token, _ = svc.download_link(1, str(done.id))
    plain, _ = tokens.create(svc.engine, 1, "schemathesis")
    app = create_app(svc)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    yield World(schema, {"Authorization": f"Bearer {plain}"},
                {"template_id": str(template.id), "job_id": str(done.id), "token": token})
    svc.engine.dispose()


def run(operation: Any, headers: dict[str, str], **strategy: Any) -> None:
    @given(case=operation.as_strategy(**strategy))
    @BOUNDED
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def operations(world: World) -> list[Any]:
    return [result.ok() for result in world.schema.get_all_operations()]


def test_the_document_lists_every_operation(world: World) -> None:
    assert len(operations(world)) == 12


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
def test_generated_requests_get_no_5xx_and_conforming_responses(
        world: World, mode: schemathesis.GenerationMode) -> None:
    for operation in operations(world):
        run(operation, world.headers, generation_mode=mode)


def test_requests_on_existing_objects_conform_too(world: World) -> None:
    """Random ids are all 404s; here the path names real objects (a template, a completed
    job, a live download link), so the success responses are checked as well."""
    for operation in operations(world):
        names = {p.name for p in operation.path_parameters}
        fixed = {name: world.ids[name] for name in names if name in world.ids}
        if fixed and operation.method.upper() != "DELETE":
            run(operation, world.headers, path_parameters=fixed)


def test_successful_responses_conform(world: World) -> None:
    """One valid request per operation and outcome, checked against the document."""
    schema, headers = world.schema, world.headers

    def call(method: str, path: str, status: int, **case: Any) -> Any:
        operation = schema[BASE + path][method]
        response = operation.Case(**case).call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == status, response.text
        json_body = response.headers.get("content-type", [""])[0] == "application/json"
        return response.json() if json_body and response.content else None

    template = call("POST", "/templates", 201, body={"name": "Schema", **SPEC})["id"]
    call("GET", "/templates", 200)
    call("GET", "/templates/{template_id}", 200, path_parameters={"template_id": template})
    call("PUT", "/templates/{template_id}", 200, path_parameters={"template_id": template},
         body={"name": "Schema 2", **SPEC, "format": "xlsx"})
    job = call("POST", "/jobs", 201, body={**SPEC, "fields": ["code"], "name": "S"})["id"]
    call("POST", "/jobs", 200, body={**SPEC, "fields": ["code"], "name": "S"})
    call("POST", "/jobs", 201, body={"template_id": template})
    call("GET", "/jobs", 200, query={"status": "queued", "limit": 2, "offset": 1})
    call("GET", "/jobs/{job_id}", 200, path_parameters={"job_id": job})
    call("POST", "/jobs/{job_id}/cancel", 200, path_parameters={"job_id": job})
    call("POST", "/jobs/{job_id}/retry", 201, path_parameters={"job_id": job})
    link = call("GET", "/jobs/{job_id}/download", 200,
                path_parameters={"job_id": world.ids["job_id"]})
    token = link["url"].rsplit("/", 1)[1]
    call("GET", "/files/{token}", 200, path_parameters={"token": token})
    call("GET", "/files/{token}", 206, path_parameters={"token": token},
         headers={"Range": "bytes=0-9"})
    call("GET", "/files/{token}", 416, path_parameters={"token": token},
         headers={"Range": "bytes=99999-"})
    call("DELETE", "/templates/{template_id}", 204, path_parameters={"template_id": template})
