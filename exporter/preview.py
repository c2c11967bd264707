"""Preview (the first rows of a spec, with labels) and estimate (rows, size, time).

Preview reuses one attached DuckDB connection per org in this process, so only the
first call pays for loading the extension and attaching the source.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import psycopg

from exporter import source
from exporter.catalog import load_catalog
from exporter.formats import WRITERS
from exporter.query import bounds_sql, build_sql, first_ids_sql, ordered, output_columns, plan_sql
from exporter.run import today_in
from exporter.settings import Settings
from exporter.spec import ExportSpec, check

SAMPLE_ROWS = 200
XLSX_DEFLATE = 0.12  # compressed / rendered sheet size, measured on the demo orders
COUNT_TIMEOUT_MS = 300
# Rows per second per format, as measured by bench/export_bench.py on 2 cores; replaced
# by what this installation measures once it has run exports (throughput.json).
DEFAULT_RATES = {"csv": 600_000.0, "json": 450_000.0, "xml": 250_000.0, "xlsx": 170_000.0}

_connections: dict[str, duckdb.DuckDBPyConnection] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Preview:
    names: list[str]
    labels: list[str]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Estimate:
    rows: int
    exact: bool  # True: counted by Postgres; False: the planner's estimate
    bytes: dict[str, int] = field(default_factory=dict)  # per format
    seconds: dict[str, float] = field(default_factory=dict)  # per format
    warnings: dict[str, list[str]] = field(default_factory=dict)  # per format


def _cursor(settings: Settings, org: int) -> duckdb.DuckDBPyConnection:
    dsn = source.dsn_for(settings, org)
    with _lock:
        con = _connections.get(dsn)
        if con is None:
            con = source.connect(settings)
            source.attach(con, dsn)
            _connections[dsn] = con
        return con.cursor()


def _first_window(conn: psycopg.Connection[Any], spec: ExportSpec, org: int, settings: Settings,
                  rows: int, today: date) -> tuple[int, int]:
    """[lo, hi) ids of the first rows, found by Postgres from its indexes."""
    catalog = load_catalog(settings.catalog or None)
    sql, params = first_ids_sql(spec, catalog.types[spec.data_type], org, settings.timezone,
                                today, rows)
    ids = [r[0] for r in conn.execute(sql, params)]
    return (ids[0], ids[-1] + 1) if ids else (0, 0)


def preview(spec: ExportSpec, org: int, settings: Settings, limit: int = 20) -> Preview:
    """The first rows the export would write, with the chosen fields and labels."""
    catalog = load_catalog(settings.catalog or None)
    check(spec, catalog, WRITERS)
    dtype = catalog.types[spec.data_type]
    columns = output_columns(spec, dtype)
    today = today_in(settings.timezone)  # one day for finding the ids and reading the rows
    with psycopg.connect(source.dsn_for(settings, org)) as conn:
        lo, hi = _first_window(conn, spec, org, settings, limit, today)
    if lo == hi:
        return Preview([c.name for c in columns], [c.label for c in columns], [])
    sql, params = build_sql(spec, dtype, org, settings.timezone, today)
    cur = _cursor(settings, org)
    try:
        rows = cur.execute(ordered(sql, limit=limit), {**params, "lo": lo, "hi": hi}).fetchall()
    finally:
        cur.close()
    return Preview([c.name for c in columns], [c.label for c in columns], rows)


def _count(conn: psycopg.Connection[Any], spec: ExportSpec, org: int, settings: Settings,
           today: date) -> tuple[int, bool]:
    """Exact count when Postgres answers quickly, else the planner's row estimate. Leaves
    a statement timeout on the connection: use it last."""
    catalog = load_catalog(settings.catalog or None)
    args = (spec, catalog.types[spec.data_type], org, settings.timezone, today)
    sql, params = bounds_sql(*args)
    try:
        conn.execute(f"SET statement_timeout = {COUNT_TIMEOUT_MS}")
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0, True
    except psycopg.errors.QueryCanceled:
        conn.rollback()
    sql, params = plan_sql(*args)
    plan = conn.execute(sql, params).fetchone()
    return int(plan[0][0]["Plan"]["Plan Rows"]) if plan else 0, False  # type: ignore[index]


def _rates(settings: Settings) -> dict[str, float]:
    path = settings.home / "throughput.json"
    rates = dict(DEFAULT_RATES)
    with contextlib.suppress(OSError, ValueError):
        rates.update({k: float(v) for k, v in json.loads(path.read_text()).items()})
    return rates


def record_rate(settings: Settings, fmt: str, rows: int, seconds: float) -> None:
    """Remember an export's throughput (moving average) for future time estimates."""
    if rows < 10_000 or seconds <= 0:
        return
    rates = _rates(settings)
    rates[fmt] = round(0.7 * rates.get(fmt, rows / seconds) + 0.3 * rows / seconds, 1)
    path = settings.home / "throughput.json"
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(rates))
    temp.replace(path)


def _bytes_per_row(spec: ExportSpec, org: int, settings: Settings, window: tuple[int, int],
                   today: date) -> dict[str, float]:
    """Average size of a row in each format, rendered from the first rows, which are read
    from the source once (into a temporary table) for all formats."""
    if window[0] == window[1]:
        return dict.fromkeys(WRITERS, 0.0)
    dtype = load_catalog(settings.catalog or None).types[spec.data_type]
    columns = output_columns(spec, dtype)
    base, params = build_sql(spec, dtype, org, settings.timezone, today)
    sizes = {}
    cur = _cursor(settings, org)
    try:
        cur.execute(f"CREATE TEMP TABLE sample AS {base}",
                    {**params, "lo": window[0], "hi": window[1]})
        for name, writer_class in WRITERS.items():
            writer = writer_class(columns, {}, settings.timezone, dtype.xml_row)
            sql = writer.select_sql("SELECT * FROM sample")
            row = cur.execute(f"SELECT avg(strlen(line)) FROM ({sql})").fetchone()
            factor = XLSX_DEFLATE if name == "xlsx" else 1.0
            sizes[name] = float(row[0] or 0) * factor if row else 0.0
    finally:
        cur.close()  # the temporary table goes with the cursor's connection
    return sizes


def estimate(spec: ExportSpec, org: int, settings: Settings) -> Estimate:
    """Rows, file size and time of an export, for every format, with limit warnings."""
    catalog = load_catalog(settings.catalog or None)
    check(spec, catalog, WRITERS)
    today = today_in(settings.timezone)
    with psycopg.connect(source.dsn_for(settings, org)) as conn:
        window = _first_window(conn, spec, org, settings, SAMPLE_ROWS, today)
        rows, exact = _count(conn, spec, org, settings, today)
    per_row = _bytes_per_row(spec, org, settings, window, today)
    rates = _rates(settings)
    sizes, times, warnings = {}, {}, {}
    for name, writer in WRITERS.items():
        sizes[name] = int(per_row[name] * rows)
        times[name] = round(rows / rates.get(name, 100_000.0) + 0.5, 1)
        warnings[name] = limit_warnings(writer.SPEC, rows, sizes[name])
    return Estimate(rows, exact, sizes, times, warnings)


def limit_warnings(spec: Any, rows: int, size: int) -> list[str]:
    out = []
    if spec.hard_max_rows is not None and rows > spec.hard_max_rows:
        out.append(f"{rows:,} rows exceed the {spec.hard_max_rows:,} rows a {spec.label} "
                   "sheet holds: this export will be refused. Narrow the filters or choose CSV.")
    elif rows > spec.max_rows:
        out.append(f"~{rows:,} rows is above the ~{spec.max_rows:,} rows advised for "
                   f"{spec.label}; the export will still contain every row.")
    if size > spec.max_bytes:
        out.append(f"~{size / 1e6:,.0f} MB is above the {spec.max_bytes // 2**20} MB advised "
                   f"for {spec.label}; the file will still be complete.")
    return out


def to_plain(value: Any) -> Any:
    """A preview value as JSON-friendly data (exact decimals as strings)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
