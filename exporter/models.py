"""SQLAlchemy models of the app's own tables: export templates and export jobs.

Both live in the Postgres schema `export`, carry `org_id` and are isolated per org by
row-level security (see exporter/migrations). The migrations, not these classes, create
the tables; a test compares the two so they cannot drift apart.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "export"
STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FINISHED = ("completed", "failed", "cancelled")
NAME_MAX = 100

TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text("gen_random_uuid()"))


class ExportTemplate(Base):
    """A saved export setup: a spec split into columns, re-run with one click."""

    __tablename__ = "export_templates"
    __table_args__ = (UniqueConstraint("org_id", "name", name="export_templates_org_name_key"),)

    id: Mapped[uuid.UUID] = _id()
    org_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    data_type: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # date_range, date_from, date_to, statuses, only_active, exclude_archived
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    format: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now(),
                                                 onupdate=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)


class ExportJob(Base):
    """One export run (or queued run) with the spec snapshot it runs with."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'completed', 'failed', 'cancelled')",
                        name="export_jobs_status_check"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="export_jobs_progress_check"),
        Index("ix_export_jobs_org_status_queued", "org_id", "status", "queued_at"),
        Index("ix_export_jobs_org_created", "org_id", text("created_at DESC")),
        Index("ix_export_jobs_status_heartbeat", "status", "heartbeat_at"),
        Index("ix_export_jobs_org_dedupe", "org_id", "dedupe_key"),
        Index("ix_export_jobs_template", "template_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    org_id: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.export_templates.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    queued_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    not_before: Mapped[datetime | None] = mapped_column(TZ)
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    completed_at: Mapped[datetime | None] = mapped_column(TZ)
    progress: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_rows: Mapped[int | None] = mapped_column(BigInteger)
    processed_rows: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    eta_seconds: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    cancel_requested: Mapped[bool] = mapped_column(server_default=false())
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZ)
    worker: Mapped[str | None] = mapped_column(Text)
    file_key: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(Text)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    error_code: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    hidden: Mapped[bool] = mapped_column(server_default=false())
    dedupe_key: Mapped[str | None] = mapped_column(Text)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
