"""Row-level security on the export tables, checked with raw SQL as the app role.

The fixtures here (a migrated database, the app-role engine, clean tables) are shared
with tests/test_store.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

import exporter.tokens  # noqa: F401  (its ApiToken model is part of Base.metadata)
from exporter import db, services
from exporter.models import Base

TABLES = ("export.export_templates", "export.export_jobs")


@pytest.fixture(scope="module")
def migrated(database_url: str) -> str:
    db.upgrade(database_url)
    return database_url


@pytest.fixture(scope="module")
def app_engine(migrated: str) -> Iterator[Engine]:
    engine = db.make_engine(db.app_url(migrated))
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def clean(migrated: str, admin_engine: Engine) -> None:
    with admin_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))


@pytest.fixture
def app_conn(migrated: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(services.libpq_url(db.app_url(migrated)), autocommit=True) as conn:
        yield conn


@pytest.fixture
def two_orgs(admin_engine: Engine) -> None:
    """A template and a job in org 1 and in org 2, written by the superuser."""
    with admin_engine.begin() as conn:
        for org in (1, 2):
            conn.execute(text(
                "INSERT INTO export.export_templates (org_id, name, data_type, format)"
                " VALUES (:org, 'Weekly', 'orders', 'csv')"), {"org": org})
            conn.execute(text(
                "INSERT INTO export.export_jobs (org_id, name, spec)"
                " VALUES (:org, 'Orders export', '{}')"), {"org": org})


def as_org(conn: psycopg.Connection, org: int | str) -> None:
    conn.execute("SELECT set_config('app.org_id', %s, false)", [str(org)])


def orgs_seen(conn: psycopg.Connection, table: str) -> list[int]:
    return [row[0] for row in conn.execute(f"SELECT org_id FROM {table} ORDER BY org_id")]


@pytest.mark.usefixtures("two_orgs")
@pytest.mark.parametrize("table", TABLES)
def test_an_org_sees_only_its_own_rows(app_conn: psycopg.Connection, table: str) -> None:
    as_org(app_conn, 1)
    assert orgs_seen(app_conn, table) == [1]
    assert app_conn.execute(f"SELECT count(*) FROM {table} WHERE org_id = 2").fetchone() == (0,)


@pytest.mark.usefixtures("two_orgs")
@pytest.mark.parametrize("table", TABLES)
def test_an_org_cannot_update_or_delete_another_orgs_rows(
        app_conn: psycopg.Connection, admin_engine: Engine, table: str) -> None:
    as_org(app_conn, 1)
    assert app_conn.execute(f"UPDATE {table} SET name = 'x' WHERE org_id = 2").rowcount == 0
    assert app_conn.execute(f"DELETE FROM {table} WHERE org_id = 2").rowcount == 0
    assert app_conn.execute(f"DELETE FROM {table}").rowcount == 1  # its own row only
    with admin_engine.connect() as conn:
        assert conn.execute(text(f"SELECT org_id, name FROM {table}")).all() == [(2, "Weekly")] \
            if table.endswith("templates") else [(2, "Orders export")]


@pytest.mark.usefixtures("two_orgs")
def test_an_org_cannot_insert_or_move_a_row_into_another_org(app_conn: psycopg.Connection) -> None:
    as_org(app_conn, 1)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute("INSERT INTO export.export_jobs (org_id, name, spec)"
                         " VALUES (2, 'sneaky', '{}')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute("UPDATE export.export_templates SET org_id = 2")


@pytest.mark.usefixtures("two_orgs")
@pytest.mark.parametrize("org", [None, ""])
def test_a_connection_without_an_org_sees_and_writes_nothing(
        app_conn: psycopg.Connection, org: str | None) -> None:
    if org is not None:
        as_org(app_conn, org)  # what a pooled connection reads after a local setting ended
    for table in TABLES:
        assert orgs_seen(app_conn, table) == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("INSERT INTO export.export_jobs (org_id, name, spec)"
                         " VALUES (1, 'x', '{}')")


@pytest.mark.usefixtures("two_orgs")
def test_a_local_org_setting_ends_with_its_transaction(app_engine: Engine) -> None:
    with app_engine.connect() as conn:
        with conn.begin():
            conn.execute(text("SELECT set_config('app.org_id', '1', true)"))
            assert conn.execute(text("SELECT count(*) FROM export.export_jobs")).scalar() == 1
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM export.export_jobs")).scalar() == 0


@pytest.mark.usefixtures("two_orgs")
def test_an_org_session_sees_only_its_org(app_engine: Engine) -> None:
    for org in (1, 2):
        with db.org_session(app_engine, org) as session:
            for _ in range(2):  # a second transaction of the same session is bound too
                seen = session.execute(text("SELECT org_id FROM export.export_jobs")).scalars()
                assert list(seen) == [org]
                session.commit()


def test_the_app_role_is_bound_by_rls(app_conn: psycopg.Connection) -> None:
    row = app_conn.execute("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()
    assert row == (False, False, True)
    owners = app_conn.execute(
        "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity"
        " FROM pg_class c WHERE c.relnamespace = 'export'::regnamespace AND c.relkind = 'r'"
        " AND c.relname LIKE 'export_%'").fetchall()
    assert len(owners) == 2
    for _, owner, enabled, forced in owners:
        assert owner != db.APP_ROLE
        assert enabled and forced
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("ALTER TABLE export.export_jobs DISABLE ROW LEVEL SECURITY")


def test_cross_org_functions_are_definer_functions_with_a_fixed_search_path(
        app_conn: psycopg.Connection) -> None:
    rows = app_conn.execute(
        "SELECT proname, prosecdef, proconfig, has_function_privilege('public', oid, 'EXECUTE')"
        " FROM pg_proc WHERE pronamespace = 'export'::regnamespace").fetchall()
    assert {r[0] for r in rows} == {"job_org", "orgs_with_stale_jobs", "orgs_with_queued_jobs",
                                    "orgs_to_clean", "token_org"}
    for name, definer, config, public in rows:
        assert definer, name
        assert any(c.startswith("search_path=") for c in config), name
        assert not public, name


@pytest.mark.usefixtures("two_orgs")
def test_the_app_role_learns_only_org_ids_across_orgs(app_conn: psycopg.Connection) -> None:
    orgs = app_conn.execute("SELECT * FROM export.orgs_with_queued_jobs() ORDER BY 1").fetchall()
    assert orgs == [(1,), (2,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("SELECT * FROM export.alembic_version")


def test_upgrade_again_changes_nothing(migrated: str, admin_engine: Engine) -> None:
    db.upgrade(migrated)
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM export.alembic_version")).all() == [
            ("0002",)]


def test_models_match_the_migrated_schema(admin_engine: Engine) -> None:
    with admin_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_schemas": True,
            "include_name": lambda name, kind, _: kind != "schema" or name == "export",
            "include_object": lambda obj, name, kind, *_: name != "alembic_version",
        })
        assert compare_metadata(context, Base.metadata) == []
