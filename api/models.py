"""Request and response bodies of the REST API (pydantic), and how rows become them.

Requests are checked for shape here; what a spec means (data types, fields, statuses,
format options) is checked by the exporter core, which raises InvalidSpec. Strings
that Postgres cannot store (NUL, lone surrogates) are refused here, as 422s.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from exporter.formats import WRITERS
from exporter.models import NAME_MAX, ExportJob, ExportTemplate
from exporter.spec import MAX_RANGE_DAYS, ExportSpec
from exporter.store_templates import spec_of

# Mirrors of exporter.models.STATUSES and exporter.spec.RANGES (a test keeps them equal).
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
DateRange = Literal["last_30_days", "last_90_days", "custom", "all"]


def storable(value: Any, where: str = "value") -> Any:
    """Refuse what Postgres text/jsonb cannot hold: NUL, lone surrogates, NaN/Infinity."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where} is not valid Unicode") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, where)
            storable(item, where)
    elif isinstance(value, list):
        for item in value:
            storable(item, where)
    return value


Name = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(storable)]
Options = Annotated[dict[str, Any], Field(max_length=20), AfterValidator(storable)]
Short = Annotated[str, Field(max_length=200), AfterValidator(storable)]
FORMATS: dict[str, Any] = {"enum": sorted(WRITERS)}  # documented; the core checks it


class Error(BaseModel):
    """Every error response: a stable code, a human message and the field it concerns."""

    code: str = Field(examples=["TEMPLATE_NAME_TAKEN"])
    message: str = Field(examples=["A template named 'Weekly' already exists; choose another name"])
    field: str | None = Field(default=None, examples=["name"])


class SpecIn(BaseModel):
    """What to export; the same fields as a template or a job's spec."""

    model_config = ConfigDict(extra="forbid")

    data_type: Short = Field(description="A data type of the catalog", examples=["orders"])
    fields: list[Short] = Field(max_length=200, description="Field names, in column order "
                                "(1 to 50)", examples=[["order_number", "order_date", "total"]])
    format: Short = Field(default="csv", json_schema_extra=FORMATS)
    date_range: DateRange = "last_30_days"
    date_from: date | None = Field(default=None, description="First day (date_range custom)")
    date_to: date | None = Field(default=None, description="Last day (date_range custom); at "
                                 f"most {MAX_RANGE_DAYS} days after date_from")
    statuses: list[Short] = Field(default_factory=list, max_length=50,
                                  description="Only rows with these statuses (empty: all)")
    only_active: bool = False
    exclude_archived: bool = False
    options: Options = Field(default_factory=dict, description="Format options, e.g. CSV "
                             "delimiter, bom, header, formula_guard")

    def spec(self) -> ExportSpec:
        return ExportSpec.from_dict(self.model_dump(include=set(SpecIn.model_fields)))


class SpecOut(BaseModel):
    data_type: str
    fields: list[str]
    format: str = "csv"
    date_range: str = "last_30_days"
    date_from: date | None = None
    date_to: date | None = None
    statuses: list[str] = Field(default_factory=list)
    only_active: bool = False
    exclude_archived: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class TemplateIn(SpecIn):
    """A template: a unique name (per org) and a spec. PUT replaces both."""

    name: Name = Field(examples=["Weekly orders"])


class TemplateOut(SpecOut):
    id: uuid.UUID
    name: str
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None

    @classmethod
    def of_row(cls, t: ExportTemplate) -> TemplateOut:
        return cls(id=t.id, name=t.name, created_by=t.created_by, created_at=t.created_at,
                   updated_at=t.updated_at, last_used_at=t.last_used_at,
                   **spec_of(t).to_dict())


class TemplateList(BaseModel):
    templates: list[TemplateOut]


class JobIn(BaseModel):
    """Start an export: either `template_id` alone, or a spec (`data_type`, `fields`, ...).
    `name` is optional either way."""

    model_config = ConfigDict(extra="forbid")

    template_id: uuid.UUID | None = None
    name: Short | None = Field(default=None, examples=["Orders for accounting"])
    data_type: Short | None = None
    fields: list[Short] | None = Field(default=None, max_length=200)
    format: Short | None = Field(default=None, json_schema_extra=FORMATS)
    date_range: DateRange | None = None
    date_from: date | None = None
    date_to: date | None = None
    statuses: list[Short] | None = Field(default=None, max_length=50)
    only_active: bool | None = None
    exclude_archived: bool | None = None
    options: Options | None = None

    @model_validator(mode="after")
    def template_or_spec(self) -> JobIn:
        spec_keys = self.model_fields_set - {"template_id", "name"}
        if self.template_id is not None and spec_keys:
            raise ValueError("give either template_id or a spec, not both")
        if self.template_id is None and self.data_type is None:
            raise ValueError("give template_id or a spec with data_type and fields")
        return self

    def spec(self) -> ExportSpec:
        raw = self.model_dump(exclude_none=True, exclude={"template_id", "name"})
        return ExportSpec.from_dict(raw)


class JobOut(BaseModel):
    id: uuid.UUID
    name: str
    status: JobStatus
    position: int | None = Field(default=None, description="Place in the org's queue (queued)")
    cancel_requested: bool
    progress: int = Field(ge=0, le=100)
    processed_rows: int
    total_rows: int | None = None
    eta_seconds: int | None = None
    attempts: int
    max_attempts: int
    row_count: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    file_name: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    duration_seconds: float | None = None
    created_by: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, description="When the download expires")
    template_id: uuid.UUID | None = None
    spec: SpecOut
    created: bool | None = Field(default=None, description="POST /jobs: false when the same "
                                 "export was just queued and that job is returned")

    @classmethod
    def of_row(cls, job: ExportJob, position: int | None = None,
               created: bool | None = None) -> JobOut:
        values = {name: getattr(job, name) for name in JOB_COLUMNS}
        return cls.model_validate({**values, "position": position, "created": created})


# The export_jobs columns a JobOut shows (the rest it computes or is told).
JOB_COLUMNS = tuple(name for name in JobOut.model_fields if name not in ("position", "created"))


class JobList(BaseModel):
    total: int = Field(description="Jobs matching the filter, on all pages")
    limit: int
    offset: int
    jobs: list[JobOut]


class DownloadLink(BaseModel):
    url: str = Field(description="GET it (no API token needed) until expires_at",
                     examples=["/api/integrations/exports/files/eyJlIjo...Q.x2b..."])
    expires_at: datetime
