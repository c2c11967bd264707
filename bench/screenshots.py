"""Take the README's screenshots of the app: docs/data-export.png (templates and a queue
with every kind of job), docs/wizard.png (the wizard's last step) and docs/empty-state.png.

It fills a scratch database of its own (demo ERP + templates and jobs frozen in each
state; no worker runs, so they stay put), starts Streamlit on it and drives Debian's
Chromium with Playwright. Run: .venv/bin/python bench/screenshots.py
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from exporter import db, demo, services  # noqa: E402
from exporter.jobs import ExportService  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.spec import ExportSpec  # noqa: E402
from tests import app_fixtures as fx  # noqa: E402
from tests.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, choose, free_port  # noqa: E402

DB = "exporter_screens"
DOCS = REPO / "docs"
EMPTY_ORG = 2
WIDTH, HEIGHT = 1360, 2200
CLIP_EMPTY = {"x": 0, "y": 0, "width": WIDTH, "height": 620}


def scratch_settings() -> tuple[Settings, str]:
    settings = Settings.from_env()
    if settings.home == Settings().home:
        settings = dataclasses.replace(settings, home=REPO / ".exporter-test")
    admin = services.database_url(settings)
    with psycopg.connect(services.libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    url = make_url(admin).set(database=DB).render_as_string(hide_password=False)
    db.upgrade(url, settings.app_db_password)
    demo.seed(services.libpq_url(url), orders=20_000, orgs=3)
    return dataclasses.replace(settings, database_url=url), admin


def fill(settings: Settings) -> None:
    """The wireframe's templates and queue, in org 3, each job frozen in its state."""
    svc = ExportService(settings)
    types = svc.catalog.types
    orders = ExportSpec("orders", tuple(f.name for f in types["orders"].fields[:11]) + ("line_items",))
    stock = ExportSpec("inventory", tuple(types["inventory"].field_names()), "xlsx", "all")
    plan = ExportSpec("work_orders", tuple(types["work_orders"].field_names()), "json",
                      "last_90_days")
    people = ExportSpec("customers", tuple(types["customers"].default_fields()), date_range="all")
    makers = ExportSpec("suppliers", tuple(types["suppliers"].default_fields()), "xml", "all")
    for name, spec in (("Orders Export", orders), ("Inventory Snapshot", stock),
                       ("Production Schedule", plan)):
        svc.create_template(fx.ORG, name, spec, fx.USER)
    minutes = {  # job id -> minutes since it started
        fx.failed(svc, 0, "Customer List", 15_000, 25_000, people).id: 53,
        fx.completed(svc, 0, "Orders Export", 18_420, 120, orders).id: 38,
        fx.completed(svc, 0, "Production Schedule", 5_234, 45, plan).id: 8,
        fx.running(svc, 0, "Orders Export", 12_345, 18_420,
                   dataclasses.replace(orders, date_range="last_90_days")).id: 3,
        fx.queued(svc, 0, "Inventory Snapshot", stock).id: 1,
        fx.queued(svc, 0, "Supplier Directory", makers).id: 0.5,
    }
    engine = db.make_engine(settings.database_url)
    with engine.begin() as conn:
        for job_id, ago in minutes.items():
            conn.execute(text(
                "UPDATE export.export_jobs SET created_at = now() - make_interval(secs => :s),"
                " queued_at = now() - make_interval(secs => :s),"
                " started_at = CASE WHEN started_at IS NULL THEN NULL"
                "   ELSE now() - make_interval(secs => :s) END,"
                " eta_seconds = CASE WHEN status = 'running' THEN 120 END WHERE id = :id"),
                {"s": ago * 60, "id": job_id})
        for name, ago in (("Orders Export", timedelta(days=2)),
                          ("Inventory Snapshot", timedelta(hours=5))):
            conn.execute(text("UPDATE export.export_templates SET last_used_at = now() - :ago"
                              " WHERE name = :name"), {"ago": ago, "name": name})
    engine.dispose()
    svc.engine.dispose()


def shoot(page: Page, url: str) -> None:
    page.goto(url)
    sidebar = page.get_by_test_id("stSidebar")
    choose(page, sidebar, f"Org {EMPTY_ORG}")
    expect(page.get_by_text("No Export Templates Created")).to_be_visible()
    page.screenshot(path=str(DOCS / "empty-state.png"), clip=CLIP_EMPTY)
    choose(page, sidebar, f"Org {fx.ORG}")
    expect(page.get_by_text("Waiting... Position: 2nd")).to_be_visible()
    time.sleep(1)
    height = page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]')"
                           ".getBoundingClientRect().bottom")
    page.screenshot(path=str(DOCS / "data-export.png"),
                    clip={"x": 0, "y": 0, "width": WIDTH, "height": min(HEIGHT, height + 40)})
    page.get_by_role("button", name="+ Create Export").first.click()
    dialog = page.get_by_role("dialog")
    choose(page, dialog, "Orders")
    for step in ("Step 2", "Step 3", "Step 4"):
        dialog.get_by_role("button", name="Next").click()
        expect(dialog.get_by_text(step)).to_be_visible()
    dialog.get_by_text("Save as template", exact=True).click()
    expect(dialog.get_by_test_id("stDataFrame").last).to_be_visible()
    time.sleep(1)
    box = dialog.bounding_box()
    page.screenshot(path=str(DOCS / "wizard.png"), clip={
        "x": 0, "y": 0, "width": WIDTH, "height": (box["y"] + box["height"] + 40) if box else 1200})


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"Streamlit did not start: {url}")


def main() -> None:
    settings, admin = scratch_settings()
    fill(settings)
    port = free_port()
    env = {**os.environ, "EXPORTER_HOME": str(settings.home.resolve()),
           "EXPORTER_DATABASE_URL": settings.database_url}
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                            str(port), "--server.headless", "true"], cwd=REPO, env=env,
                           start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health")
        DOCS.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(30_000)
            shoot(page, f"http://127.0.0.1:{port}")
            browser.close()
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(20)
        with psycopg.connect(services.libpq_url(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    print("wrote", ", ".join(str(p.relative_to(REPO)) for p in sorted(DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
