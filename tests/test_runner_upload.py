"""A slow upload to storage keeps the job's heartbeat going, and a cancel during it keeps
no file. Storage here is real local storage that takes a while to accept a file, as a
slow S3 multipart upload does."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from exporter.jobs import ExportService, prepare_database
from exporter.runner import run_job
from exporter.settings import Settings
from exporter.spec import ExportSpec
from exporter.storage import LocalStorage

ORG = 62  # its own org, so no other test's queued job is ahead of it (it has no items)
SPEC = {"data_type": "items", "fields": ["code", "amount"], "date_range": "all"}
UPLOAD_SECONDS = 2.5
STALE_SECONDS = 1.0


class SlowStorage(LocalStorage):
    """Local storage whose put takes UPLOAD_SECONDS; `uploading` is set while it runs."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.uploading = threading.Event()

    def put(self, org_id: int, job_id: str, file_name: str, source: Path) -> str:
        self.uploading.set()
        time.sleep(UPLOAD_SECONDS)
        return super().put(org_id, job_id, file_name, source)


@pytest.fixture
def service(rt_settings: Settings, tmp_path: Path,
            admin_engine: Engine) -> Iterator[ExportService]:
    settings = dataclasses.replace(rt_settings, stale_seconds=STALE_SECONDS, dedupe_seconds=0,
                                   progress_seconds=0.2)
    prepare_database(settings)
    with admin_engine.begin() as conn:
        conn.execute(text("DELETE FROM export.export_jobs WHERE org_id = :org"), {"org": ORG})
    svc = ExportService(settings, storage=SlowStorage(tmp_path / "files"))
    yield svc
    svc.engine.dispose()


def start(svc: ExportService) -> tuple[str, threading.Thread, list[str]]:
    job, _ = svc.submit(ORG, ExportSpec.from_dict(SPEC), "upload tests")
    outcome: list[str] = []
    runner = threading.Thread(target=lambda: outcome.append(run_job(svc, str(job.id), ORG)))
    runner.start()
    assert isinstance(svc.storage, SlowStorage)
    assert svc.storage.uploading.wait(20), f"the export never reached its upload: {outcome}"
    return str(job.id), runner, outcome


def test_a_slow_upload_is_not_taken_for_a_dead_worker(service: ExportService) -> None:
    job_id, runner, outcome = start(service)
    time.sleep(STALE_SECONDS * 1.6)  # longer than a heartbeat may be missing
    assert service.sweep()["reaped"] == 0
    assert service.job(ORG, job_id).status == "running"
    runner.join(30)
    assert outcome == ["completed"]
    done = service.job(ORG, job_id)
    assert done.status == "completed" and done.attempts == 1
    assert done.file_key and service.storage.exists(done.file_key)


def test_a_cancel_during_the_upload_keeps_no_file(service: ExportService) -> None:
    job_id, runner, outcome = start(service)
    service.cancel(ORG, job_id)
    runner.join(30)
    assert outcome == ["cancelled"]
    done = service.job(ORG, job_id)
    assert done.status == "cancelled" and done.file_key is None
    assert not [p for p in service.storage.root.rglob("*") if p.is_file()]
