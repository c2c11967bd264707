"""DuckDB connections to the source: offline extension loading and a read-only ATTACH.

The postgres extension comes from its PyPI wheel (nothing is downloaded at run time):
its file is placed where DuckDB looks for it, under our own extension directory.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import psycopg

from exporter.catalog import Catalog, load_catalog
from exporter.errors import SourceError
from exporter.query import SOURCE, bounds_sql
from exporter.settings import Settings
from exporter.spec import ExportSpec

EXTENSION = "postgres_scanner"


def _extension_dir(settings: Settings, platform: str) -> Path:
    """Our extension directory, with the wheel's postgres extension placed in it."""
    import duckdb_extension_postgres

    root = (settings.home / "duckdb_extensions").resolve()
    version = duckdb.__version__
    target = root / f"v{version}" / platform / f"{EXTENSION}.duckdb_extension"
    if not target.exists():
        wheel = Path(duckdb_extension_postgres.__file__).parent / "extensions" / f"v{version}"
        shipped = wheel / "postgres.duckdb_extension"
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per caller, then an atomic rename: parallel workers never
        # see half a file nor remove each other's copy.
        temp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        shutil.copyfile(shipped, temp)
        temp.replace(target)
    return root


def skip_pandas() -> None:
    """For processes that only export (the CLI's export commands, worker processes):
    DuckDB's parameter binding imports pandas whenever it is installed (Streamlit brings
    it) only to recognise pandas values, which exports never bind. That costs ~0.5 s of
    start and ~70 MB; a module marked absent is skipped. Never call it where pandas is
    used (the app, tests)."""
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the postgres extension loaded and our limits set."""
    con = duckdb.connect(config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "threads": settings.threads,
        "memory_limit": settings.memory_limit,
    })
    platform = con.sql("PRAGMA platform").fetchone()[0]  # type: ignore[index]
    con.execute(f"SET extension_directory = {_literal(str(_extension_dir(settings, platform)))}")
    con.execute(f"LOAD {EXTENSION}")
    # One COPY per query instead of parallel ctid ranges: Postgres can then answer an id
    # window from the primary key index instead of scanning the whole table.
    con.execute("SET pg_use_ctid_scan = false")
    ZoneInfo(settings.timezone)  # an unknown zone fails here with its name
    con.execute(f"SET TimeZone = {_literal(settings.timezone)}")
    con.execute(f"SET temp_directory = {_literal(str((settings.home / 'tmp').resolve()))}")
    return con


def attach(con: duckdb.DuckDBPyConnection, dsn: str) -> None:
    """Attach the source read-only under the name the query builder uses."""
    con.execute(f"ATTACH {_literal(dsn)} AS {SOURCE} (TYPE postgres, READ_ONLY)")


def _literal(text: str) -> str:
    """A SQL string literal for our own configuration values (ATTACH and SET take no
    parameters); user input never comes here."""
    return "'" + text.replace("'", "''") + "'"


def dsn_for(settings: Settings, org: int) -> str:
    """libpq DSN of the source, carrying the org for Postgres row-level security."""
    from exporter import services

    url = settings.source_url or services.database_url(settings)
    return services.libpq_dsn(url, options=f"-c app.org_id={int(org)}",
                              application_name="data-export")


@dataclass(frozen=True)
class Bounds:
    """How many rows a spec selects and the range of their ids."""

    count: int
    lo: int | None
    hi: int | None


def row_bounds(spec: ExportSpec, org: int, settings: Settings, dsn: str, today: date,
               catalog: Catalog | None = None) -> Bounds:
    """Counted by Postgres itself, from its indexes. `today` must be the day the export's
    own query uses, so both agree on a relative date range."""
    catalog = catalog or load_catalog(settings.catalog or None)
    sql, params = bounds_sql(spec, catalog.types[spec.data_type], org, settings.timezone, today)
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            row = conn.execute(sql, params).fetchone()
    except psycopg.Error as exc:
        raise SourceError("SOURCE_UNAVAILABLE", f"Cannot read the source database: {exc}") from exc
    if not row:
        return Bounds(0, None, None)
    return Bounds(int(row[0]), row[1], row[2])


def windows(bounds: Bounds, rows_per_window: int) -> list[tuple[int, int]]:
    """[lo, hi) id windows covering the counted ids, of about rows_per_window matching
    rows each. The export holds the rows that matched when it was counted: a row added
    later with a higher id waits for the next export."""
    if bounds.lo is None or bounds.hi is None or bounds.count == 0:
        return []
    span = bounds.hi - bounds.lo + 1
    step = max(1, -(-span * rows_per_window // bounds.count))
    edges = [*range(bounds.lo, bounds.hi + 1, step), bounds.hi + 1]
    return list(zip(edges[:-1], edges[1:], strict=True))
