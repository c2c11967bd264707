"""Per-org API tokens for the REST API, isolated per org like templates and jobs.

Only the sha256 of a token is stored, with its first characters for people to recognise
it. The API learns a request's org from its token before it knows the org, so one
SECURITY DEFINER function, `token_org(hash)`, answers "which org owns this live token"
(an org id or NULL, nothing else); listing, creating and revoking go through an
org-bound session under RLS.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "export"
ROLE = "export_app"
TABLE = "api_tokens"
ORG = "org_id = NULLIF(current_setting('app.org_id', true), '')::int"
TZ = sa.DateTime(timezone=True)
FUNCTION = f"{S}.token_org(text)"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("last_used_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.UniqueConstraint("token_hash", name="api_tokens_token_hash_key"),
        sa.CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="api_tokens_token_hash_check"),
        schema=S,
    )
    op.create_index("ix_api_tokens_org", TABLE, ["org_id"], schema=S)
    op.execute(f"ALTER TABLE {S}.{TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {S}.{TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY org_isolation ON {S}.{TABLE} USING ({ORG}) WITH CHECK ({ORG})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {S}.{TABLE} TO {ROLE}")
    op.execute(f"""
        CREATE FUNCTION {S}.token_org(hash text) RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $fn$ SELECT org_id FROM {S}.{TABLE}
                WHERE token_hash = hash AND revoked_at IS NULL $fn$""")
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FUNCTION}")
    op.drop_table(TABLE, schema=S)
