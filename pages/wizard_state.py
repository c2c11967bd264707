"""The Create Export wizard's state and actions, apart from its drawing.

The answers live in one plain dict in session state (widget keys vanish while a step is
not drawn); widgets copy into it through on_change callbacks, buttons move it through
on_click callbacks. Estimates and previews are cached per spec for the session.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import streamlit as st

from exporter.catalog import Catalog, DataType
from exporter.errors import ExportError
from exporter.formats import WRITERS
from exporter.jobs import ExportService
from exporter.models import NAME_MAX, ExportTemplate
from exporter.preview import Estimate, Preview, estimate, preview
from exporter.spec import ExportSpec, validate
from exporter.store_templates import spec_of
from pages import common, job_queue

WIZARD = "wizard"  # the open wizard's answers, or None
SUBMITTED = "wizard_submitted"  # tokens of wizards that already queued their export
ESTIMATES = "wizard_estimates"
PREVIEWS = "wizard_previews"

STEPS = ("Select Data Source", "Filters & Date Range", "Select Fields", "Export Format")
STEP_OF = {"data_type": 1, "date_range": 2, "date_from": 2, "date_to": 2, "statuses": 2,
           "only_active": 2, "exclude_archived": 2, "fields": 3}  # anything else: step 4
RANGES = {"last_30_days": "Last 30 days", "last_90_days": "Last 90 days",
          "custom": "Custom range", "all": "All dates"}
PREVIEW_ROWS = 10
CACHE_MAX = 40


def key(w: dict[str, Any], name: str) -> str:
    """A widget key unique to this opening of the wizard, so no stale widget state leaks."""
    return f"wiz_{w['token']}_{name}"


def field_key(w: dict[str, Any], name: str) -> str:
    return key(w, f"f_{w['data_type']}_{name}")


def open_wizard(mode: str = "create", template: ExportTemplate | None = None) -> None:
    """Callback: open the wizard empty ("create"/"template") or filled from a template."""
    today = date.today()
    w: dict[str, Any] = {
        "token": uuid.uuid4().hex, "step": 1, "mode": mode, "template_id": None,
        "data_type": "", "date_range": "last_30_days", "date_from": today - timedelta(days=29),
        "date_to": today, "statuses": [], "only_active": False, "exclude_archived": False,
        "fields": [], "format": "csv", "save": mode != "create", "name": "", "error": None,
    }
    if template is not None:
        spec = spec_of(template)
        w.update(mode="edit", template_id=str(template.id), name=template.name, save=True,
                 data_type=spec.data_type, fields=list(spec.fields), format=spec.format,
                 date_range=spec.date_range, statuses=list(spec.statuses),
                 only_active=spec.only_active, exclude_archived=spec.exclude_archived)
        w["date_from"] = spec.date_from or w["date_from"]
        w["date_to"] = spec.date_to or w["date_to"]
    st.session_state[WIZARD] = w


def close_wizard() -> None:
    st.session_state[WIZARD] = None


def spec_from(w: dict[str, Any]) -> ExportSpec:
    custom = w["date_range"] == "custom"
    return ExportSpec(
        data_type=w["data_type"], fields=tuple(w["fields"]), format=w["format"],
        date_range=w["date_range"], date_from=w["date_from"] if custom else None,
        date_to=w["date_to"] if custom else None, statuses=tuple(w["statuses"]),
        only_active=w["only_active"], exclude_archived=w["exclude_archived"])


def problems(w: dict[str, Any], catalog: Catalog,
             templates: list[ExportTemplate]) -> dict[int, list[str]]:
    """Validation messages by the step they concern."""
    out: dict[int, list[str]] = {1: [], 2: [], 3: [], 4: []}
    for error in validate(spec_from(w), catalog, WRITERS):
        out[STEP_OF.get(error.field or "", 4)].append(error.message)
    if w["save"]:
        name = w["name"].strip()
        taken = any(t.name == name and str(t.id) != w["template_id"] for t in templates)
        if not name:
            out[4].append("Enter a template name")
        elif len(name) > NAME_MAX:
            out[4].append(f"A template name has at most {NAME_MAX} characters ({len(name)} given)")
        elif taken:
            out[4].append(f"A template named “{name}” already exists; choose another name")
    return out


# --- widget callbacks ---------------------------------------------------------------

def copy(w: dict[str, Any], name: str, widget: str) -> None:
    value = st.session_state.get(widget)
    w[name] = list(value) if isinstance(value, list | tuple) else value
    w["error"] = None


def choose_data_type(w: dict[str, Any], catalog: Catalog, widget: str) -> None:
    chosen = st.session_state.get(widget) or ""
    if chosen == w["data_type"]:
        return
    dtype = catalog.types[chosen]
    w.update(data_type=chosen, fields=dtype.default_fields(), statuses=[], error=None,
             only_active=w["only_active"] and bool(dtype.active_column),
             exclude_archived=w["exclude_archived"] and bool(dtype.archived_column))
    if w["mode"] != "edit":
        w["name"] = f"{dtype.label} Export Template"


def set_fields(w: dict[str, Any], dtype: DataType, fields: list[str]) -> None:
    """Select exactly `fields` (in catalog order), checkboxes included."""
    order = dtype.field_names()
    w["fields"] = [name for name in order if name in set(fields)]
    for name in order:
        st.session_state[field_key(w, name)] = name in w["fields"]
    w["error"] = None


def toggle_field(w: dict[str, Any], dtype: DataType, name: str) -> None:
    chosen = set(w["fields"])
    if st.session_state.get(field_key(w, name)):
        chosen.add(name)
    else:
        chosen.discard(name)
    w["fields"] = [n for n in dtype.field_names() if n in chosen]
    w["error"] = None


def use_template(w: dict[str, Any], dtype: DataType, templates: list[ExportTemplate],
                 widget: str) -> None:
    found = next((t for t in templates if str(t.id) == st.session_state.get(widget)), None)
    if found is not None:
        set_fields(w, dtype, list(found.fields))


def move(w: dict[str, Any], step: int) -> None:
    w["step"] = max(1, min(len(STEPS), step))
    w["error"] = None


# --- actions ---------------------------------------------------------------------------

def _save_template(w: dict[str, Any], svc: ExportService, ident: common.Identity) -> ExportTemplate:
    spec, name = spec_from(w), w["name"].strip()
    if w["template_id"]:
        return svc.update_template(ident.org, w["template_id"], name=name, spec=spec)
    template = svc.create_template(ident.org, name, spec, ident.user)
    w.update(mode="edit", template_id=str(template.id))  # a retry updates, not duplicates
    return template


def save_only(w: dict[str, Any], svc: ExportService, ident: common.Identity) -> None:
    try:
        template = _save_template(w, svc, ident)
    except common.LOAD_ERRORS as exc:
        w["error"] = _message(exc)
        return
    common.flash(f"Template saved: {template.name}", ":material/save:")
    close_wizard()


def start_export(w: dict[str, Any], svc: ExportService, ident: common.Identity) -> None:
    """Queue the export once per wizard, whatever the number of clicks (the service also
    merges the same export submitted twice within seconds)."""
    submitted: set[str] = st.session_state.setdefault(SUBMITTED, set())
    if w["token"] in submitted:
        return
    submitted.add(w["token"])
    try:
        if w["save"]:  # queued like Export Now, which also marks the template used
            template = _save_template(w, svc, ident)
            job, created = svc.export_now(ident.org, str(template.id), ident.user)
        else:
            job, created = svc.submit(ident.org, spec_from(w), ident.user)
        position = svc.position(ident.org, job)
    except common.LOAD_ERRORS as exc:
        submitted.discard(w["token"])
        w["error"] = _message(exc)
        return
    job_queue.watch(job)
    if not created:
        common.flash(f"This export was queued moments ago: {job.name}", ":material/info:")
    else:
        where = f" — Position: {common.ordinal(position)}" if position else ""
        common.flash(f"Export queued: {job.name}{where}", ":material/schedule:")
    close_wizard()


def _message(exc: BaseException) -> str:
    if isinstance(exc, ExportError):
        return exc.message
    return f"The export service could not be reached ({type(exc).__name__}). Try again."


# --- estimate and preview, cached per spec ---------------------------------------------

def _cache_key(org: int, spec: ExportSpec) -> str:
    raw = spec.to_dict()
    raw.pop("format")
    return json.dumps({"org": org, **raw}, sort_keys=True, default=str)


def _cached(name: str, key_: str, compute: Any) -> Any:
    cache: dict[str, Any] = st.session_state.setdefault(name, {})
    if key_ not in cache:
        if len(cache) >= CACHE_MAX:
            cache.clear()
        cache[key_] = compute()
    return cache[key_]


def cached_estimate(svc: ExportService, org: int, spec: ExportSpec) -> Estimate:
    return _cached(ESTIMATES, _cache_key(org, spec), lambda: estimate(spec, org, svc.settings))


def cached_preview(svc: ExportService, org: int, spec: ExportSpec) -> Preview:
    return _cached(PREVIEWS, _cache_key(org, spec),
                   lambda: preview(spec, org, svc.settings, PREVIEW_ROWS))


def estimate_line(est: Estimate, fmt: str) -> str:
    took = common.duration(est.seconds.get(fmt))
    line = (f"Estimated rows: ~{est.rows:,}  |  Est. file size: ~{common.size(est.bytes.get(fmt))}"
            f"  |  Est. time: {'' if took.startswith('<') else '~'}{took}")
    return line if est.exact else f"{line} (planner estimate)"


def preview_table(result: Preview, dtype: DataType) -> dict[str, list[Any]]:
    """Columns by label; nested line items as readable text."""
    table: dict[str, list[Any]] = {}
    for i, (name, label) in enumerate(zip(result.names, result.labels, strict=True)):
        child = dtype.children.get(name)
        table[label] = [_items_text(row[i], child.text) if child else _plain(row[i])
                        for row in result.rows]
    return table


def _items_text(items: Any, template: str) -> str:
    texts = []
    for item in items or []:
        values = {k: "" if v is None else str(v) for k, v in dict(item).items()}
        try:
            texts.append(template.format(**values))
        except (KeyError, IndexError, ValueError):
            texts.append(", ".join(f"{k}: {v}" for k, v in values.items()))
    return "; ".join(texts)


def _plain(value: Any) -> Any:
    """Exact decimals as text (no float rounding in the preview)."""
    return str(value) if isinstance(value, Decimal) else value
