"""Thin actors: plain arguments in, the exporter core does the work.

Retries are the job runner's business (it knows transient from invalid input), so
Dramatiq's own retries are off; its time limit sits above the job's own limit, which
the runner enforces by interrupting DuckDB (a C call Dramatiq cannot interrupt).
"""

from __future__ import annotations

from functools import lru_cache

import dramatiq

from exporter.jobs import ExportService
from exporter.runner import run_job
from exporter.settings import Settings
from workers import broker

SETTINGS = Settings.from_env()
broker.setup(SETTINGS)
LIMIT_MS = int((SETTINGS.job_time_limit + 120) * 1000)


@lru_cache(maxsize=1)
def service() -> ExportService:
    return ExportService(SETTINGS, dispatch=send_job)


def send_job(job_id: str, org_id: int) -> None:
    run_export_job.send(job_id, org_id)


@dramatiq.actor(queue_name="exports", max_retries=0, time_limit=LIMIT_MS)
def run_export_job(job_id: str, org_id: int) -> None:
    run_job(service(), job_id, org_id)
