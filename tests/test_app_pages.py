"""The Streamlit pages through AppTest, against the real test database: the Data Export
page in its success, empty and error states, the Create Export wizard, the history's
pagination and filters, and the guide. (AppTest never fires run_every; the real browser
test covers the live queue.)"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from exporter import db, store_jobs
from exporter.jobs import ExportService
from exporter.settings import Settings
from pages import common, job_queue
from tests.app_fixtures import (
    ORG,
    USER,
    app_environment,
    app_settings,  # noqa: F401  (fixture)
    clean_org,
    completed,
    failed,
    queued,
    running,
    spec,
    svc,  # noqa: F401  (fixture)
)

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HISTORY, GUIDE = "pages/export_history.py", "pages/export_guide.py"


@pytest.fixture(autouse=True)
def app_env(monkeypatch: pytest.MonkeyPatch, app_settings: Settings) -> Iterator[None]:  # noqa: F811
    for key, value in app_environment(app_settings).items():
        monkeypatch.setenv(key, value)
    clean_org(app_settings)
    yield
    clean_org(app_settings)


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[common.ORG] = ORG
    at.session_state[common.USER] = USER
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page says, as one string to search."""
    parts: list[Any] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "toast"):
        parts += [el.value for el in getattr(at, kind)]
    parts += [str(el.proto.text) for el in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def link_urls(at: AppTest) -> dict[str, str]:
    return {el.proto.label: el.proto.url for el in at.get("link_button")}


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


# --- Data Export: success state ---------------------------------------------------------

def test_the_page_lists_templates_and_every_kind_of_queued_job(svc: ExportService) -> None:  # noqa: F811
    svc.create_template(ORG, "Orders Export", spec(0), USER)
    running(svc, 1, "Orders Export", 12_345, 18_420)
    completed(svc, 2, "Production Schedule", 5_234, 45)
    failed(svc, 3, "Customer List", 15_000, 25_000)
    queued(svc, 4, "Inventory Snapshot")
    queued(svc, 5, "Second in line")
    at = open_app()
    said = texts(at)
    assert "Format: CSV | Fields: 2 | Last used: Never" in said
    assert "67% (12,345/18,420)" in said
    assert "Export running: 67% complete, 12,345 of 18,420 rows processed" in said
    assert "Waiting... Position: 1st" in said and "Waiting... Position: 2nd" in said
    assert "100% (5,234 rows)" in said and "Completed in 45s" in said
    assert "Timeout after 5m" in said and "(15,000/25,000)" in said
    for badge in ("blue-badge[:material/sync: Running]", "gray-badge[:material/hourglass_empty: Queued]",
                  "green-badge[:material/check_circle: Done]", "red-badge[:material/cancel: Failed]"):
        assert badge in said
    assert "Showing 5 of 5 export jobs" in said
    download = link_urls(at)["Download"]
    assert download.startswith(f"{common.api_base()}/api/integrations/exports/files/")
    assert [b.label for b in at.button if b.label in ("Cancel", "Retry")].count("Cancel") == 3


def test_export_now_queues_the_template_and_says_so(svc: ExportService) -> None:  # noqa: F811
    template = svc.create_template(ORG, "Orders Export", spec(0), USER)
    at = click(open_app(), f"now_{template.id}")
    jobs, total, _ = svc.jobs(ORG)
    assert total == 1 and jobs[0].status == "queued" and jobs[0].template_id == template.id
    said = texts(at)
    assert "Export queued: Orders Export — Position: 1st" in said
    assert "Last used: just now" in said


def test_delete_asks_before_removing_the_template(svc: ExportService) -> None:  # noqa: F811
    template = svc.create_template(ORG, "Orders Export", spec(0), USER)
    at = click(open_app(), f"delete_{template.id}")
    assert "Delete the template “Orders Export”?" in texts(at)
    assert len(svc.templates(ORG)) == 1
    click(at, f"confirm_{template.id}")
    assert svc.templates(ORG) == []


def test_cancel_and_retry_act_on_the_job(svc: ExportService) -> None:  # noqa: F811
    bad = failed(svc, 1, "Customer List", 10, 20)
    waiting = queued(svc, 2, "Inventory Snapshot")
    at = click(open_app(), f"cancel_{waiting.id}")
    assert svc.job(ORG, str(waiting.id)).status == "cancelled"
    click(at, f"retry_{bad.id}")
    jobs, _, _ = svc.jobs(ORG, status="queued")
    assert [j.name for j in jobs] == ["Customer List"]


def test_milestones_and_completion_are_announced(svc: ExportService) -> None:  # noqa: F811
    job = running(svc, 1, "Orders Export", 100, 1_000)
    at = open_app()
    with db.org_session(svc.engine, ORG) as s:
        store_jobs.report_progress(s, job.id, 550, 1_000, "test-worker")
    at.run()
    assert "Orders Export: 50% complete." in texts(at)
    with db.org_session(svc.engine, ORG) as s:
        store_jobs.complete(s, job.id, "k", "orders.csv", 1_000, 10, "00", 3.0, worker="test-worker")
    at.run()
    said = texts(at)
    assert "Orders Export: 100% complete. Ready to download." in said
    assert job_queue.COMPLETED_TOAST in [t.value for t in at.toast]


# --- Data Export: empty, error and identity ----------------------------------------------

def test_the_empty_state_offers_ready_made_templates(svc: ExportService) -> None:  # noqa: F811
    at = open_app()
    said = texts(at)
    assert "No Export Templates Created" in said
    assert "Supports CSV, XLSX, JSON, and XML for integration with external systems." in said
    assert at.button(key="create_export_empty").label == "+ Create Export"
    click(at, "examples")
    names = sorted(t.name for t in svc.templates(ORG))
    assert names == ["Inventory Snapshot", "Orders Export", "Production Schedule"]
    assert "No Export Templates Created" not in texts(at)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_shows_the_error_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORTER_DATABASE_URL",
                       f"postgresql://postgres:x@127.0.0.1:{closed_port()}/exporter")
    at = open_app()
    said = texts(at)
    assert "Failed to Load Export Data" in said
    assert "Unable to retrieve templates and jobs. Check your connection." in said
    assert "EXPORT_FETCH_FAILED" in said
    assert at.button(key="retry_load").label == "Retry"
    assert link_urls(at)["Contact Support"] == common.DEFAULT_SUPPORT


def test_demo_mode_is_marked_and_shows_only_the_chosen_org(svc: ExportService) -> None:  # noqa: F811
    svc.create_template(ORG, "Org three's template", spec(0), USER)
    at = open_app()
    assert "Demo mode — no login configured" in [w.value for w in at.sidebar.warning]
    assert "Org three" in texts(at)
    at.sidebar.selectbox(key=f"{common.ORG}_widget").set_value(2).run()
    assert "Org three" not in texts(at)


AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s",
        "client_id": "c", "client_secret": "d",
        "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}


def with_login(user: dict[str, Any]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_with_login_configured_a_signed_out_user_must_log_in_first() -> None:
    at = with_login({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"]
    assert "Demo mode — no login configured" not in [w.value for w in at.sidebar.warning]


def test_a_signed_in_user_sees_the_org_of_their_claim(svc: ExportService) -> None:  # noqa: F811
    svc.create_template(ORG, "Org three's template", spec(0), USER)
    at = with_login({"is_logged_in": True, "email": "ann@example.com", "org_id": str(ORG)})
    assert "Org three" in texts(at)
    assert "Signed in as **ann@example\\.com** · Org 3" in [c.value for c in at.sidebar.caption]
    assert "Log out" in [b.label for b in at.sidebar.button]


def test_a_user_without_an_org_claim_is_told_so() -> None:
    at = with_login({"is_logged_in": True, "email": "ann@example.com"})
    assert "Your account carries no organisation (claim 'org_id')" in at.error[0].value


# --- the wizard ---------------------------------------------------------------------------

def wizard_key(at: AppTest, name: str) -> str:
    token = at.session_state["wizard"]["token"]
    return f"wiz_{token}_{name}"


def test_the_wizard_previews_estimates_and_queues_one_export(svc: ExportService) -> None:  # noqa: F811
    at = click(open_app(), "create_export")
    assert "Step 1: Select Data Source" in texts(at)
    at.selectbox(key=wizard_key(at, "data_type")).set_value("orders").run()
    click(at, wizard_key(at, "next"))
    at.radio(key=wizard_key(at, "range")).set_value("last_90_days").run()
    at.multiselect(key=wizard_key(at, "statuses")).set_value(["shipped", "delivered"]).run()
    click(at, wizard_key(at, "next"))
    assert "Step 3: Select Fields" in texts(at)
    click(at, wizard_key(at, "none"))
    assert "Select at least 1 field" in [e.value for e in at.error]
    assert at.button(key=wizard_key(at, "next")).disabled
    click(at, wizard_key(at, "all"))
    assert "18 of 18 fields selected" in texts(at)
    click(at, wizard_key(at, "next"))
    said = texts(at)
    assert re.search(r"Estimated rows: ~[\d,]+  \|  Est\. file size: ~[\d.,]+ K?M?B  \|  "
                     r"Est\. time: (~|<)\d+s", said), said
    table = at.dataframe[0].value
    assert "Order Number" in table.columns and "Items (line items)" in table.columns
    assert len(table) > 0 and " x " in table["Items (line items)"].iloc[0]
    at.checkbox(key=wizard_key(at, "save")).check().run()
    at.text_input(key=wizard_key(at, "name")).input("Shipped orders").run()
    click(at, wizard_key(at, "start"))
    assert at.session_state["wizard"] is None
    jobs, total, _ = svc.jobs(ORG)
    assert total == 1 and jobs[0].status == "queued" and jobs[0].created_by == USER
    assert jobs[0].spec["statuses"] == ["shipped", "delivered"]
    assert len(jobs[0].spec["fields"]) == 18
    [template] = svc.templates(ORG)
    assert template.name == "Shipped orders" and jobs[0].template_id == template.id


def test_edit_opens_the_wizard_filled_in_and_updates_the_template(svc: ExportService) -> None:  # noqa: F811
    template = svc.create_template(ORG, "Orders Export", spec(0, fmt="json"), USER)
    at = click(open_app(), f"edit_{template.id}")
    w = at.session_state["wizard"]
    assert (w["data_type"], w["format"], w["name"]) == ("orders", "json", "Orders Export")
    for _ in range(3):
        click(at, wizard_key(at, "next"))
    at.radio(key=wizard_key(at, "format")).set_value("xml").run()
    click(at, wizard_key(at, "save_only"))
    [saved] = svc.templates(ORG)
    assert saved.id == template.id and saved.format == "xml"
    assert svc.jobs(ORG)[1] == 0


def test_a_taken_template_name_blocks_start(svc: ExportService) -> None:  # noqa: F811
    svc.create_template(ORG, "Taken", spec(0), USER)
    at = click(open_app(), "new_template")
    at.selectbox(key=wizard_key(at, "data_type")).set_value("customers").run()
    for _ in range(3):
        click(at, wizard_key(at, "next"))
    at.text_input(key=wizard_key(at, "name")).input("Taken").run()
    assert any("already exists" in e.value for e in at.error)
    assert at.button(key=wizard_key(at, "start")).disabled


def double_click() -> None:
    """Start Export's callback run twice for one wizard (a double click)."""
    import streamlit as st

    from pages import common
    from pages import wizard_state as ws

    ws.open_wizard("create")
    w = st.session_state[ws.WIZARD]
    w.update(data_type="customers", fields=["code", "name"], date_range="all")
    ident = common.Identity(3, "tester", True)
    ws.start_export(w, common.service(), ident)
    ws.open_wizard("create")  # the dialog closed; a late second click still names the old one
    ws.start_export(w, common.service(), ident)


def test_one_wizard_queues_one_job_even_without_service_dedupe(
        svc: ExportService, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("EXPORTER_DEDUPE_SECONDS", "0")
    at = AppTest.from_function(double_click, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert svc.jobs(ORG)[1] == 1


# --- history and guide --------------------------------------------------------------------

def test_history_paginates_in_the_database_and_filters(svc: ExportService) -> None:  # noqa: F811
    done = completed(svc, 0, "Cleared one", 10, 1)
    svc.clear_completed(ORG)
    for n in range(1, 23):
        queued(svc, n, f"Orders {n}")
    for n in range(23, 26):
        queued(svc, n, f"Products {n}", data_type="products")
    at = open_app(HISTORY)
    assert "Page 1 of 2 · 26 export jobs" in texts(at)
    assert len(at.dataframe[0].value) == 20
    click(at, "history_next")
    page2 = at.dataframe[0].value
    assert "Page 2 of 2" in texts(at) and len(page2) == 6
    assert done.name in list(page2["Export"]) and "yes" in list(page2["Cleared"])
    at.selectbox(key="history_data_type").set_value("products").run()
    assert "Page 1 of 1 · 3 export jobs" in texts(at)
    assert set(at.dataframe[0].value["Data type"]) == {"Products"}
    at.selectbox(key="history_status").set_value("completed").run()
    assert "No exports match these filters." in texts(at)


def test_the_guide_explains_formats_limits_and_rules() -> None:
    at = open_app(GUIDE)
    said = texts(at)
    formats = at.dataframe[0].value
    assert list(formats["Format"]) == ["CSV (Comma-separated)", "XLSX (Excel)",
                                       "JSON (Structured data)", "XML (Enterprise systems)"]
    assert "1,048,575 (refused above)" in list(formats["Hard row limit"])
    assert "7 days" in said and "1,048,576 rows" in said and "apostrophe" in said


# --- formatting helpers ---------------------------------------------------------------------

@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                         (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
                                         (102, "102nd"), (111, "111th")])
def test_ordinal(n: int, text: str) -> None:
    assert common.ordinal(n) == text


def test_times_read_like_the_wireframe() -> None:
    now = common.now()
    assert common.ago(None) == "Never"
    assert common.ago(now - timedelta(days=2, hours=3), now) == "2d ago"
    assert common.ago(now - timedelta(hours=5), now) == "5h ago"
    assert common.ago(now - timedelta(minutes=3, seconds=5), now) == "3m ago"
    assert common.ago(now, now) == "just now"
    assert common.duration(45) == "45s" and common.duration(120) == "2m"
    assert common.duration(125) == "2m 5s" and common.duration(3780) == "1h 3m"
    assert common.eta(130) == "Est: 2m left" and common.eta(20) == "Est: 20s left"
    assert common.size(2_300_000) == "2.3 MB" and common.size(512) == "512 B"
    assert common.limits_text(100 * 2**20, 500_000) == "Max size: 100 MB | ~500,000 rows"
