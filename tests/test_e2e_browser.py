"""One export end to end in a real browser: the Streamlit app, a Dramatiq worker and the
REST API run as subprocesses; Chromium (Debian's, driven by Playwright) creates an
export through the wizard, waits for the live queue to show it done, and downloads the
file through the API's signed link; its rows must equal a direct run of the same spec.

The run gets its own database and Redis (a fresh EXPORTER_HOME), so its worker never
touches other tests' jobs. Without Chromium or Playwright the test skips, and fails
under CI=true. Screenshots go to the test's tmp folder (bench/screenshots.py makes the
ones in docs/).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from exporter import db, demo, services
from exporter.jobs import ExportService
from exporter.run import run_export
from exporter.settings import Settings
from exporter.spec import ExportSpec

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
E2E_DB = "exporter_e2e"
ORG = 3
CLI = [sys.executable, "-m", "exporter.cli"]
UI_TIMEOUT_MS = 30_000
DONE_TIMEOUT_MS = 90_000


def unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, what: str, proc: subprocess.Popen[bytes], log: Path,
              seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not answer {url} within {seconds:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def e2e_settings(settings: Settings, database_url: str, redis_url: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A database of its own with the demo ERP, and a home (Redis, storage) of its own."""
    admin = services.libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{E2E_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{E2E_DB}"')
    url = make_url(database_url).set(database=E2E_DB).render_as_string(hide_password=False)
    db.upgrade(url, settings.app_db_password)
    demo.seed(services.libpq_url(url), orders=2000, orgs=3)
    home = tmp_path_factory.mktemp("e2e_home")
    e2e = dataclasses.replace(settings, home=home, database_url=url, redis_url="")
    e2e = dataclasses.replace(e2e, redis_url=services.redis_url(e2e))
    yield e2e
    services.stop(e2e)  # only Redis lives under this home
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{E2E_DB}" WITH (FORCE)')


def api_command(port: int) -> tuple[list[str] | None, str]:
    """How to start the REST API, and what is missing when it cannot be started."""
    probe = subprocess.run([*CLI, "api", "--help"], capture_output=True, cwd=REPO)
    if probe.returncode == 0:
        return [*CLI, "api", "--port", str(port)], ""
    return None, "the `exporter api` command (the REST API) does not exist"


@pytest.fixture(scope="module")
def stack(e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    """Worker, API and Streamlit as subprocesses, each in its own process group."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package is not installed")
    logs = tmp_path_factory.mktemp("e2e_logs")
    app_port, api_port = free_port(), free_port()
    env = {**os.environ, "EXPORTER_HOME": str(e2e_settings.home),
           "EXPORTER_DATABASE_URL": e2e_settings.database_url,
           "EXPORTER_REDIS_URL": e2e_settings.redis_url,
           "EXPORTER_API_URL": f"http://127.0.0.1:{api_port}", "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, cmd: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = logs / f"{name}.log"
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        return proc, log

    try:
        start("worker", [*CLI, "worker", "--processes", "1", "--threads", "2"])
        api_cmd, api_missing = api_command(api_port)
        if api_cmd:
            proc, log = start("api", api_cmd)
            wait_http(f"http://127.0.0.1:{api_port}/api/docs", "the API", proc, log)
        proc, log = start("streamlit", [sys.executable, "-m", "streamlit", "run", "app.py",
                                        "--server.port", str(app_port), "--server.headless", "true"])
        wait_http(f"http://127.0.0.1:{app_port}/_stcore/health", "Streamlit", proc, log)
        yield {"url": f"http://127.0.0.1:{app_port}", "api_missing": api_missing, "logs": logs}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def shoot(page: Any, name: str, folder: Path) -> None:
    page.screenshot(path=str(folder / name), full_page=True)


TARGETS = ('button[data-testid^="stBaseButton"], a[data-testid^="stBaseLinkButton"], '
           '[data-testid="stCheckbox"] label, [data-testid="stRadio"] label')
SMALL = """(selector) => [...document.querySelectorAll(selector)].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (r.width < 48 || r.height < 48);
}).map(e => `${(e.innerText || e.getAttribute("aria-label") || e.tagName).trim()}: `
          + `${Math.round(e.getBoundingClientRect().width)}x`
          + `${Math.round(e.getBoundingClientRect().height)}`)"""


def small_targets(page: Any) -> list[str]:
    """Visible buttons, link buttons, checkboxes and radio options under 48 x 48 px."""
    return list(page.evaluate(SMALL, TARGETS))


def choose(page: Any, scope: Any, option: str) -> None:
    """Pick an option of the Streamlit select box inside scope."""
    scope.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_export_made_in_the_browser_downloads_the_rows_it_previewed(
        stack: dict[str, Any], e2e_settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(stack["url"])
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Demo mode — no login configured")).to_be_visible()
            choose(page, sidebar, f"Org {ORG}")
            expect(page.get_by_text("No Export Templates Created")).to_be_visible()
            shoot(page, "empty-state.png", tmp_path)

            page.get_by_role("button", name="+ Create Export").first.click()
            dialog = page.get_by_role("dialog")
            choose(page, dialog, "Customers")
            dialog.get_by_role("button", name="Next").click()
            expect(dialog.get_by_text("Step 2: Filters & Date Range")).to_be_visible()
            dialog.get_by_text("All dates", exact=True).click()
            dialog.get_by_role("button", name="Next").click()
            expect(dialog.get_by_text("Step 3: Select Fields")).to_be_visible()
            assert small_targets(page) == []  # the spec's 48 x 48 touch targets
            dialog.get_by_role("button", name="Next").click()
            expect(dialog.get_by_text("Step 4: Export Format")).to_be_visible()
            dialog.get_by_text("Save as template", exact=True).click()
            assert small_targets(page) == []
            expect(dialog.get_by_text("Estimated rows: ~").last).to_be_visible()
            expect(dialog.get_by_test_id("stDataFrame").last).to_be_visible()
            shoot(page, "wizard.png", tmp_path)
            dialog.get_by_role("button", name="Start Export").click()
            expect(dialog).to_be_hidden()

            expect(page.get_by_text("Completed in")).to_be_visible(timeout=DONE_TIMEOUT_MS)
            expect(page.get_by_text("Export completed. Ready to download.")).to_be_visible()
            link = page.get_by_role("link", name="Download")
            href = link.get_attribute("href")
            shoot(page, "data-export.png", tmp_path)
            assert small_targets(page) == []
            assert href and "/api/integrations/exports/files/" in href
            body = None
            if not stack["api_missing"]:
                response = page.context.request.get(href)
                assert response.ok, response.text()
                body = response.body()

            page.get_by_role("button", name="⋮").click()
            expect(page.get_by_text("SHA-256:")).to_be_visible()
            page.keyboard.press("Escape")
            page.get_by_role("button", name="View All").click()
            expect(page.get_by_role("heading", name="Export History")).to_be_visible()
            expect(page.get_by_text("Page 1 of 1 · 1 export jobs")).to_be_visible()
            shoot(page, "history.png", tmp_path)
        finally:
            browser.close()

    svc = ExportService(e2e_settings)
    try:
        [job], _, _ = svc.jobs(ORG, limit=5)
        token = href.rsplit("/", 1)[1]
        if body is None:  # no API: read the signed file through the service instead
            body = svc.open_download(token).stream.read()
    finally:
        svc.engine.dispose()
    spec = ExportSpec.from_dict(job.spec)
    assert (spec.data_type, spec.format, spec.date_range) == ("customers", "csv", "all")
    direct = tmp_path / "direct.csv"
    run_export(spec, ORG, direct, settings=e2e_settings)
    downloaded = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    expected = list(csv.reader(io.StringIO(direct.read_bytes().decode("utf-8"), newline="")))
    assert downloaded == expected and len(downloaded) == job.row_count + 1 > 1
    if stack["api_missing"]:
        pytest.skip(f"download through the API not checked: {stack['api_missing']}")
