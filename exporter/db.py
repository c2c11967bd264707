"""The app database: migrations, engines and sessions bound to one org.

The superuser URL only migrates (`upgrade`). The app and workers connect as the
`export_app` role (`app_url`), which row-level security binds: every `org_session`
transaction first tells Postgres its org, so a query can only ever see that org's rows.
Cross-org work (reaper, cleanup, dispatch) asks SECURITY DEFINER functions which orgs
have work, then does it per org through `org_session` (see store_maintenance).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import NullPool

APP_ROLE = "export_app"
MIGRATIONS = Path(__file__).with_name("migrations")
# SET LOCAL cannot take a bind parameter under psycopg 3; set_config(..., true) is the
# same thing as a function call. It ends with the transaction, so a pooled connection
# never carries an org into the next one.
_SET_ORG = text("SELECT set_config('app.org_id', :org, true)")


def upgrade(database_url: str, app_password: str = "export_app", revision: str = "head") -> None:
    """Migrate the `export` schema to `revision`, as the (superuser) role of the URL.

    `app_password` is the password given to the `export_app` role when it is created;
    an existing role keeps its password.
    """
    from alembic import command  # here: ~0.2 s of imports only the migrating process needs
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    engine = make_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config.attributes.update(connection=connection, app_password=app_password)
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def app_url(admin_url: str, password: str = "export_app") -> str:
    """The same server and database as `admin_url`, as the `export_app` role."""
    url = make_url(admin_url).set(username=APP_ROLE, password=password)
    return url.render_as_string(hide_password=False)


def make_engine(url: str, **options: Any) -> Engine:
    """An engine on psycopg 3 (also for plain `postgresql://` URLs) that drops dead
    pooled connections before use."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, **options)


@contextmanager
def org_session(engine: Engine, org_id: int) -> Iterator[Session]:
    """A session whose every transaction sees and writes only `org_id`'s rows.

    Commits when the block ends normally, rolls back on an exception. Objects stay
    readable after the commit (no expiry), so they can be shown after the block.
    """
    if isinstance(org_id, bool) or not isinstance(org_id, int):
        raise TypeError(f"org_id must be an int, not {org_id!r}")
    with _session(engine, str(org_id)) as session:
        session.info["org_id"] = org_id
        yield session


@contextmanager
def system_session(engine: Engine) -> Iterator[Session]:
    """A session bound to no org: RLS shows it no rows at all. It may only call the
    SECURITY DEFINER functions of the `export` schema that list which orgs have work."""
    with _session(engine, "") as session:
        yield session


@contextmanager
def _session(engine: Engine, org: str) -> Iterator[Session]:
    session = Session(engine, expire_on_commit=False)

    @event.listens_for(session, "after_begin")
    def bind_org(_: Session, __: SessionTransaction, connection: Connection) -> None:
        connection.execute(_SET_ORG, {"org": org})

    with session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
