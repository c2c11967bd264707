"""Demo ERP data: the ``erp`` schema (``demo_schema.sql``) and a fast, deterministic seeder.

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

STATUSES: dict[str, tuple[str, ...]] = {
    "customers": ("active", "on_hold", "blocked"),
    "suppliers": ("approved", "pending", "suspended"),
    "products": ("active", "discontinued", "draft"),
    "orders": ("draft", "confirmed", "in_production", "shipped", "delivered", "cancelled"),
    "work_orders": ("planned", "released", "in_progress", "completed", "closed"),
    "inventory": ("ok", "low", "out"),
    "inventory_transactions": ("posted", "pending", "reversed"),
    "shipments": ("pending", "in_transit", "delivered", "returned"),
    "quality_tests": ("pass", "fail", "pending"),
}

READER_ROLE = "erp_reader"

# Hard but legal text. Order matters a little: with 1 000 orders every value occurs in
# orders.special_instructions, and the first ones occur first.
TRICKY: tuple[str, ...] = (
    "Line one\nLine two",
    '=HYPERLINK("http://x","y")',
    "📦 Express delivery 🚚",
    'Müller & Söhne, "Große" Lieferung; Tor 3',
    "Line one\r\nLine two (CRLF)",
    "+1 555 0100",
    "-5% off",
    "@SUM(A1)",
    '<b>Fragile</b> & "handle" with care',
    "Contains ]]> CDATA terminator",
    "Bell\x07character",
    "Start\x01of heading",
    "  padded with spaces  ",
    "",
    "Tab\tseparated\tvalue",
    "Łódź, ul. Piotrkowska 104",
    "東京都千代田区丸の内1-1",
    "Ελληνικά: Αθήνα",
    "Semi;colon;separated",
    "Comma, separated, value",
    "O'Brien's \"quoted\" value",
    "\\N",
    "NULL",
    "C:\\path\\to\\file",
    "=1+2",
    "\ufeffByte order mark first",
    "Trailing newline\n",
    "مرحبا بالعالم",
    'Mixed: "a",b;c\td\ne\r\nf <g> & ]]> 📦 =',
    " ",
    "Lorem ipsum dolor sit amet, " * 24,
    "Zero\u200bwidth, ZWJ 👩‍🔧 and flag 🇵🇱",
)
TRICKY_PERIOD = 29  # 1 value in 29 (~3.4%) of each free-text column is taken from TRICKY

_COUNTRIES: dict[str, list[str]] = {  # parallel lists, indexed by a customer's country
    "country": ["Germany", "Poland", "Japan", "Greece", "United States", "France",
                "United Kingdom", "Netherlands", "Sweden", "Spain"],
    "city": ["Berlin", "Łódź", "東京", "Αθήνα", "New York", "Paris", "London", "Amsterdam",
             "Malmö", "Sevilla"],
    "street": ["Hauptstraße", "ul. Piotrkowska", "Marunouchi", "Odos Ermou", "Main Street",
               "Rue de Rivoli", "Baker Street", "Keizersgracht", "Södra Förstadsgatan",
               "Calle Sierpes"],
    "dial": ["+49", "+48", "+81", "+30", "+1", "+33", "+44", "+31", "+46", "+34"],
    "currency": ["EUR", "PLN", "JPY", "EUR", "USD", "EUR", "GBP", "EUR", "SEK", "EUR"],
}

_WORDS: dict[str, list[str]] = {
    "first": ["Nordwind", "Acme", "Globex", "Initech", "Umbrella", "Stark", "Hooli", "Vandelay",
              "Cyberdyne", "Tyrell", "Wonka", "Aperture", "Monarch", "Dunder", "Bluth", "Zenith",
              "Polaris", "Kraków", "Malmö", "São Paulo"],
    "second": ["Metall", "Logistics", "Industries", "Trading", "Components", "Engineering",
               "Foods", "Textiles", "Plastics", "Electronics", "Supply", "Systems"],
    "suffix": ["GmbH", "Ltd", "Inc.", "S.A.", "Sp. z o.o.", "AB", "B.V.", "K.K.", "LLC",
               "S.r.l.", "AG", "Co., Ltd."],
    "domain": ["example.com", "example.org", "example.net", "mail.example.de"],
    "terms": ["NET30", "NET30", "NET60", "NET15", "COD", "PREPAID", "2/10 NET30", "EOM"],
    "material": ["Steel", "Aluminium", "Brass", "Plastic", "Rubber", "Titanium", "Copper",
                 "Carbon"],
    "part": ["Bolt", "Bracket", "Gear", "Valve", "Bearing", "Hinge", "Pump", "Sensor", "Cable",
             "Panel", "Spring", "Gasket"],
    "size": ["M4", "M6", "M8", "10 mm", '1/2"', '3/4"', "XL", "Mk II"],
    "category": ["Fasteners", "Hydraulics", "Electrical", "Packaging", "Raw Materials", "Tools",
                 "Spare Parts", "Safety"],
    "unit": ["pcs", "pcs", "pcs", "kg", "m", "l", "box", "set"],
    "description": ["Standard part for general assembly.", "Corrosion-resistant; for outdoor use.",
                    "Replacement part, compatible with series 200/300.",
                    "Heavy duty. Max load 500 kg.", "Sold per unit, minimum order 10.",
                    "RoHS compliant."],
    "instruction": ["Deliver to loading dock B", "Call before delivery", "Leave at reception",
                    "Fragile, handle with care", "Deliver between 8:00 and 14:00",
                    "Use the side entrance", "Pallets must not exceed 1.2 m",
                    "Invoice by e-mail only", "Partial deliveries accepted", "Keep dry"],
    "work_center": ["WC-ASSEMBLY", "WC-CNC-01", "WC-CNC-02", "WC-PAINT", "WC-PACK", "WC-WELD"],
    "wo_note": ["Rush order", "Check material certificate", "Use fixture F-12", "Second shift",
                "Customer witness inspection", "Rework after failed test",
                "Tooling change required"],
    "location": ["WH-MAIN", "WH-EAST", "WH-WEST"],
    "txn_note": ["Cycle count", "Goods receipt", "Production issue", "Damaged in handling",
                 "Transfer between warehouses", "Customer return"],
    "carrier": ["DHL", "UPS", "FedEx", "DB Schenker", "Kuehne+Nagel", "DSV", "Poczta Polska",
                "ヤマト運輸"],
    "test_type": ["dimensional", "visual", "hardness", "tensile", "pressure", "electrical"],
    "inspector": ["A. Schmidt", "Zoë Łukasiewicz", "José Müller", "田中 太郎", "J. Smith",
                  "Ν. Παπαδόπουλος", "Seán O'Neill"],
    "qt_note": ["Within tolerance", "Re-measured", "Surface scratches noted", "Sample size 5",
                "Gauge R&R pending", "Operator: night shift"],
}

# Weighted picks: a value repeated w times in a 20-slot list occurs ~w * 5% of the time.
_WEIGHTS: dict[str, dict[str, int]] = {
    "customers": {"active": 17, "on_hold": 2, "blocked": 1},
    "suppliers": {"approved": 15, "pending": 3, "suspended": 2},
    "products": {"active": 16, "discontinued": 2, "draft": 2},
    # shipped + delivered = 60%: those orders get a shipment each.
    "orders": {"draft": 1, "cancelled": 1, "confirmed": 2, "in_production": 4, "shipped": 3,
               "delivered": 9},
    "work_orders": {"planned": 3, "released": 3, "in_progress": 4, "completed": 6, "closed": 4},
    "inventory_transactions": {"posted": 17, "pending": 2, "reversed": 1},
    "txn_type": {"receipt": 6, "issue": 8, "adjustment": 2, "transfer_in": 2, "transfer_out": 2},
}

SCHEMA_FILE = Path(__file__).with_name("demo_schema.sql")
_SECTION = re.compile(r"^--\s*section:\s*(\w+)\s*$")


# --------------------------------------------------------------------------- public API


def schema_sql() -> dict[str, str]:
    """The sections of ``demo_schema.sql`` by name: ``tables``, ``constraints``, ``security``."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
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
                cur = c.execute(_FILL[table].format(**fill))
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
                 f"(1 + pg_temp.h(c, 105) % {len(_COUNTRIES['country'])})::integer"),
    ]


def _fill_values(size: dict[str, int], orgs: int) -> dict[str, str]:
    values = {name: str(n) for name, n in size.items()}
    values.update({f"w_{name}": _array(words) for name, words in _WORDS.items()})
    values.update({f"c_{name}": _array(words) for name, words in _COUNTRIES.items()})
    values.update({f"s_{table}": _array(s) for table, s in STATUSES.items()})
    values.update({f"ws_{table}": _weighted(w) for table, w in _WEIGHTS.items()})
    # Work orders point at a sales order of their org 70% of the time, if every org has one.
    values["wo_order"] = (
        f"CASE WHEN pg_temp.h(w, 302) % 10 < 7"
        f" THEN pg_temp.member(w, {size['orders']}, pg_temp.h(w, 303)) END"
        if size["orders"] >= orgs
        else "NULL::bigint"
    )
    return values


# One INSERT ... SELECT per table, in TABLES order; {name}s are filled by _fill_values.
_FILL: dict[str, str] = {
    "customers": """
INSERT INTO erp.customers (id, org_id, code, name, email, phone, country, city, address,
    credit_limit, payment_terms, status, active, archived, created_at)
SELECT c, pg_temp.org(c), pg_temp.code('CU-', c),
    pg_temp.hard(c, 1, pg_temp.pick({w_first}, pg_temp.h(c, 101)) || ' '
        || pg_temp.pick({w_second}, pg_temp.h(c, 102)) || ' '
        || pg_temp.pick({w_suffix}, pg_temp.h(c, 103))),
    CASE WHEN pg_temp.h(c, 104) % 30 = 0 THEN NULL
        ELSE 'orders.' || c || '@' || pg_temp.pick({w_domain}, pg_temp.h(c, 106)) END,
    CASE WHEN pg_temp.h(c, 107) % 25 = 0 THEN NULL
        ELSE ({c_dial})[ci] || ' ' || (1000000 + pg_temp.h(c, 108) % 9000000) END,
    ({c_country})[ci],
    pg_temp.hard(c, 2, ({c_city})[ci]),
    pg_temp.hard(c, 3, (1 + pg_temp.h(c, 109) % 250) || ' ' || ({c_street})[ci] || ', '
        || (10000 + pg_temp.h(c, 110) % 89999) || ' ' || ({c_city})[ci]),
    CASE WHEN c % 97 = 5 THEN 999999999999.99
        WHEN c % 97 = 11 THEN 0
        ELSE (1 + pg_temp.h(c, 111) % 500) * 1000 + pg_temp.h(c, 112) % 100 / 100.0 END,
    pg_temp.pick({w_terms}, pg_temp.h(c, 113)),
    pg_temp.status(c, {s_customers}, {ws_customers}, pg_temp.h(c, 114)),
    pg_temp.is_active(c), pg_temp.is_archived(c),
    pg_temp.ts_back(pg_temp.h(c, 115), 400)
FROM (SELECT c, pg_temp.country(c) AS ci FROM generate_series(1, {customers}) AS c OFFSET 0) s
""",
    "suppliers": """
INSERT INTO erp.suppliers (id, org_id, code, name, email, phone, country, lead_time_days,
    rating, status, active, archived, created_at)
SELECT s, pg_temp.org(s), pg_temp.code('SUP-', s),
    pg_temp.hard(s, 4, pg_temp.pick({w_first}, pg_temp.h(s, 121)) || ' '
        || pg_temp.pick({w_second}, pg_temp.h(s, 122)) || ' Supply '
        || pg_temp.pick({w_suffix}, pg_temp.h(s, 123))),
    CASE WHEN pg_temp.h(s, 124) % 20 = 0 THEN NULL
        ELSE 'sales.' || s || '@' || pg_temp.pick({w_domain}, pg_temp.h(s, 125)) END,
    ({c_dial})[ci] || ' ' || (1000000 + pg_temp.h(s, 126) % 9000000),
    ({c_country})[ci],
    (1 + pg_temp.h(s, 127) % 60)::integer,
    CASE WHEN pg_temp.h(s, 128) % 10 = 0 THEN NULL
        ELSE (100 + pg_temp.h(s, 129) % 400) / 100.0 END,
    pg_temp.status(s, {s_suppliers}, {ws_suppliers}, pg_temp.h(s, 130)),
    pg_temp.is_active(s), pg_temp.is_archived(s),
    pg_temp.ts_back(pg_temp.h(s, 131), 400)
FROM (SELECT s, pg_temp.country(s + 7) AS ci
      FROM generate_series(1, {suppliers}) AS s OFFSET 0) x
""",
    "products": """
INSERT INTO erp.products (id, org_id, sku, name, description, category, unit, unit_price, cost,
    weight_kg, supplier_id, status, active, archived, created_at)
SELECT p, pg_temp.org(p), pg_temp.code('SKU-', p),
    pg_temp.hard(p, 5, pg_temp.pick({w_material}, pg_temp.h(p, 141)) || ' '
        || pg_temp.pick({w_part}, pg_temp.h(p, 142)) || ' '
        || pg_temp.pick({w_size}, pg_temp.h(p, 143))),
    pg_temp.hard(p, 6, CASE WHEN pg_temp.h(p, 144) % 10 = 0 THEN NULL
        ELSE pg_temp.pick({w_description}, pg_temp.h(p, 145)) END),
    pg_temp.pick({w_category}, pg_temp.h(p, 146)),
    pg_temp.pick({w_unit}, pg_temp.h(p, 147)),
    pg_temp.price_cents(p) / 100.0,
    pg_temp.cost(p),
    CASE WHEN pg_temp.h(p, 148) % 25 = 0 THEN NULL ELSE pg_temp.h(p, 149) % 50000 / 1000.0 END,
    pg_temp.member(p, {suppliers}, pg_temp.h(p, 150)),
    pg_temp.status(p, {s_products}, {ws_products}, pg_temp.h(p, 151)),
    pg_temp.is_active(p), pg_temp.is_archived(p),
    pg_temp.ts_back(pg_temp.h(p, 152), 400)
FROM generate_series(1, {products}) AS p
""",
    "orders": """
INSERT INTO erp.orders (id, org_id, order_number, customer_id, order_date, status, total, tax,
    discount, currency, payment_terms, delivery_date, delivery_address, special_instructions,
    active, archived, created_at)
SELECT o.i, pg_temp.org(o.i), pg_temp.code('SO-', o.i), o.cust, o.d, o.status,
    CASE WHEN o.i % 499 = 3 THEN 999999999999.99
        WHEN o.i % 499 = 7 THEN -12345.67
        ELSE (o.sub + coalesce(o.tax, 0) - o.disc) / 100.0 END,
    o.tax / 100.0,
    o.disc / 100.0,
    ({c_currency})[pg_temp.country(o.cust)],
    CASE WHEN pg_temp.h(o.i, 161) % 10 = 0 THEN pg_temp.pick({w_terms}, pg_temp.h(o.i, 162))
        ELSE c.payment_terms END,
    CASE WHEN o.status IN ('draft', 'cancelled') OR pg_temp.h(o.i, 163) % 15 = 0 THEN NULL
        ELSE o.d + (2 + pg_temp.h(o.i, 164) % 20)::integer END,
    pg_temp.hard(o.i, 7, CASE WHEN pg_temp.h(o.i, 165) % 10 = 0
        THEN (1 + pg_temp.h(o.i, 166) % 99) || ' Industrial Park, Gate '
            || (1 + pg_temp.h(o.i, 167) % 9)
        ELSE c.address END),
    pg_temp.hard(o.i, 3, CASE WHEN pg_temp.h(o.i, 168) % 30 < 3 THEN NULL
        WHEN pg_temp.h(o.i, 168) % 30 = 3 THEN ''
        ELSE pg_temp.pick({w_instruction}, pg_temp.h(o.i, 169)) END),
    pg_temp.is_active(o.i), pg_temp.is_archived(o.i),
    pg_temp.at_day(o.d, pg_temp.h(o.i, 170))
FROM (
    SELECT i, cust, d, status, sub,
        CASE WHEN pg_temp.h(i, 171) % 12 = 0 THEN NULL
            ELSE (sub * (ARRAY[0, 7, 19, 20, 23])[1 + pg_temp.h(i, 172) % 5] + 50) / 100 END
            AS tax,
        CASE WHEN pg_temp.h(i, 173) % 6 = 0 THEN (sub * 5 + 50) / 100 ELSE 0 END AS disc
    FROM (
        SELECT i,
            pg_temp.member(i, {customers}, pg_temp.h(i, 174)) AS cust,
            pg_temp.day_back(pg_temp.h(i, 175), 400) AS d,
            pg_temp.status(i, {s_orders}, {ws_orders}, pg_temp.h(i, 176)) AS status,
            pg_temp.order_cents(i) AS sub
        FROM generate_series(1, {orders}) AS i
        OFFSET 0
    ) s1
    OFFSET 0
) o
JOIN erp.customers c ON c.id = o.cust
""",
    "order_lines": """
INSERT INTO erp.order_lines (org_id, order_id, line_no, product_id, quantity, unit_price,
    line_total)
SELECT pg_temp.org(i), i, l, pg_temp.line_product(i, l),
    pg_temp.qty_milli(i, l) / 1000.0,
    pg_temp.price_cents(pg_temp.line_product(i, l)) / 100.0,
    pg_temp.line_cents(i, l) / 100.0
FROM (SELECT i, generate_series(1, pg_temp.nlines(i)) AS l
      FROM generate_series(1, {orders}) AS i) s
""",
    "work_orders": """
INSERT INTO erp.work_orders (id, org_id, wo_number, product_id, order_id, quantity, status,
    priority, start_date, due_date, completed_at, work_center, notes, active, archived,
    created_at)
SELECT w, pg_temp.org(w), pg_temp.code('WO-', w),
    pg_temp.member(w, {products}, pg_temp.h(w, 301)),
    {wo_order},
    CASE WHEN pg_temp.h(w, 304) % 4 = 0 THEN (1 + pg_temp.h(w, 305) % 50000) / 1000.0
        ELSE 1 + pg_temp.h(w, 305) % 500 END,
    status,
    (1 + pg_temp.h(w, 306) % 5)::integer,
    sd,
    sd + (1 + pg_temp.h(w, 307) % 30)::integer,
    CASE WHEN status IN ('completed', 'closed') THEN pg_temp.at_day(
        least(sd + (pg_temp.h(w, 308) % 20)::integer, pg_temp.base()), pg_temp.h(w, 309)) END,
    pg_temp.pick({w_work_center}, pg_temp.h(w, 310)),
    pg_temp.hard(w, 8, CASE WHEN pg_temp.h(w, 311) % 4 = 0 THEN NULL
        ELSE pg_temp.pick({w_wo_note}, pg_temp.h(w, 312)) END),
    pg_temp.is_active(w), pg_temp.is_archived(w),
    pg_temp.at_day(sd - (1 + pg_temp.h(w, 313) % 5)::integer, pg_temp.h(w, 314))
FROM (SELECT w, pg_temp.status(w, {s_work_orders}, {ws_work_orders}, pg_temp.h(w, 315)) AS status,
        pg_temp.day_back(pg_temp.h(w, 316), 400) AS sd
      FROM generate_series(1, {work_orders}) AS w OFFSET 0) s
""",
    "inventory": """
INSERT INTO erp.inventory (id, org_id, product_id, location, quantity_on_hand,
    quantity_reserved, reorder_point, unit_cost, status, last_counted_at, active, archived,
    updated_at)
SELECT id, pg_temp.org(p), p, ({w_location})[loc], qoh / 1000.0,
    least(qoh, pg_temp.h(id, 401) % 400000) / 1000.0,
    rop / 1000.0,
    pg_temp.cost(p),
    CASE WHEN qoh = 0 THEN 'out' WHEN qoh < rop THEN 'low' ELSE 'ok' END,
    CASE WHEN pg_temp.h(id, 402) % 10 = 0 THEN NULL ELSE pg_temp.ts_back(pg_temp.h(id, 403), 400)
        END,
    pg_temp.is_active(id), pg_temp.is_archived(id),
    pg_temp.ts_back(pg_temp.h(id, 404), 400)
FROM (SELECT (p - 1) * 3 + loc AS id, p, loc,
        CASE WHEN pg_temp.h((p - 1) * 3 + loc, 405) % 15 = 0 THEN 0
            ELSE pg_temp.h((p - 1) * 3 + loc, 406) % 5000000 END AS qoh,
        50000 + pg_temp.h((p - 1) * 3 + loc, 407) % 450000 AS rop
      FROM generate_series(1, {products}) AS p, generate_series(1, 3) AS loc
      OFFSET 0) s
""",
    "inventory_transactions": """
INSERT INTO erp.inventory_transactions (id, org_id, product_id, location, txn_type, quantity,
    reference, status, occurred_at, note, active, archived)
SELECT t, pg_temp.org(t), pg_temp.member(t, {products}, pg_temp.h(t, 501)),
    pg_temp.pick({w_location}, pg_temp.h(t, 502)),
    tt,
    CASE WHEN tt IN ('issue', 'transfer_out') OR (tt = 'adjustment' AND pg_temp.h(t, 503) % 2 = 0)
        THEN -q ELSE q END / 1000.0,
    CASE tt WHEN 'receipt' THEN pg_temp.code('PO-', pg_temp.h(t, 504) % 1000000)
        WHEN 'issue' THEN pg_temp.code('PICK-', t)
        WHEN 'adjustment' THEN CASE WHEN pg_temp.h(t, 505) % 3 = 0 THEN NULL
            ELSE pg_temp.code('ADJ-', t) END
        ELSE pg_temp.code('TR-', t) END,
    pg_temp.status(t, {s_inventory_transactions}, {ws_inventory_transactions},
        pg_temp.h(t, 506)),
    pg_temp.ts_back(pg_temp.h(t, 507), 400),
    pg_temp.hard(t, 9, CASE WHEN pg_temp.h(t, 508) % 3 = 0 THEN NULL
        ELSE pg_temp.pick({w_txn_note}, pg_temp.h(t, 509)) END),
    pg_temp.is_active(t), pg_temp.is_archived(t)
FROM (SELECT t, pg_temp.pick({ws_txn_type}, pg_temp.h(t, 510)) AS tt,
        CASE WHEN pg_temp.h(t, 511) % 3 = 0 THEN 1 + pg_temp.h(t, 512) % 500000
            ELSE 1000 * (1 + pg_temp.h(t, 512) % 200) END AS q
      FROM generate_series(1, {inventory_transactions}) AS t OFFSET 0) s
""",
    # One shipment per shipped or delivered order (~60% of orders).
    "shipments": """
INSERT INTO erp.shipments (org_id, shipment_number, order_id, carrier, tracking_number,
    ship_date, delivered_at, status, weight_kg, shipping_cost, destination, active, archived,
    created_at)
SELECT org_id, pg_temp.code('SH-', id), id,
    pg_temp.pick({w_carrier}, pg_temp.h(id, 601)),
    CASE WHEN pg_temp.h(id, 602) % 20 = 0 THEN NULL ELSE upper(to_hex(pg_temp.h(id, 603))) END,
    sd,
    CASE WHEN st IN ('delivered', 'returned') THEN pg_temp.at_day(
        least(sd + (1 + pg_temp.h(id, 604) % 7)::integer, pg_temp.base()), pg_temp.h(id, 605))
        END,
    st,
    CASE WHEN pg_temp.h(id, 606) % 30 = 0 THEN NULL ELSE pg_temp.h(id, 607) % 2000000 / 1000.0
        END,
    CASE WHEN id % 997 = 3 THEN 9999999999.99
        WHEN id % 997 = 5 THEN -0.01
        WHEN pg_temp.h(id, 608) % 10 = 0 THEN 0
        ELSE (500 + pg_temp.h(id, 609) % 50000) / 100.0 END,
    pg_temp.hard(id, 10, delivery_address),
    pg_temp.is_active(id), pg_temp.is_archived(id),
    pg_temp.at_day(sd, pg_temp.h(id, 610))
FROM (SELECT id, org_id, delivery_address,
        least(order_date + (1 + pg_temp.h(id, 611) % 5)::integer, pg_temp.base()) AS sd,
        CASE WHEN status = 'shipped'
            THEN CASE WHEN pg_temp.h(id, 612) % 5 = 0 THEN 'pending' ELSE 'in_transit' END
            ELSE CASE WHEN pg_temp.h(id, 612) % 20 = 0 THEN 'returned' ELSE 'delivered' END
            END AS st
      FROM erp.orders WHERE status IN ('shipped', 'delivered')
      ORDER BY id OFFSET 0) s
""",
    # Four work orders in five get a test; the test of work order w is number w - w / 5.
    "quality_tests": """
INSERT INTO erp.quality_tests (id, org_id, test_number, work_order_id, product_id, test_type,
    status, measured_value, spec_min, spec_max, tested_at, inspector, notes, active, archived)
SELECT q, org_id, pg_temp.code('QT-', q), w, product_id,
    pg_temp.pick({w_test_type}, pg_temp.h(q, 701)),
    CASE WHEN mv IS NULL THEN 'pending' WHEN mv BETWEEN lo AND hi THEN 'pass' ELSE 'fail' END,
    mv / 10000.0, lo / 10000.0, hi / 10000.0,
    CASE WHEN mv IS NULL THEN NULL ELSE pg_temp.at_day(
        least(start_date + (pg_temp.h(q, 702) % 10)::integer, pg_temp.base()),
        pg_temp.h(q, 703)) END,
    pg_temp.pick({w_inspector}, pg_temp.h(q, 704)),
    pg_temp.hard(q, 11, CASE WHEN pg_temp.h(q, 705) % 3 = 0 THEN NULL
        ELSE pg_temp.pick({w_qt_note}, pg_temp.h(q, 706)) END),
    pg_temp.is_active(q), pg_temp.is_archived(q)
FROM (SELECT q, w, org_id, product_id, start_date, lo, hi,
        CASE WHEN pg_temp.h(q, 707) % 10 = 0 THEN NULL
            ELSE lo - (hi - lo) / 10 + pg_temp.h(q, 708) % ((hi - lo) * 6 / 5 + 1) END AS mv
      FROM (SELECT id - id / 5 AS q, id AS w, org_id, product_id, start_date,
              1000 * (1 + pg_temp.h(id, 709) % 100) AS lo,
              1000 * (1 + pg_temp.h(id, 709) % 100) + 500 + pg_temp.h(id, 710) % 5000 AS hi
            FROM erp.work_orders WHERE id % 5 <> 0 OFFSET 0) s1
      OFFSET 0) s
""",
}


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
