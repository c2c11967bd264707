"""The deployed API: `app` built from Settings.from_env(), sending jobs to Dramatiq.

Run it with `exporter api [--workers N]` (or `uvicorn api.main:app`). Importing this module migrates
the database; the broker is reached when the first job is sent. Tests use
api.app.create_app with a service of their own instead.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from api.app import create_app
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings

log = logging.getLogger("api")


def dispatch(job_id: str, org_id: int) -> None:
    """workers.actors.send_job, imported at the first send: the actors module brings the
    export engine (DuckDB, ~30 MB) that an API process only needs if it queues jobs."""
    # The job is already queued in the database and the workers' sweep sends queued
    # jobs again, so a broker hiccup must not fail the request.
    try:
        from workers.actors import send_job

        send_job(job_id, org_id)
    except Exception:
        log.exception("could not send job %s to the workers; the sweep will", job_id)


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    prepare_database(settings)
    return create_app(ExportService(settings, dispatch=dispatch))


app = build()
