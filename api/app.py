"""create_app: the FastAPI application over one ExportService.

The service carries the transport (its dispatch sends jobs to workers), so tests pass
a service whose dispatch only records, and api.main passes the Dramatiq one.
"""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routes import PREFIX, files, jobs, templates
from exporter.jobs import ExportService

DESCRIPTION = """\
Export ERP data as CSV, XLSX, JSON or XML files, in the background, per organisation.

Every route but `/files/{token}` needs an API token of the organisation
(`Authorization: Bearer dex_...`, made with `exporter tokens create`); a request sees
only its organisation's templates and jobs. Download links are signed and expire with
the file. Every error is `{"code", "message", "field"}`.
"""


def create_app(service: ExportService) -> FastAPI:
    app = FastAPI(title="Data Export API", version="1.0", description=DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
                  swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect")
    app.state.service = service
    errors.install(app)
    for module in (templates, jobs, files):
        app.include_router(module.router, prefix=PREFIX)
    return app
