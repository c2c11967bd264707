"""Export History: every export of the org in the last 90 days, cleared ones included,
filtered and paginated by the database."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from exporter.jobs import ExportService
from exporter.models import STATUSES, ExportJob
from pages import common, job_queue

PAGE = "history_page"
STATUS = "history_status"
DATA_TYPE = "history_data_type"
TEMPLATE = "history_template"
DATES = "history_dates"
PAGE_SIZE = 20
DAYS = 90
ALL = ""


def first_page() -> None:
    st.session_state[PAGE] = 1


def turn(delta: int) -> None:
    st.session_state[PAGE] = max(1, st.session_state.get(PAGE, 1) + delta)


def render_filters(svc: ExportService, org: int, tz: str) -> dict[str, Any]:
    """The filter row; returns the service's filter arguments."""
    templates = {str(t.id): t.name for t in svc.templates(org)}
    types = {name: t.label for name, t in svc.catalog.types.items()}
    zone = ZoneInfo(tz)
    today = common.now().astimezone(zone).date()
    earliest = today - timedelta(days=DAYS - 1)
    cols = st.columns(4)
    status = cols[0].selectbox("Status", [ALL, *STATUSES], key=STATUS, on_change=first_page,
                               format_func=lambda s: common.STATUS_BADGES[s][0] if s else "All statuses")
    data_type = cols[1].selectbox("Data type", [ALL, *types], key=DATA_TYPE, on_change=first_page,
                                  format_func=lambda n: types.get(n, "All data types"))
    template = cols[2].selectbox("Template", [ALL, *templates], key=TEMPLATE, on_change=first_page,
                                 format_func=lambda t: templates.get(t, "All templates"))
    picked = cols[3].date_input("Date range", value=(earliest, today), min_value=earliest,
                                max_value=today, key=DATES, on_change=first_page)
    start, end = _range(picked, earliest, today)
    return {"status": status or None, "data_type": data_type or None,
            "template_id": uuid.UUID(template) if template else None,
            "since": datetime.combine(start, time.min, zone),
            "until": datetime.combine(end + timedelta(days=1), time.min, zone)}


def _range(picked: Any, earliest: date, today: date) -> tuple[date, date]:
    """The picked (start, end), completing a half-picked range with the 90-day bounds."""
    values = list(picked) if isinstance(picked, list | tuple) else [picked]
    start = values[0] if values and values[0] else earliest
    end = values[1] if len(values) > 1 and values[1] else today
    return max(start, earliest), min(end, today)


def row(job: ExportJob, svc: ExportService, org: int, tz: str) -> dict[str, Any]:
    spec = job.spec or {}
    dtype = svc.catalog.types.get(spec.get("data_type", ""))
    label, icon, _, _ = common.STATUS_BADGES.get(job.status, (job.status, "•", "", ""))
    url = job_queue.download_url(svc, org, job) if job.status == "completed" else None
    outcome = (f"{job.row_count or 0:,} rows" if job.status == "completed"
               else job.error_message or "")
    return {"Status": f"{icon} {label}", "Export": job.name,
            "Data type": dtype.label if dtype else spec.get("data_type"),
            "Format": str(spec.get("format", "")).upper(),
            "Created": common.clock(job.created_at, tz), "By": job.created_by or "",
            "Duration": common.duration(job.duration_seconds) if job.duration_seconds else "",
            "Outcome": outcome, "Size": common.size(job.bytes) if job.bytes else "",
            "Cleared": "yes" if job.hidden else "", "Download": url}


def render_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        st.info("No exports match these filters.")
        return
    st.dataframe(rows, hide_index=True, column_config={
        "Download": st.column_config.LinkColumn("Download", display_text="Download",
                                                help="Signed link, valid for 7 days"),
        "Cleared": st.column_config.TextColumn("Cleared", help="Cleared from the queue view"),
    })


def render_pager(page: int, pages: int, total: int) -> None:
    prev, label, nxt = st.columns([1, 3, 1], vertical_alignment="center")
    prev.button("← Previous", key="history_prev", disabled=page <= 1, on_click=turn,
                args=(-1,), width="stretch")
    label.markdown(f"Page {page} of {pages} · {total:,} export jobs", text_alignment="center")
    nxt.button("Next →", key="history_next", disabled=page >= pages, on_click=turn, args=(1,),
               width="stretch")


def main() -> None:
    ident = common.identity()
    common.show_flashes()
    st.title("Export History")
    st.caption(f"Every export of your organisation in the last {DAYS} days, including those "
               "cleared from the queue. Downloads expire 7 days after an export finishes.")
    try:
        svc = common.service()
        tz = common.display_zone(svc.settings.timezone)
        filters = render_filters(svc, ident.org, tz)
        page = st.session_state.setdefault(PAGE, 1)
        jobs, total, _ = svc.jobs(ident.org, include_hidden=True, limit=PAGE_SIZE,
                                  offset=(page - 1) * PAGE_SIZE, **filters)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if page > pages:  # the filters shrank the result under the current page
            st.session_state[PAGE] = page = pages
            jobs, total, _ = svc.jobs(ident.org, include_hidden=True, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE, **filters)
        rows = [row(job, svc, ident.org, tz) for job in jobs]
    except common.LOAD_ERRORS:
        st.error("Unable to retrieve the export history. Check your connection. "
                 "Error: EXPORT_FETCH_FAILED", icon=":material/warning:")
        st.button("Retry", key="history_retry")
        return
    render_table(rows)
    render_pager(page, pages, total)


main()
