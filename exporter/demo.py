"""Demo ERP data: the ``erp`` schema (``demo_schema.sql``) and a fast, deterministic seeder.

The seeder's SQL is in ``demo_fill.sql`` (one ``INSERT ... SELECT`` per table) and the values
it draws from in ``demo_values``; this module creates the helper functions, fills in the
templates and runs them.

``seed(conn, orders=N, orgs=K)`` drops and refills the ten ``erp`` tables with set-based SQL
only (``INSERT ... SELECT`` over ``generate_series``; no row loops in Python). Every value is
derived from a row number hashed with ``hashint8extended(n, salt)``, where the salt comes
from ``seed``, so two seeds with the same arguments on the same (UTC) day produce identical
tables. Dates span the ~400 days up to that day.

Row ``i`` of a table belongs to org ``1 + (i - 1) % K``; a child picks its parent among the
parents of the same org, so every child row has its parent's ``org_id``.

About 1 in 29 values of the free-text columns (names, addresses, cities, descriptions,
special instructions, notes, destinations) is "hard but legal" text taken from ``TRICKY``:
quotes, separators, CR/LF, tabs, non-ASCII and emoji, spreadsheet-formula prefixes,
XML-significant characters, control characters, padding, empty strings and look-alikes of
NULL markers. Some columns are also NULL part of the time, ~10% of rows are
``active = false``, ~5% ``archived = true``, and every status appears.

Run ``python -m exporter.demo --url postgresql://... --orders 1000000 --orgs 4``.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

# STATUSES and TRICKY are used from here too: tests check the seeded data against them.
from exporter.demo_values import COUNTRIES, STATUSES, TRICKY, TRICKY_PERIOD, WEIGHTS, WORDS

Connection = psycopg.Connection[Any]
ConnectionOrUrl = psycopg.Connection[Any] | str

# Parents before children (seed's load order); drop order is the reverse.
TABLES: tuple[str, ...] = (
    "customers",
    "suppliers",
    "products",
    "orders",
    "order_lines",
    "work_orders",
    "inventory",
    "inventory_transactions",
    "shipments",
    "quality_tests",
)

READER_ROLE = "erp_reader"

SCHEMA_FILE = Path(__file__).with_name("demo_schema.sql")
FILL_FILE = Path(__file__).with_name("demo_fill.sql")
_SECTION = re.compile(r"^--\s*section:\s*(\w+)\s*$")


# --------------------------------------------------------------------------- public API


def schema_sql() -> dict[str, str]:
    """The sections of ``demo_schema.sql`` by name: ``tables``, ``constraints``, ``security``."""
    return _sections(SCHEMA_FILE)


def fill_sql() -> dict[str, str]:
    """The sections of ``demo_fill.sql`` by table name: ``str.format`` templates of one
    ``INSERT ... SELECT`` each, whose ``{name}`` placeholders ``seed`` fills."""
    return _sections(FILL_FILE)


def _sections(path: Path) -> dict[str, str]:
    """A SQL file's text by section; sections start at lines ``-- section: <name>``, and
    what comes before the first one is the ``preamble``."""
    text = path.read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current = "preamble"
    for line in text.splitlines(keepends=True):
        match = _SECTION.match(line)
        if match:
            current = match.group(1)
        else:
            sections.setdefault(current, []).append(line)
    return {name: "".join(lines) for name, lines in sections.items()}


def ensure_schema(conn: ConnectionOrUrl) -> None:
    """Create what is missing of the ``erp`` schema: tables (empty), keys, indexes, row-level
    security, and the ``erp_reader`` role with its grants. Existing tables and rows are left
    alone. Commits."""
    sections = schema_sql()
    with _connection(conn) as c:
        with _transaction(c):
            for name in ("tables", "constraints", "security"):
                c.execute(sections[name])
        if not c.autocommit:
            c.commit()


def has_data(conn: ConnectionOrUrl) -> bool:
    """Whether the ``erp`` tables exist and hold rows (as seen by this connection's role:
    connect as the owner, not as ``erp_reader``, whose RLS policy may hide every row)."""
    with _connection(conn) as c:
        idle = c.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        cur = c.execute(
            "SELECT to_regclass('erp.customers') IS NOT NULL"
            " AND to_regclass('erp.orders') IS NOT NULL"
        )
        row = cur.fetchone()
        if row and row[0]:
            cur = c.execute(
                "SELECT EXISTS (SELECT 1 FROM erp.orders) OR EXISTS (SELECT 1 FROM erp.customers)"
            )
            row = cur.fetchone()
        if idle and not c.autocommit:
            c.rollback()  # leave the caller's connection as idle as we found it
        return bool(row and row[0])


def sizes(orders: int, orgs: int) -> dict[str, int]:
    """How many rows ``seed`` generates per table (order_lines and shipments: about)."""
    n, k = orders, orgs
    products = max(50, n // 200, k)
    work_orders = max(10, n // 4, k)
    return {
        "customers": max(50, n // 50, k),
        "suppliers": max(20, n // 500, k),
        "products": products,
        "orders": n,
        "order_lines": 3 * n,
        "work_orders": work_orders,
        "inventory": 3 * products,
        "inventory_transactions": max(10, n // 2, k),
        "shipments": n * 3 // 5,
        "quality_tests": work_orders - work_orders // 5,
    }


def seed(
    conn: ConnectionOrUrl,
    orders: int,
    orgs: int,
    seed: float = 0.42,
    *,
    today: date | None = None,
) -> dict[str, int]:
    """Drop and refill the ``erp`` tables with ``orders`` orders spread over orgs 1..``orgs``.

    Deterministic for given arguments and ``today`` (default: the server's current UTC
    date, which the generated dates end at). Commits (the caller's open transaction too),
    then vacuums and analyzes the tables. Returns the row count per table.
    """
    if orders < 0:
        raise ValueError(f"orders must be >= 0, got {orders}")
    if orgs < 1:
        raise ValueError(f"orgs must be >= 1, got {orgs}")
    sections = schema_sql()
    templates = fill_sql()
    size = sizes(orders, orgs)
    with _connection(conn) as c:
        with _transaction(c):
            for setting, value in _LOAD_SETTINGS.items():
                c.execute(f"SET LOCAL {setting} = '{value}'")
            if today is None:
                row = c.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
                assert row is not None
                today = row[0]
            assert today is not None
            c.execute(
                "DROP TABLE IF EXISTS "
                + ", ".join(f"erp.{t}" for t in reversed(TABLES))
                + " CASCADE"
            )
            c.execute(sections["tables"])
            for statement in _helper_functions(size, orgs, _salt(seed), today):
                c.execute(statement)
            counts: dict[str, int] = {}
            fill = _fill_values(size, orgs)
            for table in TABLES:
                cur = c.execute(templates[table].format(**fill))
                counts[table] = max(cur.rowcount, 0)
            c.execute(sections["constraints"])
            for table in TABLES:
                # Ids were given explicitly (or by the identity): continue after the last one.
                c.execute(
                    f"SELECT setval(pg_get_serial_sequence('erp.{table}', 'id'),"
                    f" {max(counts[table], 1)}, {counts[table] > 0})"
                )
            c.execute(sections["security"])
            c.execute("DROP FUNCTION " + ", ".join(f"pg_temp.{name}" for name in _HELPERS))
        if not c.autocommit:
            c.commit()
        # Statistics for the planner (the exporter relies on its estimates), and all-visible,
        # frozen pages: exports can use index-only scans and do not rewrite every page to set
        # hint bits on first read. VACUUM cannot run in a transaction block.
        autocommit = c.autocommit
        c.autocommit = True
        try:
            c.execute("VACUUM (FREEZE, ANALYZE) " + ", ".join(f"erp.{t}" for t in TABLES))
        finally:
            c.autocommit = autocommit
    return counts


# --------------------------------------------------------------------------- connections


@contextmanager
def _connection(conn: ConnectionOrUrl) -> Iterator[Connection]:
    """The given connection, or a new autocommit one to the given libpq URL (then closed)."""
    if isinstance(conn, str):
        with psycopg.connect(conn, autocommit=True) as new:
            yield new
    else:
        yield conn


@contextmanager
def _transaction(conn: Connection) -> Iterator[None]:
    """A transaction (a savepoint if one is open) holding the demo lock: concurrent seeds
    and schema creations wait for each other instead of tripping over each other."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('exporter.demo'))")
        yield


# --------------------------------------------------------------------------- generation

_LOAD_SETTINGS: dict[str, str] = {
    "synchronous_commit": "off",
    "standard_conforming_strings": "on",  # the literals below rely on it
    "work_mem": "256MB",
    "maintenance_work_mem": "512MB",
    "max_parallel_maintenance_workers": "2",
    "jit": "off",  # where JIT exists, compiling these one-shot wide expressions is wasted time
}


def _salt(seed: float) -> int:
    """A hash salt from a seed value (any float; ``setseed`` would want -1..1)."""
    return int(round(seed * 1_000_000_007)) % 2_147_483_647


def _lit(value: str) -> str:
    """A standard SQL string literal (standard_conforming_strings is on during seed)."""
    if "\x00" in value:
        raise ValueError("PostgreSQL text cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


def _array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(_lit(v) for v in values) + "]::text[]"


def _weighted(weights: dict[str, int]) -> str:
    return _array([value for value, w in weights.items() for _ in range(w)])


# pg_temp helper functions. They are IMMUTABLE one-expression SQL functions, which the
# planner inlines, so they cost nothing over writing the expressions out.
_HELPERS: tuple[str, ...] = (
    "h(bigint, integer)",
    "org(bigint)",
    "member(bigint, bigint, bigint)",
    "code(text, bigint)",
    "pick(text[], bigint)",
    "tricky(bigint)",
    "hard(bigint, integer, text)",
    "status(bigint, text[], text[], bigint)",
    "is_active(bigint)",
    "is_archived(bigint)",
    "base()",
    "day_back(bigint, integer)",
    "ts_back(bigint, integer)",
    "at_day(date, bigint)",
    "price_cents(bigint)",
    "cost(bigint)",
    "nlines(bigint)",
    "line_product(bigint, integer)",
    "qty_milli(bigint, integer)",
    "line_cents(bigint, integer)",
    "order_cents(bigint)",
    "country(bigint)",
)


def _helper_functions(size: dict[str, int], orgs: int, salt: int, today: date) -> list[str]:
    k = orgs
    day = today.isoformat()
    end_epoch = (today - date(1970, 1, 1)).days * 86400 + 86400  # end of `today`, UTC
    f = "CREATE FUNCTION pg_temp.{} IMMUTABLE LANGUAGE sql RETURN {}"
    return [
        # A non-negative 63-bit hash of (k, stream); streams keep columns independent.
        f.format("h(k bigint, s integer) RETURNS bigint",
                 f"hashint8extended(k, s + {salt}::bigint) & 9223372036854775807"),
        f.format("org(i bigint) RETURNS integer", f"(1 + (i - 1) % {k})::integer"),
        # An id in 1..m of the same org as row i (m >= orgs), chosen by hash x.
        f.format("member(i bigint, m bigint, x bigint) RETURNS bigint",
                 f"1 + (i - 1) % {k} + {k} * (x % (m / {k}))"),
        f.format("code(prefix text, n bigint) RETURNS text",
                 "prefix || lpad(n::text, greatest(6, length(n::text)), '0')"),
        f.format("pick(a text[], x bigint) RETURNS text", "a[1 + x % cardinality(a)]"),
        f.format("tricky(k bigint) RETURNS text",
                 f"({_array(TRICKY)})[1 + k % {len(TRICKY)}]"),
        # Column `col` of row i: a TRICKY value for 1 row in TRICKY_PERIOD, else `normal`.
        f.format("hard(i bigint, col integer, normal text) RETURNS text",
                 f"CASE WHEN (i + col) % {TRICKY_PERIOD} = 0"
                 f" THEN pg_temp.tricky((i + col) / {TRICKY_PERIOD} + col) ELSE normal END"),
        # Statuses: rows 1..n get each of the n statuses once, the others a weighted pick.
        f.format("status(i bigint, every text[], weighted text[], x bigint) RETURNS text",
                 "CASE WHEN i <= cardinality(every) THEN every[i]"
                 " ELSE weighted[1 + x % cardinality(weighted)] END"),
        f.format("is_active(i bigint) RETURNS boolean",
                 "NOT (pg_temp.h(i, 91) % 10 = 0 OR i = 4)"),
        f.format("is_archived(i bigint) RETURNS boolean", "pg_temp.h(i, 92) % 20 = 0 OR i = 5"),
        f.format("base() RETURNS date", f"DATE '{day}'"),
        # A date within the `days` days ending today; a UTC timestamp within them; a UTC
        # timestamp on day d (all independent of the session's TimeZone).
        f.format("day_back(x bigint, days integer) RETURNS date",
                 f"DATE '{day}' - (x % days)::integer"),
        # (timestamptz +/- interval is only STABLE, which would stop the inlining.)
        f.format("ts_back(x bigint, days integer) RETURNS timestamptz",
                 f"to_timestamp({end_epoch}::float8"
                 " - (x % (days * 86400000000::bigint))::float8 / 1000000)"),
        f.format("at_day(d date, x bigint) RETURNS timestamptz",
                 "(d::timestamp + (x % 86400000000) * interval '1 microsecond')"
                 " AT TIME ZONE 'UTC'"),
        # Products' prices (cents) and costs; orders' lines and totals, all in closed form
        # so that orders.total can be computed without reading order_lines.
        f.format("price_cents(p bigint) RETURNS bigint",
                 "100 + pg_temp.h(p, 201) % 50000"),  # p used once: keeps callers inlinable
        f.format("cost(p bigint) RETURNS numeric",
                 "round(pg_temp.price_cents(p) * (4000 + pg_temp.h(p, 203) % 5000) / 1e6, 4)"),
        f.format("nlines(i bigint) RETURNS integer", "(1 + pg_temp.h(i, 111) % 5)::integer"),
        f.format("line_product(i bigint, l integer) RETURNS bigint",
                 f"pg_temp.member(i, {size['products']}, pg_temp.h(i * 8 + l, 112))"),
        f.format("qty_milli(i bigint, l integer) RETURNS bigint",
                 "CASE WHEN pg_temp.h(i * 8 + l, 113) % 5 = 0"
                 " THEN 125 * (1 + pg_temp.h(i * 8 + l, 114) % 79)"
                 " ELSE 1000 * (1 + pg_temp.h(i * 8 + l, 114) % 24) END"),
        f.format("line_cents(i bigint, l integer) RETURNS bigint",
                 "(pg_temp.qty_milli(i, l) * pg_temp.price_cents(pg_temp.line_product(i, l))"
                 " + 500) / 1000"),
        f.format("order_cents(i bigint) RETURNS bigint",
                 " + ".join(["pg_temp.line_cents(i, 1)"] + [
                     f"CASE WHEN pg_temp.nlines(i) >= {n} THEN pg_temp.line_cents(i, {n})"
                     " ELSE 0 END" for n in range(2, 6)])),
        f.format("country(c bigint) RETURNS integer",
                 f"(1 + pg_temp.h(c, 105) % {len(COUNTRIES['country'])})::integer"),
    ]


def _fill_values(size: dict[str, int], orgs: int) -> dict[str, str]:
    values = {name: str(n) for name, n in size.items()}
    values.update({f"w_{name}": _array(words) for name, words in WORDS.items()})
    values.update({f"c_{name}": _array(words) for name, words in COUNTRIES.items()})
    values.update({f"s_{table}": _array(s) for table, s in STATUSES.items()})
    values.update({f"ws_{table}": _weighted(w) for table, w in WEIGHTS.items()})
    # Work orders point at a sales order of their org 70% of the time, if every org has one.
    values["wo_order"] = (
        f"CASE WHEN pg_temp.h(w, 302) % 10 < 7"
        f" THEN pg_temp.member(w, {size['orders']}, pg_temp.h(w, 303)) END"
        if size["orders"] >= orgs
        else "NULL::bigint"
    )
    return values


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m exporter.demo --url URL [--orders N] [--orgs K] [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="libpq URL, e.g. postgresql://...")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=3)
    parser.add_argument("--seed", type=float, default=0.42)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = seed(args.url, orders=args.orders, orgs=args.orgs, seed=args.seed)
    elapsed = time.perf_counter() - started
    for table, n in counts.items():
        print(f"  {table:<24} {n:>10,}")
    print(f"seeded in {elapsed:.1f}s")


if __name__ == "__main__":
    main()
