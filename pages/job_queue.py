"""The Export Queue: a fragment redrawn every 5 s with each job's status, progress, time
left, queue position, outcome and actions, plus announcements for screen readers.

It remembers the status and progress milestone of every job it has drawn, so it can
announce 25/50/75/100 % and toast "Export completed" when a job changes between runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from exporter.errors import ExportError
from exporter.formats import WRITERS
from exporter.jobs import ExportService
from exporter.models import FINISHED, ExportJob
from pages import common

SEEN = "queue_seen"  # job id -> (status, highest milestone announced)
ANNOUNCEMENT = "queue_announcement"  # the latest announcement, kept until replaced
LINKS = "queue_links"  # job id -> download URL (signed; valid until the job's expiry)
QUEUE_LIMIT = 10
HISTORY_DAYS = 90
MILESTONES = (25, 50, 75, 100)
COMPLETED_TOAST = "Export completed. Ready to download."
HISTORY_PAGE = "pages/export_history.py"
COLUMNS = [1.1, 2.3, 1.1, 3.4, 2.7]  # status, export, started, progress, actions


def milestone(job: ExportJob) -> int:
    if job.status == "completed":
        return 100
    if job.status != "running":
        return 0
    return max((m for m in MILESTONES if (job.progress or 0) >= m), default=0)


def watch(job: ExportJob) -> None:
    """Remember a job just queued, so its completion is announced even if it finishes
    before the queue draws it."""
    st.session_state.setdefault(SEEN, {})[str(job.id)] = (job.status, milestone(job))


def notice_changes(jobs: list[ExportJob], ident: common.Identity) -> None:
    """Toast and announce what changed since the last run (nothing on first sight)."""
    seen: dict[str, tuple[str, int]] = st.session_state.setdefault(SEEN, {})
    said = []
    for job in jobs:
        before, reached = seen.get(str(job.id)), milestone(job)
        if before is not None:
            status, mark = before
            if job.status == "completed" and status != "completed" and job.created_by == ident.user:
                st.toast(COMPLETED_TOAST, icon=":material/check_circle:")
            if reached > mark:
                done = ". Ready to download." if job.status == "completed" else "."
                said.append(f"{job.name}: {reached}% complete{done}")
            if job.status == "failed" and status != "failed":
                said.append(f"{job.name} failed: {job.error_message}.")
            reached = max(reached, mark)
        seen[str(job.id)] = (job.status, reached)
    if said:
        st.session_state[ANNOUNCEMENT] = " ".join(said)


def download_url(svc: ExportService, org: int, job: ExportJob) -> str | None:
    links: dict[str, str] = st.session_state.setdefault(LINKS, {})
    if str(job.id) not in links:
        try:
            token, _ = svc.download_link(org, str(job.id))
        except ExportError:
            return None
        links[str(job.id)] = common.download_url(token)
    return links[str(job.id)]


# --- callbacks --------------------------------------------------------------------------

def _act(action: Any, done: str, *args: Any) -> None:
    try:
        action(*args)
    except common.LOAD_ERRORS as exc:
        common.flash(getattr(exc, "message", f"That did not work ({type(exc).__name__})"),
                     ":material/warning:")
        return
    common.flash(done, ":material/check_circle:")


def cancel(svc: ExportService, org: int, job: ExportJob) -> None:
    _act(svc.cancel, f"Cancel requested: {job.name}", org, str(job.id))


def retry(svc: ExportService, ident: common.Identity, job: ExportJob) -> None:
    try:
        new = svc.retry(ident.org, str(job.id), ident.user)
    except common.LOAD_ERRORS as exc:
        common.flash(getattr(exc, "message", f"Retry failed ({type(exc).__name__})"), ":material/warning:")
        return
    watch(new)
    common.flash(f"Export queued again: {new.name}", ":material/replay:")


def clear_completed(svc: ExportService, org: int) -> None:
    try:
        count = svc.clear_completed(org)
    except common.LOAD_ERRORS as exc:
        common.flash(getattr(exc, "message", type(exc).__name__), ":material/warning:")
        return
    common.flash(f"Cleared {count} finished export{'s' if count != 1 else ''} from the queue "
                 "(Export History still lists them)", ":material/cleaning_services:")


# --- drawing --------------------------------------------------------------------------

def render_progress(job: ExportJob, position: int | None, tz: str) -> None:
    processed, total = job.processed_rows or 0, job.total_rows
    if job.status == "running":
        if not total:
            st.progress(0, text="Starting...")
            return
        pct = job.progress or 0
        st.progress(pct / 100, text=f"{pct}% ({common.rows_text(processed, total)})")
        st.caption("Cancelling..." if job.cancel_requested else common.eta(job.eta_seconds))
        common.screen_reader_text(f"Export running: {pct}% complete, {processed:,} of "
                                  f"{total:,} rows processed")
    elif job.status == "queued":
        if job.not_before and job.not_before > common.now():
            st.markdown(f"Retrying at {common.clock(job.not_before, tz)} "
                        f"(attempt {job.attempts + 1} of {job.max_attempts})")
            st.caption(f"Last error: {common.md_escape(job.error_message or '')}")
        else:
            st.markdown("Waiting... " + (f"Position: {common.ordinal(position)}" if position else ""))
    elif job.status == "completed":
        st.markdown(f"100% ({job.row_count or 0:,} rows)")
        st.caption(f"Completed in {common.duration(job.duration_seconds)} · {common.size(job.bytes)}")
    elif job.status == "failed":
        st.markdown(f":red[Error: {common.md_escape(job.error_message or 'unknown')}]")
        if total:
            st.caption(f"({common.rows_text(processed, total)})")
    else:
        st.markdown("Cancelled")
        if processed:
            st.caption(f"Stopped at {common.rows_text(processed, total)}")


def render_details(job: ExportJob, svc: ExportService, tz: str) -> None:
    spec = job.spec or {}
    dtype = svc.catalog.types.get(spec.get("data_type", ""))
    labels = [dtype.label_of(f) if dtype and (dtype.field(f) or f in dtype.children) else f
              for f in spec.get("fields", [])]
    writer = WRITERS.get(spec.get("format", ""))
    rows = [("Job", f"`{job.id}`"),
            ("Data", f"{dtype.label if dtype else spec.get('data_type')} as "
                     f"{writer.SPEC.label if writer else spec.get('format')}"),
            ("Fields", ", ".join(labels) or "—"),
            ("Filters", common.filters_text(spec)),
            ("Queued", f"{common.clock(job.created_at, tz)} by {job.created_by or '—'}"),
            ("Attempts", f"{job.attempts} of {job.max_attempts}")]
    if job.status == "completed":
        rows += [("File", f"{job.file_name} ({common.size(job.bytes)})"),
                 ("SHA-256", f"`{job.sha256}`"),
                 ("Expires", f"{common.clock(job.expires_at, tz)} ({_left(job)})")]
    if job.error_code:
        rows.append(("Error", f"{job.error_code}: {common.md_escape(job.error_message or '')}"))
    st.markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))


def _left(job: ExportJob) -> str:
    if job.expires_at is None:
        return "no expiry"
    left = job.expires_at - common.now()
    return "expired" if left <= timedelta(0) else f"in {common.duration(left.total_seconds())}"


def render_actions(job: ExportJob, svc: ExportService, ident: common.Identity, tz: str) -> None:
    with st.container(horizontal=True, gap="small"):
        if job.status in ("queued", "running"):
            st.button("Cancel", key=f"cancel_{job.id}", disabled=job.cancel_requested,
                      on_click=cancel, args=(svc, ident.org, job))
        elif job.status == "completed":
            url = download_url(svc, ident.org, job)
            if url:
                st.link_button("Download", url, icon=":material/download:", type="primary")
            else:
                st.caption("Download expired")
        else:
            st.button("Retry", key=f"retry_{job.id}", on_click=retry, args=(svc, ident, job))
        with st.popover("⋮", help="Export details", key=f"details_{job.id}"):
            render_details(job, svc, tz)


def render_column_heads() -> None:
    for column, head in zip(st.columns(COLUMNS), ("Status", "Export", "Started", "Progress",
                                                   "Actions"), strict=True):
        column.markdown(f"**{head}**")


def render_job(job: ExportJob, position: int | None, svc: ExportService,
               ident: common.Identity, tz: str) -> None:
    cols = st.columns(COLUMNS, vertical_alignment="center")
    with cols[0]:
        common.status_badge(job.status, job.cancel_requested)
    with cols[1]:
        dtype = svc.catalog.types.get((job.spec or {}).get("data_type", ""))
        st.markdown(f"**{common.md_escape(job.name)}**")
        st.caption(f"{dtype.label if dtype else '—'} · {str(job.spec.get('format', '')).upper()}")
    with cols[2]:
        when = job.started_at or job.created_at
        st.markdown(common.clock(when, tz))
        st.caption(common.ago(when))
    with cols[3]:
        render_progress(job, position, tz)
    with cols[4]:
        render_actions(job, svc, ident, tz)


def load(svc: ExportService, org: int) -> tuple[list[ExportJob], dict[Any, int]]:
    """Running jobs, then queued ones in queue order, then the latest finished ones: an
    active job never drops off the view however many finished after it."""
    active, _, positions = svc.jobs(org, status=("running", "queued"), limit=100)
    active.sort(key=lambda j: (j.status != "running", positions.get(j.id, 0)))
    finished, _, _ = svc.jobs(org, status=FINISHED, limit=max(3, QUEUE_LIMIT - len(active)))
    return active + finished, positions


# Every 4 s, so what the screen shows is never more than 5 s behind the job (the refresh
# plus drawing); the spec's "updates every 5s" is a ceiling.
REFRESH_SECONDS = 4


@st.fragment(run_every=REFRESH_SECONDS)
def render_queue(ident: common.Identity) -> None:
    common.show_flashes()
    try:
        svc = common.service()
        jobs, positions = load(svc, ident.org)
        since = common.now() - timedelta(days=HISTORY_DAYS)
        _, history, _ = svc.jobs(ident.org, include_hidden=True, since=since, limit=0)
    except common.LOAD_ERRORS:
        st.error("Could not refresh the export queue (EXPORT_FETCH_FAILED). "
                 "Trying again in 5 seconds...", icon=":material/warning:")
        return
    notice_changes(jobs, ident)
    tz = common.display_zone(svc.settings.timezone)
    with st.container(border=True):
        head, button = st.columns([4, 1], vertical_alignment="center")
        head.subheader("Export Queue")
        button.button("Clear Completed", key="clear_completed", width="stretch",
                      disabled=not any(j.status in FINISHED for j in jobs),
                      on_click=clear_completed, args=(svc, ident.org))
        common.announce(st.session_state.get(ANNOUNCEMENT, ""))
        if jobs:
            render_column_heads()
        else:
            st.caption("No exports in the queue. Start one with + Create Export or a "
                       "template's Export Now.")
        for job in jobs:
            common.separator()
            render_job(job, positions.get(job.id), svc, ident, tz)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(f"Showing {len(jobs)} of {history} export jobs")
    if right.button("View All", key="view_all", width="stretch"):
        st.switch_page(HISTORY_PAGE)
