"""create_app: the FastAPI application over one ExportService.

The service carries the transport (its dispatch sends jobs to workers), so tests pass
a service whose dispatch only records, and api.main passes the Dramatiq one. Job status
reads go through their own async pool (exporter.job_status), made when the app starts
and closed when it stops (use TestClient as a context manager), and job lists through a short cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.cache import ListCache
from api.models import JOB_COLUMNS
from api.routes import PREFIX, files, jobs, templates
from exporter import services
from exporter.job_status import JobStatusReads
from exporter.jobs import ExportService

DESCRIPTION = """\
Export ERP data as CSV, XLSX, JSON or XML files, in the background, per organisation.

Every route but `/files/{token}` needs an API token of the organisation
(`Authorization: Bearer dex_...`, made with `exporter tokens create`); a request sees
only its organisation's templates and jobs. Download links are signed and expire with
the file. Every error is `{"code", "message", "field"}`. A job list may be up to
EXPORTER_API_CACHE_SECONDS (0.5 s) older than the database, as progress is written
about once a second anyway; a job read by id is always fresh.
"""


def create_app(service: ExportService) -> FastAPI:
    url = services.libpq_url(service.engine.url.render_as_string(hide_password=False))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a pool per start: it belongs to the event loop that serves this run of the app
        app.state.reads = JobStatusReads(url, JOB_COLUMNS, pool_size=service.settings.api_pool)
        await app.state.reads.open()
        yield
        await app.state.reads.close()

    app = FastAPI(title="Data Export API", version="1.0", description=DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
                  swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect", lifespan=lifespan)
    app.state.service = service
    app.state.job_lists = ListCache(service.settings.api_cache_seconds)
    errors.install(app)
    for module in (templates, jobs, files):
        app.include_router(module.router, prefix=PREFIX)
    return app
