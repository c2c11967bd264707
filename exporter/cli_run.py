"""`exporter run`: the whole product on one machine (what `make run` calls).

Starts (or reuses) Postgres and Redis, applies migrations, seeds demo data on first run,
then runs the workers, the REST API and the Streamlit app as child processes until
Ctrl-C, when every child is stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import psycopg
from sqlalchemy.engine import make_url

from exporter import demo, demo_jobs, services
from exporter.cli import main, reports_errors
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def reader_url(admin_url: str) -> str:
    """The demo source as erp_reader, a role Postgres row-level security binds."""
    url = make_url(admin_url).set(username="erp_reader", password="erp_reader")
    return services.libpq_url(url.render_as_string(hide_password=False))


def seed_demo(settings: Settings, orders: int, orgs: int) -> None:
    with psycopg.connect(services.libpq_url(services.database_url(settings))) as conn:
        demo.ensure_schema(conn)
        if not demo.has_data(conn):
            click.echo(f"seeding demo ERP data: {orders:,} orders over {orgs} orgs ...", err=True)
            demo.seed(conn, orders=orders, orgs=orgs)
    svc = ExportService(settings)
    for org in range(1, orgs + 1):
        demo_jobs.add_examples(svc, org)
        demo_jobs.seed_history(svc, org)
    svc.engine.dispose()


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


@main.command()
@click.option("--orders", default=20_000, show_default=True, help="Demo orders on first run")
@click.option("--orgs", default=3, show_default=True, help="Demo organisations on first run")
@click.option("--port", default=8501, show_default=True, help="Port of the app")
@click.option("--api-port", default=8502, show_default=True, help="Port of the REST API")
@click.option("--workers", default=2, show_default=True, help="Worker processes")
@reports_errors
def run(orders: int, orgs: int, port: int, api_port: int, workers: int) -> None:
    """The app, REST API and workers, with embedded Postgres and Redis and demo data."""
    settings = Settings.from_env()
    urls = services.start(settings)
    prepare_database(settings)
    env = {**os.environ, **urls, "EXPORTER_HOME": str(settings.home.resolve()),
           "EXPORTER_API_URL": f"http://127.0.0.1:{api_port}"}
    if not settings.source_url and not settings.database_url:
        env["EXPORTER_SOURCE_URL"] = reader_url(urls["EXPORTER_DATABASE_URL"])
    seed_demo(Settings.from_env(env), orders, orgs)
    python = sys.executable
    children = [
        _start([python, "-m", "exporter.cli", "worker", "--processes", str(workers),
                "--threads", "4"], env),
        _start([python, "-m", "exporter.cli", "api", "--host", "127.0.0.1",
                "--port", str(api_port)], env),
        _start([python, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                str(port), "--server.address", "127.0.0.1", "--server.headless", "true"], env),
    ]
    stop = {"now": False}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.update(now=True))
    click.echo(f"\nData Export is running:\n  app  http://127.0.0.1:{port}\n"
               f"  API  http://127.0.0.1:{api_port}/api/docs\nCtrl-C stops everything.\n")
    try:
        while not stop["now"] and all(c.poll() is None for c in children):
            time.sleep(0.5)
    finally:
        click.echo("stopping ...", err=True)
        _stop(children)
    failed = [" ".join(map(str, c.args[2:4])) for c in children  # type: ignore[index]
              if c.returncode not in (0, -signal.SIGTERM, None) and not stop["now"]]
    if failed:
        raise SystemExit(f"a child process ended unexpectedly: {failed}")
