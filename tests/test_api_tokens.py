"""API tokens through the `exporter tokens` commands, and the token_org function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from exporter import db, services, tokens
from exporter.jobs import app_engine, prepare_database
from exporter.settings import Settings
from tests.api_helpers import token_org


def exporter(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    # the entry point, not `-m exporter.cli`: run_main registers the token commands
    code = "import sys; from exporter.cli import run_main; sys.argv[0] = 'exporter'; run_main()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def migrated(settings: Settings, database_url: str) -> Settings:
    prepare_database(settings)
    return settings


@pytest.fixture(scope="module")
def engine(migrated: Settings) -> Iterator[Engine]:
    engine = app_engine(migrated)
    yield engine
    engine.dispose()


def test_tokens_are_created_listed_and_revoked_from_the_command_line(migrated: Settings,
                                                                   engine: Engine) -> None:
    org = 7001 + os.getpid() % 1000  # an org of its own: other tests may truncate tokens
    made = exporter(migrated, "tokens", "create", "--org", str(org), "--name", "CI sync")
    assert made.returncode == 0, made.stderr
    plain = made.stdout.strip()
    assert tokens.TOKEN_RE.fullmatch(plain) and "not shown again" in made.stderr
    assert token_org(engine, plain) == org
    listed = exporter(migrated, "tokens", "list", "--org", str(org), "--json")
    [row] = [t for t in json.loads(listed.stdout) if t["prefix"] == plain[:8]]
    assert row["name"] == "CI sync" and row["revoked_at"] is None
    assert plain not in listed.stdout
    done = exporter(migrated, "tokens", "revoke", row["id"], "--org", str(org))
    assert done.returncode == 0, done.stderr
    assert token_org(engine, plain) is None
    again = exporter(migrated, "tokens", "list", "--org", str(org))
    assert "revoked" in again.stdout and plain[:8] in again.stdout


def test_revoking_another_orgs_token_is_not_found(migrated: Settings, engine: Engine) -> None:
    plain, row = tokens.create(engine, 7000, "someone else's")
    done = exporter(migrated, "tokens", "revoke", str(row.id), "--org", "7999")
    assert done.returncode == 1 and "NOT_FOUND" in done.stderr
    assert token_org(engine, plain) == 7000


def test_an_empty_token_name_is_refused(migrated: Settings) -> None:
    done = exporter(migrated, "tokens", "create", "--org", "1", "--name", " ")
    assert done.returncode == 2 and "NAME_REQUIRED" in done.stderr


def test_token_org_is_a_definer_function_only_the_app_role_may_call(
        migrated: Settings, database_url: str, engine: Engine) -> None:
    app = services.libpq_url(db.app_url(database_url, migrated.app_db_password))
    with psycopg.connect(app, autocommit=True) as conn:
        row = conn.execute(
            "SELECT prosecdef, proconfig, has_function_privilege('public', oid, 'EXECUTE')"
            " FROM pg_proc WHERE oid = 'export.token_org(text)'::regprocedure").fetchone()
        assert row is not None
        definer, config, public = row
        assert definer and any(c.startswith("search_path=") for c in config) and not public
        # Without an org the app role sees no token rows, yet can resolve one by hash.
        assert conn.execute("SELECT count(*) FROM export.api_tokens").fetchone() == (0,)
        plain, _ = tokens.create(engine, 7002, "by hash")
        found = conn.execute("SELECT export.token_org(%s)", [tokens.hash_token(plain)])
        assert found.fetchone() == (7002,)


def test_row_level_security_keeps_each_orgs_tokens_to_itself(
        migrated: Settings, database_url: str, engine: Engine) -> None:
    tokens.create(engine, 7101, "one")
    tokens.create(engine, 7102, "two")
    app = services.libpq_url(db.app_url(database_url, migrated.app_db_password))
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.org_id', '7101', false)")
        seen = conn.execute("SELECT DISTINCT org_id FROM export.api_tokens").fetchall()
        assert seen == [(7101,)]
        assert conn.execute("UPDATE export.api_tokens SET revoked_at = now()"
                            " WHERE org_id = 7102").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO export.api_tokens (org_id, name, token_hash, prefix)"
                         " VALUES (7102, 'sneaky', repeat('a', 64), 'dex_xxxx')")
    assert [t.name for t in tokens.list_tokens(engine, 7102)][-1] == "two"
