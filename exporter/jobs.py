"""The service layer that pages, the REST API and the CLI call: templates, jobs, downloads.

Every call names its org and runs in a session bound to it (row-level security), as the
export_app role. Queueing calls `dispatch(job_id, org_id)`, which the transport supplies
(a Dramatiq send in production), so this package never imports the broker.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine

from exporter import db, links, services, store_jobs, store_maintenance, store_templates
from exporter.catalog import Catalog, load_catalog
from exporter.errors import ExportError
from exporter.formats import WRITERS
from exporter.models import ExportJob, ExportTemplate
from exporter.settings import Settings
from exporter.spec import ExportSpec, check
from exporter.storage import Storage, make_storage

Dispatch = Callable[[str, int], None]


def no_dispatch(job_id: str, org_id: int) -> None:
    """For callers that only read; a periodic sweep sends queued jobs anyway."""


@dataclass(frozen=True)
class Download:
    stream: BinaryIO
    file_name: str
    size: int
    media_type: str


def secret_key(settings: Settings) -> str:
    """The link-signing secret: the setting, else one generated once under home."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        temp.write_text(secrets.token_urlsafe(32))
        temp.chmod(0o600)
        temp.replace(path)
    return path.read_text().strip()


def storage_for(settings: Settings) -> Storage:
    root = Path(settings.storage_root) if settings.storage_root else settings.home / "exports"
    return make_storage(settings.storage, root, settings.s3_bucket, settings.s3_prefix,
                        settings.s3_endpoint, settings.s3_region)


def prepare_database(settings: Settings) -> None:
    """Apply migrations as the admin role (idempotent, ~10 ms when up to date)."""
    db.upgrade(services.database_url(settings), settings.app_db_password)


def app_engine(settings: Settings) -> Engine:
    url = settings.app_database_url or db.app_url(services.database_url(settings),
                                                  settings.app_db_password)
    return db.make_engine(url, pool_size=5, max_overflow=5)


class ExportService:
    """Templates, jobs and downloads of any org, through one engine and storage."""

    def __init__(self, settings: Settings, engine: Engine | None = None,
                 storage: Storage | None = None, dispatch: Dispatch = no_dispatch) -> None:
        self.settings = settings
        self.engine = engine or app_engine(settings)
        self.storage = storage or storage_for(settings)
        self.dispatch = dispatch
        self.catalog: Catalog = load_catalog(settings.catalog or None)

    # Templates
    def templates(self, org: int) -> list[ExportTemplate]:
        with db.org_session(self.engine, org) as s:
            return store_templates.list_templates(s)

    def template(self, org: int, template_id: str) -> ExportTemplate:
        with db.org_session(self.engine, org) as s:
            return store_templates.get_template(s, template_id)

    def create_template(self, org: int, name: str, spec: ExportSpec,
                        user: str | None = None) -> ExportTemplate:
        with db.org_session(self.engine, org) as s:
            return store_templates.create_template(s, name, spec, user, self.catalog)

    def update_template(self, org: int, template_id: str, name: str | None = None,
                        spec: ExportSpec | None = None) -> ExportTemplate:
        with db.org_session(self.engine, org) as s:
            return store_templates.update_template(s, template_id, name=name, spec=spec,
                                                   catalog=self.catalog)

    def delete_template(self, org: int, template_id: str) -> None:
        with db.org_session(self.engine, org) as s:
            store_templates.delete_template(s, template_id)

    # Jobs
    def submit(self, org: int, spec: ExportSpec, user: str | None = None,
               name: str | None = None, template_id: str | None = None
               ) -> tuple[ExportJob, bool]:
        """Validate and queue an export; (job, False) when it repeats one just queued."""
        check(spec, self.catalog, WRITERS)
        label = name or f"{self.catalog.types[spec.data_type].label} export"
        with db.org_session(self.engine, org) as s:
            tid = uuid.UUID(template_id) if template_id else None
            job, created = store_jobs.submit(s, spec, label, user, tid,
                                             self.settings.dedupe_seconds,
                                             self.settings.max_attempts)
        if created:
            self.wake(org)
        return job, created

    def export_now(self, org: int, template_id: str, user: str | None = None
                   ) -> tuple[ExportJob, bool]:
        """Queue a template's export at once and mark the template used."""
        with db.org_session(self.engine, org) as s:
            template = store_templates.touch_template(s, template_id)
            spec, name = store_templates.spec_of(template), template.name
        return self.submit(org, spec, user, name, str(template.id))

    def export_template(self, org: int, template_id: str, user: str | None = None,
                        name: str | None = None) -> tuple[ExportJob, bool]:
        """export_now under a job name of the caller's choosing (default: the template's)."""
        if name is None:
            return self.export_now(org, template_id, user)
        with db.org_session(self.engine, org) as s:
            template = store_templates.touch_template(s, template_id)
            spec = store_templates.spec_of(template)
        return self.submit(org, spec, user, name, str(template.id))

    def jobs(self, org: int, **filters: Any) -> tuple[list[ExportJob], int, dict[uuid.UUID, int]]:
        """Jobs newest first, the total matching, and queue positions of queued ones."""
        with db.org_session(self.engine, org) as s:
            # One snapshot for all three: else a job listed as queued may have started by
            # the time positions are counted, and shows no place in the queue.
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            jobs, total = store_jobs.list_jobs(s, **filters)
            return jobs, total, store_jobs.positions(s)

    def job(self, org: int, job_id: str) -> ExportJob:
        with db.org_session(self.engine, org) as s:
            return store_jobs.get_job(s, job_id)

    def position(self, org: int, job: ExportJob) -> int | None:
        with db.org_session(self.engine, org) as s:
            return store_jobs.position(s, job)

    def cancel(self, org: int, job_id: str) -> ExportJob:
        with db.org_session(self.engine, org) as s:
            job = store_jobs.request_cancel(s, job_id)
        self.wake(org)
        return job

    def retry(self, org: int, job_id: str, user: str | None = None) -> ExportJob:
        with db.org_session(self.engine, org) as s:
            job = store_jobs.retry(s, job_id, user, self.settings.dedupe_seconds)
        self.wake(org)
        return job

    def clear_completed(self, org: int) -> int:
        with db.org_session(self.engine, org) as s:
            return store_jobs.clear_completed(s)

    def wake(self, org: int) -> None:
        """Send the jobs of an org that may start now to the workers."""
        with db.org_session(self.engine, org) as s:
            ready = store_jobs.next_in_line(s, self.settings.max_running)
        for job_id in ready:
            self.dispatch(str(job_id), org)

    # Downloads
    def download_link(self, org: int, job_id: str) -> tuple[str, datetime]:
        """A signed token for a completed job's file, valid until its link expires."""
        job = self.job(org, job_id)
        if job.status != "completed" or not job.file_key or not job.expires_at:
            raise ExportError("FILE_NOT_READY", f"The export is {job.status}; there is no file "
                              "to download", "status")
        _refuse_if_expired(job.expires_at)
        token = links.sign(secret_key(self.settings), org, str(job.id), job.file_key,
                           job.expires_at)
        return token, job.expires_at

    def open_download(self, token: str) -> Download:
        """The file a token names, streamed from storage, after checking the job still
        holds that file (a cleaned-up file is gone even if a token is valid)."""
        claims = links.verify(secret_key(self.settings), token)
        job = self.job(claims.org_id, claims.job_id)
        if job.file_key != claims.key or job.status != "completed":
            raise links.LinkError("LINK_INVALID", "This download link is not valid.")
        # the job's expiry may have been brought forward since the token was signed
        _refuse_if_expired(job.expires_at)
        media = WRITERS[job.spec.get("format", "csv")].SPEC.media_type
        return Download(self.storage.open(job.file_key), job.file_name or "export",
                        self.storage.size(job.file_key), media)

    # Upkeep (workers)
    def sweep(self) -> dict[str, int]:
        """Reap jobs of dead workers, then (re)send every job that may start now."""
        reaped = store_maintenance.reap_stale(self.engine, self.settings.stale_seconds)
        ready = store_maintenance.dispatchable(self.engine, self.settings.max_running)
        for job_id, org in ready:
            self.dispatch(str(job_id), org)
        return {"reaped": len(reaped), "dispatched": len(ready)}

    def cleanup(self, now: datetime | None = None) -> dict[str, int]:
        """Delete files whose links expired and jobs past their keep time."""
        keys, deleted = store_maintenance.cleanup(self.engine, now, self.settings.keep_days)
        for key in keys:
            self.storage.delete(key)
        return {"files": len(keys), "jobs": deleted}


def _refuse_if_expired(expires_at: datetime | None) -> None:
    """The one expiry check of a job's download, for signing a link and for using one."""
    if expires_at is None or expires_at <= datetime.now(UTC):
        when = f" on {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        raise links.LinkError("LINK_EXPIRED", f"This export's download expired{when}.")


def link_expiry(completed: datetime, settings: Settings) -> datetime:
    return completed + timedelta(days=settings.link_days)
