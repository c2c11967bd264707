"""Saved export templates of one org: validated create/update, list, get, delete, use.

A template stores an ExportSpec split into columns (data_type, fields, filters, format,
options); `spec_of` puts it back together. Names are unique per org.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exporter.catalog import Catalog, load_catalog
from exporter.errors import InvalidSpec
from exporter.formats import WRITERS
from exporter.models import NAME_MAX, ExportTemplate
from exporter.spec import ExportSpec, check
from exporter.store import Conflict, NotFound, as_id, org_of

FILTERS = ("date_range", "date_from", "date_to", "statuses", "only_active", "exclude_archived")
UNIQUE_NAME = "export_templates_org_name_key"


def create_template(session: Session, name: str, spec: ExportSpec, created_by: str | None,
                    catalog: Catalog | None = None) -> ExportTemplate:
    """Save a new template; InvalidSpec for a bad name or spec, Conflict for a taken name."""
    values = {"name": _valid_name(name), **_spec_columns(spec, catalog)}
    template = ExportTemplate(org_id=org_of(session), created_by=created_by)
    return _save(session, template, values)


def list_templates(session: Session) -> list[ExportTemplate]:
    query = select(ExportTemplate).where(ExportTemplate.org_id == org_of(session))
    return list(session.scalars(query.order_by(ExportTemplate.name, ExportTemplate.id)))


def get_template(session: Session, template_id: uuid.UUID | str) -> ExportTemplate:
    found = session.get(ExportTemplate, as_id(template_id, "Template"), populate_existing=True)
    if found is None:
        raise NotFound("Template", template_id)
    return found


def update_template(session: Session, template_id: uuid.UUID | str, *, name: str | None = None,
                    spec: ExportSpec | None = None,
                    catalog: Catalog | None = None) -> ExportTemplate:
    """Rename and/or replace the spec, with the same checks as create_template."""
    template = get_template(session, template_id)
    values = {} if name is None else {"name": _valid_name(name)}
    if spec is not None:
        values.update(_spec_columns(spec, catalog))
    return _save(session, template, values)


def delete_template(session: Session, template_id: uuid.UUID | str) -> None:
    """Delete a template; its past jobs stay, their template_id becomes NULL."""
    session.delete(get_template(session, template_id))
    session.flush()


def touch_template(session: Session, template_id: uuid.UUID | str) -> ExportTemplate:
    """Record that the template was just used (Export Now)."""
    template = get_template(session, template_id)
    template.last_used_at = func.now()  # type: ignore[assignment]
    session.flush()
    session.refresh(template)
    return template


def spec_of(template: ExportTemplate) -> ExportSpec:
    raw: dict[str, Any] = dict(template.filters or {})
    raw.update(data_type=template.data_type, fields=template.fields, format=template.format,
               options=template.options)
    return ExportSpec.from_dict(raw)


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidSpec("NAME_REQUIRED", "Enter a template name", "name")
    if len(name) > NAME_MAX:
        msg = f"A template name has at most {NAME_MAX} characters ({len(name)} given)"
        raise InvalidSpec("NAME_TOO_LONG", msg, "name")
    return name


def _spec_columns(spec: ExportSpec, catalog: Catalog | None) -> dict[str, Any]:
    check(spec, catalog or load_catalog(), WRITERS)
    raw = spec.to_dict()
    return {"data_type": spec.data_type, "fields": raw["fields"], "format": spec.format,
            "filters": {key: raw[key] for key in FILTERS}, "options": raw["options"]}


def _save(session: Session, template: ExportTemplate, values: dict[str, Any]) -> ExportTemplate:
    """Apply and flush in a savepoint, so a taken name becomes a Conflict and the session
    lives on. (begin_nested flushes what is pending first: change nothing before it.)"""
    try:
        with session.begin_nested():
            for key, value in values.items():
                setattr(template, key, value)
            session.add(template)
            session.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != UNIQUE_NAME:
            raise
        msg = f"A template named {values.get('name')!r} already exists; choose another name"
        raise Conflict("TEMPLATE_NAME_TAKEN", msg, "name") from None
    session.refresh(template)
    return template
