"""Export templates and jobs, isolated per org by row-level security.

Creates the two tables, their RLS policy (org from the `app.org_id` setting, empty
means no rows), the `export_app` login role the app and workers use (bound by RLS: not
superuser, not owner, no BYPASSRLS), and the few SECURITY DEFINER functions that let
workers find cross-org work. Those functions only return org ids; every change is then
made through an org-bound session, under RLS.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "export"
ROLE = "export_app"
TABLES = ("export_templates", "export_jobs")
ORG = "org_id = NULLIF(current_setting('app.org_id', true), '')::int"
TZ = sa.DateTime(timezone=True)
NOW = sa.text("now()")

# name -> (arguments, result, body). Each returns org ids only, never row contents.
FUNCTIONS = {
    "job_org": ("job uuid", "integer",
                f"SELECT org_id FROM {S}.export_jobs WHERE id = job"),
    "orgs_with_stale_jobs": ("seconds integer", "SETOF integer",
                             f"SELECT DISTINCT org_id FROM {S}.export_jobs WHERE status = 'running'"
                             " AND heartbeat_at < now() - make_interval(secs => seconds)"),
    "orgs_with_queued_jobs": ("", "SETOF integer",
                              f"SELECT DISTINCT org_id FROM {S}.export_jobs WHERE status = 'queued'"
                              " AND (not_before IS NULL OR not_before <= now())"),
    "orgs_to_clean": ("at timestamptz, keep_days integer", "SETOF integer",
                      f"SELECT DISTINCT org_id FROM {S}.export_jobs"
                      " WHERE (status = 'completed' AND file_key IS NOT NULL AND expires_at <= at)"
                      " OR (status IN ('completed', 'failed', 'cancelled')"
                      " AND created_at < at - make_interval(days => keep_days))"),
}


def _signature(name: str, args: str) -> str:
    """`export.orgs_to_clean(timestamptz, integer)` from the declared arguments."""
    types = [arg.split()[1] for arg in args.split(",") if arg.strip()]
    return f"{S}.{name}({', '.join(types)})"


def _tables() -> None:
    op.create_table(
        "export_templates",
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("data_type", sa.Text, nullable=False),
        sa.Column("fields", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("filters", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.Column("updated_at", TZ, nullable=False, server_default=NOW),
        sa.Column("last_used_at", TZ),
        sa.UniqueConstraint("org_id", "name", name="export_templates_org_name_key"),
        schema=S,
    )
    big, text = sa.BigInteger, sa.Text
    op.create_table(
        "export_jobs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("template_id", UUID(as_uuid=True),
                  sa.ForeignKey(f"{S}.export_templates.id", ondelete="SET NULL")),
        sa.Column("name", text, nullable=False),
        sa.Column("created_by", text),
        sa.Column("spec", JSONB, nullable=False),
        sa.Column("status", text, nullable=False, server_default=sa.text("'queued'")),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.Column("queued_at", TZ, nullable=False, server_default=NOW),
        sa.Column("not_before", TZ),
        sa.Column("started_at", TZ),
        sa.Column("completed_at", TZ),
        sa.Column("progress", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("total_rows", big),
        sa.Column("processed_rows", big, nullable=False, server_default=sa.text("0")),
        sa.Column("eta_seconds", sa.Integer),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default=sa.text("3")),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("heartbeat_at", TZ),
        sa.Column("worker", text),
        sa.Column("file_key", text),
        sa.Column("file_name", text),
        sa.Column("bytes", big),
        sa.Column("sha256", text),
        sa.Column("row_count", big),
        sa.Column("expires_at", TZ),
        sa.Column("error_code", text),
        sa.Column("error_message", text),
        sa.Column("duration_seconds", sa.Numeric(10, 3)),
        sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("dedupe_key", text),
        sa.CheckConstraint("status IN ('queued', 'running', 'completed', 'failed', 'cancelled')",
                           name="export_jobs_status_check"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="export_jobs_progress_check"),
        schema=S,
    )
    jobs = "export_jobs"
    op.create_index("ix_export_jobs_org_status_queued", jobs, ["org_id", "status", "queued_at"],
                    schema=S)
    op.create_index("ix_export_jobs_org_created", jobs, ["org_id", sa.text("created_at DESC")],
                    schema=S)
    op.create_index("ix_export_jobs_status_heartbeat", jobs, ["status", "heartbeat_at"], schema=S)
    op.create_index("ix_export_jobs_org_dedupe", jobs, ["org_id", "dedupe_key"], schema=S)
    op.create_index("ix_export_jobs_template", jobs, ["template_id"], schema=S)


def _app_role(password: str) -> None:
    """Create the login role if missing (its password is set only then) and make sure
    it can never bypass RLS, whatever happened to it since."""
    op.get_bind().execute(sa.text("SELECT set_config('export.app_password', :pw, true)"),
                          {"pw": password})
    op.execute(f"""
        DO $$
        DECLARE r pg_roles%ROWTYPE;
        BEGIN
            SELECT * INTO r FROM pg_roles WHERE rolname = '{ROLE}';
            IF NOT FOUND THEN
                EXECUTE format('CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB '
                               'NOCREATEROLE PASSWORD %L',
                               current_setting('export.app_password'));
            ELSIF r.rolsuper OR r.rolbypassrls OR NOT r.rolcanlogin THEN
                ALTER ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END
        $$""")
    op.execute("SELECT set_config('export.app_password', '', true)")


def _security() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {S}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {S}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY org_isolation ON {S}.{table} USING ({ORG}) WITH CHECK ({ORG})")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {S}.{table} TO {ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA {S} TO {ROLE}")
    for name, (args, result, body) in FUNCTIONS.items():
        op.execute(f"""
            CREATE FUNCTION {S}.{name}({args}) RETURNS {result}
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
            AS $fn$ {body} $fn$""")
        op.execute(f"REVOKE ALL ON FUNCTION {_signature(name, args)} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {_signature(name, args)} TO {ROLE}")


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    _tables()
    _app_role(str(context.config.attributes.get("app_password") or "export_app"))
    _security()


def downgrade() -> None:
    # The schema stays (it holds alembic's version table) and so does the role, which is
    # cluster-wide and may serve other databases.
    for name, (args, _, _) in FUNCTIONS.items():
        op.execute(f"DROP FUNCTION {_signature(name, args)}")
    op.drop_table("export_jobs", schema=S)
    op.drop_table("export_templates", schema=S)
    op.execute(f"REVOKE USAGE ON SCHEMA {S} FROM {ROLE}")
