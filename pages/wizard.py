"""The Create Export wizard, drawn in a dialog: data source, filters, fields, format,
with a live estimate, the first rows and validation beside each step.

Open it with wizard_state.open_wizard (a callback) and call show() on every full run
outside any run_every fragment: a dialog opened inside one stops responding after the
fragment reruns.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from exporter.catalog import Catalog, DataType
from exporter.formats import WRITERS
from exporter.jobs import ExportService
from exporter.models import NAME_MAX, ExportTemplate
from pages import common
from pages import wizard_state as ws

TITLES = {"create": "Create Data Export", "template": "New Export Template",
          "edit": "Edit Export Template"}


def render_steps(w: dict[str, Any]) -> None:
    parts = [f"**{i}\\. {title}**" if i == w["step"] else f"{i}\\. {title}"
             for i, title in enumerate(ws.STEPS, start=1)]
    st.caption("  →  ".join(parts))
    if w["mode"] != "create":
        st.caption(TITLES[w["mode"]] + (f": **{w['name']}**" if w["mode"] == "edit" else ""))
    st.subheader(f"Step {w['step']}: {ws.STEPS[w['step'] - 1]}")


def render_data_type(w: dict[str, Any], catalog: Catalog) -> None:
    options = list(catalog.types)
    widget = ws.key(w, "data_type")
    st.selectbox("Data Type *", options, key=widget,
                 index=options.index(w["data_type"]) if w["data_type"] in options else None,
                 format_func=lambda name: catalog.types[name].label,
                 placeholder="Select data type...", on_change=ws.choose_data_type,
                 args=(w, catalog, widget))


def render_filters(w: dict[str, Any], dtype: DataType) -> None:
    ranges = list(ws.RANGES)
    widget = ws.key(w, "range")
    st.radio("Date Range", ranges, index=ranges.index(w["date_range"]), key=widget,
             format_func=ws.RANGES.__getitem__, on_change=ws.copy, args=(w, "date_range", widget))
    if w["date_range"] == "custom":
        start, end = st.columns(2)
        for column, name, label in ((start, "date_from", "From"), (end, "date_to", "To")):
            widget = ws.key(w, name)
            column.date_input(label, value=w[name], key=widget, format="MM/DD/YYYY",
                              on_change=ws.copy, args=(w, name, widget))
    widget = ws.key(w, "statuses")
    st.multiselect("Status Filter (optional)", list(dtype.statuses), default=w["statuses"],
                   key=widget, placeholder="All statuses",
                   format_func=lambda s: s.replace("_", " ").capitalize(),
                   on_change=ws.copy, args=(w, "statuses", widget))
    st.markdown("**Additional Filters (optional)**")
    for name, label, available in (("only_active", "Only active records", dtype.active_column),
                                   ("exclude_archived", "Exclude archived", dtype.archived_column)):
        widget = ws.key(w, name)
        st.checkbox(label, value=w[name], key=widget, disabled=not available,
                    help=None if available else f"{dtype.label} have no such flag",
                    on_change=ws.copy, args=(w, name, widget))


def render_fields(w: dict[str, Any], dtype: DataType, templates: list[ExportTemplate]) -> None:
    groups: dict[str, list[tuple[str, str]]] = {}
    for f in dtype.fields:
        groups.setdefault(f.category, []).append((f.name, f.label))
    for child in dtype.children.values():
        groups.setdefault(child.category, []).append((child.name, child.label))
    for category, items in groups.items():
        st.markdown(f"**{category}**")
        columns = st.columns(3)
        for i, (name, label) in enumerate(items):
            columns[i % 3].checkbox(label, value=name in w["fields"], key=ws.field_key(w, name),
                                    on_change=ws.toggle_field, args=(w, dtype, name))
    st.caption(f"{len(w['fields'])} of {len(dtype.field_names())} fields selected")
    same_type = [t for t in templates if t.data_type == dtype.name]
    row = st.columns([1, 1, 2], vertical_alignment="bottom")
    row[0].button("Select All", key=ws.key(w, "all"), width="stretch", on_click=ws.set_fields,
                  args=(w, dtype, dtype.field_names()))
    row[1].button("Clear All", key=ws.key(w, "none"), width="stretch", on_click=ws.set_fields,
                  args=(w, dtype, []))
    widget = ws.key(w, "use_template")
    names = {str(t.id): t.name for t in same_type}
    row[2].selectbox("Use Template", list(names), index=None, key=widget,
                     format_func=lambda tid: names.get(tid, tid),
                     placeholder="Use Template..." if same_type else "No templates of this type",
                     disabled=not same_type, label_visibility="collapsed",
                     on_change=ws.use_template, args=(w, dtype, same_type, widget))


def render_format(w: dict[str, Any]) -> None:
    names = list(WRITERS)
    widget = ws.key(w, "format")
    st.radio("Export Format", names, index=names.index(w["format"]) if w["format"] in names else 0,
             key=widget, format_func=lambda n: WRITERS[n].SPEC.label,
             captions=[common.limits_text(WRITERS[n].SPEC.max_bytes, WRITERS[n].SPEC.max_rows)
                       for n in names],
             on_change=ws.copy, args=(w, "format", widget))
    widget = ws.key(w, "save")
    st.checkbox("Save as template", value=w["save"], key=widget, on_change=ws.copy,
                args=(w, "save", widget))
    if w["save"]:
        widget = ws.key(w, "name")
        st.text_input("Template name", value=w["name"], key=widget, max_chars=NAME_MAX,
                      placeholder="Orders Export Template", live=True, on_change=ws.copy,
                      args=(w, "name", widget))


def render_estimate(w: dict[str, Any], svc: ExportService, org: int) -> None:
    try:
        with st.spinner("Estimating rows, size and time..."):
            est = ws.cached_estimate(svc, org, ws.spec_from(w))
    except common.LOAD_ERRORS as exc:
        st.caption(f"Estimate unavailable: {getattr(exc, 'message', type(exc).__name__)}")
        return
    st.info(ws.estimate_line(est, w["format"]), icon=":material/straighten:")
    for message in est.warnings.get(w["format"], []):
        st.warning(message, icon=":material/warning:")


def render_preview(w: dict[str, Any], svc: ExportService, org: int, dtype: DataType) -> None:
    try:
        with st.spinner("Loading the first rows..."):
            result = ws.cached_preview(svc, org, ws.spec_from(w))
    except common.LOAD_ERRORS as exc:
        st.caption(f"Preview unavailable: {getattr(exc, 'message', type(exc).__name__)}")
        return
    st.markdown(f"**Preview** — first {len(result.rows)} rows as they will be exported")
    if not result.rows:
        st.info("No rows match these filters: the export would be empty.")
        return
    st.dataframe(ws.preview_table(result, dtype), hide_index=True, height="auto")


def render_buttons(w: dict[str, Any], issues: dict[int, list[str]], svc: ExportService,
                   ident: common.Identity) -> None:
    step, invalid = w["step"], any(issues.values())
    left, right = st.columns([1, 3])
    left.button("Cancel", key=ws.key(w, "cancel"), on_click=ws.close_wizard)
    with right.container(horizontal=True, horizontal_alignment="right"):
        if step > 1:
            st.button("Back", key=ws.key(w, "back"), on_click=ws.move, args=(w, step - 1))
        if step < len(ws.STEPS):
            st.button("Next", key=ws.key(w, "next"), type="primary", disabled=bool(issues[step]),
                      on_click=ws.move, args=(w, step + 1))
            return
        if w["save"]:
            st.button("Save Template", key=ws.key(w, "save_only"), disabled=invalid,
                      on_click=ws.save_only, args=(w, svc, ident))
        st.button("Start Export", key=ws.key(w, "start"), type="primary", disabled=invalid,
                  icon=":material/rocket_launch:", on_click=ws.start_export, args=(w, svc, ident))


@st.dialog("Create Data Export", width="large", on_dismiss=ws.close_wizard)
def wizard_dialog(svc: ExportService, ident: common.Identity,
                  templates: list[ExportTemplate]) -> None:
    w = st.session_state.get(ws.WIZARD)
    if w is None:  # a callback finished or cancelled the wizard: redraw the whole page
        st.rerun()
    render_steps(w)
    catalog = svc.catalog
    dtype = catalog.types.get(w["data_type"])
    if w["step"] == 1 or dtype is None:
        render_data_type(w, catalog)
    elif w["step"] == 2:
        render_filters(w, dtype)
    elif w["step"] == 3:
        render_fields(w, dtype, templates)
    else:
        render_format(w)
    issues = ws.problems(w, catalog, templates)
    for message in issues[w["step"]]:
        st.error(message, icon=":material/error:")
    if w["error"]:
        st.error(w["error"], icon=":material/block:")
    if dtype is not None and not any(issues[s] for s in (1, 2, 3)):
        render_estimate(w, svc, ident.org)
        if w["step"] == len(ws.STEPS):
            render_preview(w, svc, ident.org, dtype)
    render_buttons(w, issues, svc, ident)


def show(svc: ExportService, ident: common.Identity, templates: list[ExportTemplate]) -> None:
    """Draw the wizard if it is open (call on every full run, outside fragments)."""
    if st.session_state.get(ws.WIZARD):
        wizard_dialog(svc, ident, templates)
