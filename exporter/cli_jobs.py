"""`exporter` commands for background jobs: db, worker, jobs, templates, cleanup.

The broker is imported only inside commands that send or run jobs, so the core stays
free of it; every command that touches an org's data takes --org.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import click

from exporter.cli import build_spec, main, reports_errors, spec_options
from exporter.jobs import ExportService, prepare_database
from exporter.models import ExportJob, ExportTemplate
from exporter.settings import Settings

FINAL = ("completed", "failed", "cancelled")
DRAMATIQ_KILLED = 1  # dramatiq.cli.RET_KILLED: one of its worker processes died


def _service(send: bool = False) -> ExportService:
    settings = Settings.from_env()
    prepare_database(settings)
    if not send:
        return ExportService(settings)
    from workers.actors import send_job

    return ExportService(settings, dispatch=send_job)


def job_dict(job: ExportJob, position: int | None = None) -> dict[str, Any]:
    keys = ("status", "name", "progress", "processed_rows", "total_rows", "eta_seconds",
            "attempts", "max_attempts", "row_count", "bytes", "sha256", "file_name",
            "error_code", "error_message", "duration_seconds")
    out: dict[str, Any] = {"id": str(job.id), **{k: getattr(job, k) for k in keys}}
    for k in ("created_at", "started_at", "completed_at", "expires_at"):
        value = getattr(job, k)
        out[k] = value.isoformat() if value else None
    out["duration_seconds"] = float(job.duration_seconds) if job.duration_seconds else None
    out["position"] = position
    out["spec"] = job.spec
    out["template_id"] = str(job.template_id) if job.template_id else None
    return out


def template_dict(t: ExportTemplate) -> dict[str, Any]:
    return {"id": str(t.id), "name": t.name, "data_type": t.data_type, "format": t.format,
            "fields": t.fields, "filters": t.filters, "options": t.options,
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None}


def _line(job: ExportJob, position: int | None) -> str:
    state = job.status + (f" #{position}" if position else "")
    rows = f"{job.processed_rows or 0:,}/{job.total_rows or 0:,}"
    error = f"  {job.error_code}: {job.error_message}" if job.error_message else ""
    return f"{job.id}  {state:<12} {job.progress or 0:>3}%  {rows:>19}  {job.name}{error}"


@main.group()
def db() -> None:
    """The app database (templates and jobs)."""


@db.command()
@reports_errors
def upgrade() -> None:
    """Apply the migrations (idempotent)."""
    prepare_database(Settings.from_env())
    click.echo("database is up to date", err=True)


@main.command()
@click.option("--processes", default=2, show_default=True, help="Worker processes")
@click.option("--threads", default=4, show_default=True, help="Threads per process")
@reports_errors
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers for exports, and the periodic sweep, until Ctrl-C."""
    from workers.sweeper import sweep_forever

    svc = _service(send=True)
    cmd = [sys.executable, "-m", "dramatiq", "workers.process", "--processes", str(processes),
           "--threads", str(threads), "--queues", "exports"]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sweeper = threading.Thread(target=sweep_forever, args=(svc, stop), daemon=True)
    sweeper.start()
    while True:
        proc = subprocess.Popen(cmd)
        click.echo(f"workers: {processes} processes x {threads} threads (pid {proc.pid})", err=True)
        while not stop.is_set() and proc.poll() is None:
            stop.wait(0.5)
        # Dramatiq stops all its processes when one of them dies (killed, out of memory) and
        # exits 1: start them again, so this host keeps running jobs and sweeping. Any other
        # exit (bad import, no broker) would only repeat itself.
        if stop.is_set() or proc.returncode != DRAMATIQ_KILLED:
            break
        click.echo("a worker process died; starting the workers again", err=True)
    stop.set()
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    sys.exit(0 if proc.returncode in (0, -15, None) else 1)


@main.group()
def jobs() -> None:
    """Export jobs of one org."""


@jobs.command()
@spec_options
@click.option("--format", "fmt", default="csv", show_default=True, help="csv, xlsx, json or xml")
@click.option("--template", "template_id", default=None, help="Run a saved template instead")
@click.option("--name", default=None, help="Name shown in the queue")
@click.option("--user", default="cli", show_default=True, help="Who submits")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def submit(data_type: str, org: int, fmt: str, template_id: str | None, name: str | None,
           user: str, as_json: bool, **filters: Any) -> None:
    """Queue an export (DATA_TYPE is ignored with --template)."""
    svc = _service(send=True)
    if template_id:
        job, created = svc.export_now(org, template_id, user)
    else:
        spec = build_spec(data_type, fmt=fmt, settings=svc.settings, **filters)
        job, created = svc.submit(org, spec, user, name)
    out = job_dict(job, svc.position(org, job))
    out["created"] = created
    click.echo(json.dumps(out) if as_json else f"{'queued' if created else 'already queued'}: {job.id}")


@jobs.command(name="list")
@click.option("--org", type=int, required=True)
@click.option("--status", default=None, help="queued, running, completed, failed, cancelled")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def list_jobs(org: int, status: str | None, limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    svc = _service()
    found, total, positions = svc.jobs(org, status=status, limit=limit, include_hidden=True)
    if as_json:
        click.echo(json.dumps({"total": total,
                               "jobs": [job_dict(j, positions.get(j.id)) for j in found]}))
        return
    for job in found:
        click.echo(_line(job, positions.get(job.id)))
    click.echo(f"showing {len(found)} of {total}", err=True)


@jobs.command()
@click.argument("job_id")
@click.option("--org", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def show(job_id: str, org: int, as_json: bool) -> None:
    """One job in full."""
    svc = _service()
    job = svc.job(org, job_id)
    data = job_dict(job, svc.position(org, job))
    click.echo(json.dumps(data) if as_json else "\n".join(f"{k}: {v}" for k, v in data.items()))


@jobs.command()
@click.argument("job_id")
@click.option("--org", type=int, required=True)
@reports_errors
def cancel(job_id: str, org: int) -> None:
    """Cancel a queued or running job."""
    job = _service(send=True).cancel(org, job_id)
    click.echo(f"{job.id}: {'cancel requested' if job.status == 'running' else job.status}")


@jobs.command()
@click.argument("job_id")
@click.option("--org", type=int, required=True)
@click.option("--user", default="cli", show_default=True)
@reports_errors
def retry(job_id: str, org: int, user: str) -> None:
    """Run a failed or cancelled job again with the same spec (a new job)."""
    job = _service(send=True).retry(org, job_id, user)
    click.echo(f"queued: {job.id}")


@jobs.command()
@click.argument("job_id")
@click.option("--org", type=int, required=True)
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def wait(job_id: str, org: int, timeout: float, as_json: bool) -> None:
    """Wait until a job ends; exit 0 if it completed, 1 otherwise."""
    svc = _service()
    deadline = time.monotonic() + timeout
    job = svc.job(org, job_id)
    while job.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.3)
        job = svc.job(org, job_id)
    click.echo(json.dumps(job_dict(job)) if as_json else _line(job, None))
    sys.exit(0 if job.status == "completed" else 1)


@main.group()
def templates() -> None:
    """Saved export templates of one org."""


@templates.command(name="list")
@click.option("--org", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def list_templates(org: int, as_json: bool) -> None:
    found = _service().templates(org)
    if as_json:
        click.echo(json.dumps([template_dict(t) for t in found]))
        return
    for t in found:
        click.echo(f"{t.id}  {t.format:<5} {len(t.fields):>2} fields  {t.name}")


@templates.command(name="create")
@spec_options
@click.option("--name", required=True, help="Template name (unique per org)")
@click.option("--format", "fmt", default="csv", show_default=True)
@click.option("--user", default="cli", show_default=True)
@reports_errors
def create_template(data_type: str, org: int, name: str, fmt: str, user: str,
                    **filters: Any) -> None:
    svc = _service()
    spec = build_spec(data_type, fmt=fmt, settings=svc.settings, **filters)
    click.echo(str(svc.create_template(org, name, spec, user).id))


@templates.command(name="delete")
@click.argument("template_id")
@click.option("--org", type=int, required=True)
@reports_errors
def delete_template(template_id: str, org: int) -> None:
    _service().delete_template(org, template_id)
    click.echo("deleted", err=True)


@main.command()
@reports_errors
def cleanup() -> None:
    """Delete expired files and jobs past their keep time (workers do this too)."""
    done = _service().cleanup()
    click.echo(f"deleted {done['files']} files, {done['jobs']} jobs", err=True)
