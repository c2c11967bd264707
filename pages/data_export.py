"""Data Export (INT-005): saved templates, the live export queue and the Create Export
wizard, with loading, empty and error states."""

from __future__ import annotations

import streamlit as st

from exporter.errors import ExportError
from exporter.jobs import ExportService
from exporter.models import ExportTemplate
from exporter.spec import ExportSpec
from pages import common, job_queue, wizard
from pages import wizard_state as ws

CONFIRM_DELETE = "confirm_delete_template"  # id of the template whose Delete awaits a yes
GUIDE_PAGE = "pages/export_guide.py"
FORMAT_ICONS = {"csv": ":material/csv:", "xlsx": ":material/table_view:", "json": ":material/data_object:",
                "xml": ":material/code:"}
EMPTY_TEXT = ("Create export templates to quickly export data in various formats. "
              "Supports CSV, XLSX, JSON, and XML for integration with external systems.")
# Ready-made templates offered from the empty state: (name, data type, format, date range).
EXAMPLES = (("Orders Export", "orders", "csv", "last_30_days"),
            ("Inventory Snapshot", "inventory", "xlsx", "all"),
            ("Production Schedule", "work_orders", "json", "last_90_days"))


# --- callbacks --------------------------------------------------------------------------

def export_now(svc: ExportService, ident: common.Identity, template: ExportTemplate) -> None:
    try:
        job, created = svc.export_now(ident.org, str(template.id), ident.user)
        position = svc.position(ident.org, job)
    except common.LOAD_ERRORS as exc:
        common.flash(getattr(exc, "message", f"Could not queue the export ({type(exc).__name__})"),
                     ":material/warning:")
        return
    job_queue.watch(job)
    if not created:
        common.flash(f"Already queued moments ago: {job.name}", ":material/info:")
        return
    common.flash(f"Export queued: {job.name}"
                 + (f" — Position: {common.ordinal(position)}" if position else ""), ":material/schedule:")


def delete_template(svc: ExportService, org: int, template: ExportTemplate) -> None:
    st.session_state[CONFIRM_DELETE] = None
    try:
        svc.delete_template(org, str(template.id))
    except common.LOAD_ERRORS as exc:
        common.flash(getattr(exc, "message", type(exc).__name__), ":material/warning:")
        return
    common.flash(f"Template deleted: {template.name}", ":material/delete:")


def ask_delete(template_id: str | None) -> None:
    st.session_state[CONFIRM_DELETE] = template_id


def create_examples(svc: ExportService, ident: common.Identity) -> None:
    """Browse Template Examples: save the ready-made templates in one click."""
    taken = {t.name for t in svc.templates(ident.org)}
    made = []
    for name, data_type, fmt, date_range in EXAMPLES:
        dtype = svc.catalog.types.get(data_type)
        if dtype is None or name in taken:
            continue
        spec = ExportSpec(data_type, tuple(dtype.default_fields()), format=fmt,
                          date_range=date_range)
        try:
            svc.create_template(ident.org, name, spec, ident.user)
        except ExportError as exc:
            common.flash(f"{name}: {exc.message}", ":material/warning:")
            continue
        made.append(name)
    if made:
        common.flash(f"Example templates added: {', '.join(made)}", ":material/auto_awesome:")


# --- drawing --------------------------------------------------------------------------

def render_header() -> None:
    title, button = st.columns([4, 1], vertical_alignment="center")
    title.title("Data Export")
    button.button("+ Create Export", key="create_export", type="primary", width="stretch",
                  on_click=ws.open_wizard, args=("create",))


def render_icon(name: str) -> None:
    st.markdown(f"## :material/{name}:", text_alignment="center", anchors=False)


def render_error(exc: BaseException) -> None:
    with st.container(border=True, horizontal_alignment="center"):
        render_icon("warning")
        st.subheader("Failed to Load Export Data", anchor=False, text_alignment="center")
        st.markdown("Unable to retrieve templates and jobs. Check your connection.",
                    text_alignment="center")
        st.markdown("Error: `EXPORT_FETCH_FAILED`", text_alignment="center",
                    help=f"{type(exc).__name__}: {str(exc)[:300]}")
        with st.container(horizontal=True, horizontal_alignment="center"):
            st.button("Retry", key="retry_load", type="primary", icon=":material/refresh:")
            st.link_button("Contact Support", common.support_url(), icon=":material/mail:")


def render_empty(svc: ExportService, ident: common.Identity) -> None:
    with st.container(border=True, horizontal_alignment="center"):
        render_icon("upload")
        st.subheader("No Export Templates Created", anchor=False, text_alignment="center")
        st.markdown(EMPTY_TEXT, text_alignment="center")
        st.button("+ Create Export", key="create_export_empty", type="primary",
                  on_click=ws.open_wizard, args=("create",))
        with st.container(horizontal=True, horizontal_alignment="center",
                          vertical_alignment="center"):
            st.page_link(GUIDE_PAGE, label="View Export Guide", icon=":material/menu_book:")
            st.button("Browse Template Examples", key="examples", icon=":material/auto_awesome:",
                      on_click=create_examples, args=(svc, ident))


def render_template(template: ExportTemplate, svc: ExportService, ident: common.Identity) -> None:
    icon = FORMAT_ICONS.get(template.format, ":material/table_chart:")
    tid = str(template.id)
    about, actions = st.columns([3, 2], vertical_alignment="center")
    about.markdown(f"{icon} **{common.md_escape(template.name)}**")
    about.caption(f"Format: {template.format.upper()} | Fields: {len(template.fields)} | "
                  f"Last used: {common.ago(template.last_used_at)}")
    with actions.container(horizontal=True, horizontal_alignment="right"):
        if st.session_state.get(CONFIRM_DELETE) == tid:
            st.button("Delete template", key=f"confirm_{tid}", type="primary",
                      on_click=delete_template, args=(svc, ident.org, template))
            st.button("Keep it", key=f"keep_{tid}", on_click=ask_delete, args=(None,))
        else:
            st.button("Export Now", key=f"now_{tid}", icon=":material/play_arrow:",
                      on_click=export_now, args=(svc, ident, template))
            st.button("Edit", key=f"edit_{tid}", icon=":material/edit:", on_click=ws.open_wizard,
                      args=("edit", template))
            st.button("Delete", key=f"delete_{tid}", icon=":material/delete:", on_click=ask_delete,
                      args=(tid,))
    if st.session_state.get(CONFIRM_DELETE) == tid:
        st.warning(f"Delete the template “{template.name}”? Past exports stay in the history.")


def render_templates(templates: list[ExportTemplate], svc: ExportService,
                     ident: common.Identity) -> None:
    with st.container(border=True):
        head, button = st.columns([4, 1], vertical_alignment="center")
        head.subheader("Export Templates", anchor=False)
        button.button("+ New Template", key="new_template", width="stretch",
                      on_click=ws.open_wizard, args=("template",))
        for template in templates:
            common.separator()
            render_template(template, svc, ident)


def load(ident: common.Identity) -> tuple[ExportService, list[ExportTemplate], int]:
    svc = common.service()
    templates = svc.templates(ident.org)
    _, jobs, _ = svc.jobs(ident.org, limit=0)
    return svc, templates, jobs


def main() -> None:
    ident = common.identity()
    common.show_flashes()
    render_header()
    placeholder = st.empty()
    with placeholder.container():
        common.skeleton()
    try:
        svc, templates, jobs = load(ident)
    except common.LOAD_ERRORS as exc:
        placeholder.empty()
        ws.close_wizard()  # it needs the service; Retry first
        render_error(exc)
        return
    placeholder.empty()
    if templates:
        render_templates(templates, svc, ident)
    else:
        render_empty(svc, ident)
    if templates or jobs:
        job_queue.render_queue(ident)
    wizard.show(svc, ident, templates)


main()
