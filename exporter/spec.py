"""ExportSpec: what one export asks for, and its validation (the spec's Validation section).

validate() lists every violation as an InvalidSpec (code, field, message) so a form can
show each message beside its step; check() raises the first one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from exporter.catalog import Catalog
from exporter.errors import InvalidSpec

MAX_FIELDS = 50
MAX_RANGE_DAYS = 366
RANGES = ("last_30_days", "last_90_days", "custom", "all")
SAFE_TEXT = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True)
class ExportSpec:
    """One export: data type, ordered fields, filters, format and its options."""

    data_type: str
    fields: tuple[str, ...]
    format: str = "csv"
    date_range: str = "last_30_days"
    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] = ()
    only_active: bool = False
    exclude_archived: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["fields"] = list(self.fields)
        out["statuses"] = list(self.statuses)
        out["date_from"] = self.date_from.isoformat() if self.date_from else None
        out["date_to"] = self.date_to.isoformat() if self.date_to else None
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ExportSpec:
        """Build a spec from JSON-ish data; shape errors become InvalidSpec."""
        try:
            return cls(
                data_type=str(raw.get("data_type") or ""),
                fields=tuple(str(f) for f in raw.get("fields") or ()),
                format=str(raw.get("format") or "csv"),
                date_range=str(raw.get("date_range") or "last_30_days"),
                date_from=_to_date(raw.get("date_from"), "date_from"),
                date_to=_to_date(raw.get("date_to"), "date_to"),
                statuses=tuple(str(s) for s in raw.get("statuses") or ()),
                only_active=bool(raw.get("only_active", False)),
                exclude_archived=bool(raw.get("exclude_archived", False)),
                options=dict(raw.get("options") or {}),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidSpec("INVALID_SPEC", f"malformed export spec: {exc}") from exc

    def date_bounds(self, today: date) -> tuple[date, date] | None:
        """Inclusive (first, last) day the export covers, or None for all dates."""
        if self.date_range == "last_30_days":
            return today - timedelta(days=29), today
        if self.date_range == "last_90_days":
            return today - timedelta(days=89), today
        if self.date_range == "custom" and self.date_from and self.date_to:
            return self.date_from, self.date_to
        return None


def _to_date(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidSpec("INVALID_DATE", f"{name} {value!r} is not a date (YYYY-MM-DD)", name) from exc


def _shown(value: str) -> str:
    return value if SAFE_TEXT.match(value) else repr(value[:40])


def validate(spec: ExportSpec, catalog: Catalog, formats: dict[str, Any]) -> list[InvalidSpec]:
    """Every rule the spec breaks; an empty list means it may run."""
    errors: list[InvalidSpec] = []
    if not spec.data_type:
        return [InvalidSpec("DATA_TYPE_REQUIRED", "Choose a data type", "data_type")]
    dtype = catalog.get(spec.data_type)
    if dtype is None:
        known = ", ".join(catalog.types)
        msg = f"Unknown data type {_shown(spec.data_type)}; choose one of {known}"
        return [InvalidSpec("UNKNOWN_DATA_TYPE", msg, "data_type")]
    if not spec.fields:
        errors.append(InvalidSpec("NO_FIELDS", "Select at least 1 field", "fields"))
    if len(spec.fields) > MAX_FIELDS:
        msg = f"Select at most {MAX_FIELDS} fields ({len(spec.fields)} selected)"
        errors.append(InvalidSpec("TOO_MANY_FIELDS", msg, "fields"))
    known_fields = set(dtype.field_names())
    for name in spec.fields:
        if name not in known_fields:
            msg = f"{dtype.label} has no field {_shown(name)}"
            errors.append(InvalidSpec("UNKNOWN_FIELD", msg, "fields"))
    repeated = sorted({n for n in spec.fields if spec.fields.count(n) > 1})
    if repeated:
        errors.append(InvalidSpec("DUPLICATE_FIELD", f"Fields chosen twice: {repeated}", "fields"))
    errors += _date_errors(spec)
    for status in spec.statuses:
        if status not in dtype.statuses:
            allowed = ", ".join(dtype.statuses) or "none"
            msg = f"{dtype.label} has no status {_shown(status)}; allowed: {allowed}"
            errors.append(InvalidSpec("UNKNOWN_STATUS", msg, "statuses"))
    if spec.only_active and not dtype.active_column:
        errors.append(InvalidSpec("FILTER_UNAVAILABLE", f"{dtype.label} has no active flag", "only_active"))
    if spec.exclude_archived and not dtype.archived_column:
        msg = f"{dtype.label} has no archived flag"
        errors.append(InvalidSpec("FILTER_UNAVAILABLE", msg, "exclude_archived"))
    if spec.format not in formats:
        msg = f"Unknown format {_shown(spec.format)}; choose one of {', '.join(formats)}"
        errors.append(InvalidSpec("UNKNOWN_FORMAT", msg, "format"))
    else:
        errors += formats[spec.format].option_errors(spec.options)
    return errors


def _date_errors(spec: ExportSpec) -> list[InvalidSpec]:
    if spec.date_range not in RANGES:
        msg = f"Date range {_shown(spec.date_range)} is not one of {', '.join(RANGES)}"
        return [InvalidSpec("INVALID_DATE_RANGE", msg, "date_range")]
    if spec.date_range != "custom":
        return []
    if not spec.date_from or not spec.date_to:
        return [InvalidSpec("INVALID_DATE_RANGE", "A custom range needs a start and an end date",
                            "date_range")]
    if spec.date_from > spec.date_to:
        msg = f"The range starts ({spec.date_from}) after it ends ({spec.date_to})"
        return [InvalidSpec("INVALID_DATE_RANGE", msg, "date_range")]
    days = (spec.date_to - spec.date_from).days + 1
    if days > MAX_RANGE_DAYS:
        msg = f"The range spans {days} days; at most one year ({MAX_RANGE_DAYS} days) is allowed"
        return [InvalidSpec("DATE_RANGE_TOO_LONG", msg, "date_range")]
    return []


def check(spec: ExportSpec, catalog: Catalog, formats: dict[str, Any]) -> None:
    """Raise the first violation, if any."""
    errors = validate(spec, catalog, formats)
    if errors:
        raise errors[0]
