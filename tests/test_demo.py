"""Demo ERP schema and seeder (exporter.demo) against a real Postgres.

The tests use their own databases on the shared test server (created here, dropped at the
end), so seeding never replaces the erp schema of the shared database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from exporter import demo

ORDERS, ORGS = 1000, 3
TODAY = datetime.now(UTC).date()
DB = f"exporter_test_demo_{os.getpid()}"  # own databases: runs in parallel do not collide

# (child table, foreign key column, parent table)
PARENTS = [
    ("orders", "customer_id", "customers"),
    ("order_lines", "order_id", "orders"),
    ("order_lines", "product_id", "products"),
    ("products", "supplier_id", "suppliers"),
    ("work_orders", "product_id", "products"),
    ("work_orders", "order_id", "orders"),
    ("inventory", "product_id", "products"),
    ("inventory_transactions", "product_id", "products"),
    ("shipments", "order_id", "orders"),
    ("quality_tests", "work_order_id", "work_orders"),
    ("quality_tests", "product_id", "products"),
]


def _database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(admin_url, dbname=name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def admin_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def seeded(admin_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    """A database seeded with ORDERS orders over ORGS orgs: (libpq DSN, seed's counts)."""
    url = _database(admin_url, DB)
    counts = demo.seed(url, orders=ORDERS, orgs=ORGS, today=TODAY)
    yield url, counts
    _drop_database(admin_url, DB)


@pytest.fixture(scope="module")
def scratch(admin_url: str) -> Iterator[str]:
    """An empty database for the tests that create or replace the schema."""
    url = _database(admin_url, DB + "_scratch")
    yield url
    _drop_database(admin_url, DB + "_scratch")


def scalar(url: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def orders_md5(url: str) -> str:
    return str(scalar(url, "SELECT md5(string_agg(o::text, '|' ORDER BY o.id)) FROM erp.orders o"))


def test_seed_returns_the_row_counts_of_every_table(
    seeded: tuple[str, dict[str, int]],
) -> None:
    url, counts = seeded
    assert list(counts) == list(demo.TABLES)
    for table, n in counts.items():
        assert scalar(url, f"SELECT count(*) FROM erp.{table}") == n, table
    assert counts["orders"] == ORDERS
    assert ORDERS <= counts["order_lines"] <= 5 * ORDERS
    assert 2.5 * ORDERS < counts["order_lines"] < 3.5 * ORDERS
    assert counts["customers"] == 50 and counts["suppliers"] == 20 and counts["products"] == 50
    assert counts["inventory"] == 3 * counts["products"]
    assert counts["work_orders"] == ORDERS // 4
    assert counts["inventory_transactions"] == ORDERS // 2
    assert 0.5 * ORDERS < counts["shipments"] < 0.7 * ORDERS
    assert counts["quality_tests"] == ORDERS // 5


def test_every_child_row_has_the_org_of_its_parent(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    assert scalar(url, "SELECT array_agg(DISTINCT org_id ORDER BY org_id) FROM erp.orders") == [
        1, 2, 3,
    ]
    for child, key, parent in PARENTS:
        joined, wrong = scalar(
            url,
            f"SELECT ARRAY[count(*), count(*) FILTER (WHERE c.org_id <> p.org_id)]"
            f" FROM erp.{child} c JOIN erp.{parent} p ON p.id = c.{key}",
        )
        assert joined > 0 and wrong == 0, (child, key, parent)
    # Foreign keys exist (and so every reference resolves).
    fks = scalar(
        url,
        "SELECT count(*) FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = 'erp'::regnamespace",
    )
    assert fks == len(PARENTS)


def test_every_status_occurs(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    for table, statuses in demo.STATUSES.items():
        found = scalar(url, f"SELECT array_agg(DISTINCT status) FROM erp.{table}")
        assert sorted(found) == sorted(statuses), table


def test_some_rows_are_inactive_or_archived(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    inactive, archived = scalar(
        url,
        "SELECT ARRAY[avg((NOT active)::int), avg(archived::int)] FROM erp.orders",
    )
    assert 0.05 < inactive < 0.15 and 0.02 < archived < 0.08


def test_hard_but_legal_text_is_present(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    row = scalar(
        url,
        r"""SELECT ARRAY[
              count(*) FILTER (WHERE special_instructions LIKE E'%\n%'),
              count(*) FILTER (WHERE special_instructions LIKE E'%\r\n%'),
              count(*) FILTER (WHERE special_instructions LIKE '=%'),
              count(*) FILTER (WHERE special_instructions LIKE '%📦%'),
              count(*) FILTER (WHERE special_instructions IS NULL),
              count(*) FILTER (WHERE special_instructions = ''),
              count(*) FILTER (WHERE special_instructions LIKE '%]]>%'),
              count(*) FILTER (WHERE special_instructions LIKE '%' || chr(7) || '%'),
              count(*) FILTER (WHERE special_instructions LIKE E'%\t%'),
              count(*) FILTER (WHERE special_instructions LIKE '@%'),
              count(*) FILTER (WHERE special_instructions <> btrim(special_instructions)),
              count(*) FILTER (WHERE tax IS NULL),
              count(*) FILTER (WHERE delivery_date IS NULL)]
            FROM erp.orders""",
    )
    assert all(n > 0 for n in row), row
    # Every TRICKY value occurs in special_instructions, and none is common.
    found = scalar(
        url,
        "SELECT count(DISTINCT special_instructions) FROM erp.orders"
        " WHERE special_instructions = ANY(%s)",
        [list(demo.TRICKY)],
    )
    assert found == len(demo.TRICKY)
    share = scalar(
        url,
        "SELECT avg(coalesce(special_instructions = ANY(%s), false)::int) FROM erp.orders",
        [[t for t in demo.TRICKY if t]],  # '' is also an ordinary value there
    )
    assert 0.02 <= share <= 0.05
    # Customer names are hard too; they reach the orders through the join.
    names = scalar(
        url,
        "SELECT count(*) FROM erp.orders o JOIN erp.customers c ON c.id = o.customer_id"
        " WHERE c.name = ANY(%s)",
        [list(demo.TRICKY)],
    )
    assert names > 0


def test_amounts_and_dates(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    big, negative, off = scalar(
        url,
        """SELECT ARRAY[count(*) FILTER (WHERE total = 999999999999.99),
                        count(*) FILTER (WHERE total = -12345.67),
                        count(*) FILTER (WHERE total NOT IN (999999999999.99, -12345.67)
                                           AND total <> l.sum + coalesce(tax, 0) - discount)]
           FROM erp.orders o
           JOIN (SELECT order_id, sum(line_total) FROM erp.order_lines GROUP BY 1) l
             ON l.order_id = o.id""",
    )
    assert big >= 2 and negative >= 2 and off == 0
    first, last, recent = scalar(
        url,
        "SELECT ARRAY[min(order_date), max(order_date)]::text[]"
        " || avg((order_date > %s::date - 30)::int)::text FROM erp.orders",
        [TODAY],
    )
    assert date.fromisoformat(last) == TODAY
    assert (TODAY - date.fromisoformat(first)).days == 399
    assert 0.04 < float(recent) < 0.11


def test_row_level_security_shows_one_org_to_erp_reader(
    seeded: tuple[str, dict[str, int]],
) -> None:
    url, _ = seeded
    reader = make_conninfo(url, user=demo.READER_ROLE, password="erp_reader")
    expected = scalar(url, "SELECT count(*) FROM erp.orders WHERE org_id = 2")
    assert expected > 0
    with psycopg.connect(make_conninfo(reader, options="-c app.org_id=2")) as conn:
        for table in demo.TABLES:
            orgs = conn.execute(f"SELECT array_agg(DISTINCT org_id) FROM erp.{table}").fetchone()
            assert orgs == ([2],), table
        assert conn.execute("SELECT count(*) FROM erp.orders").fetchone() == (expected,)
    with psycopg.connect(reader) as conn:  # no app.org_id: nothing
        for table in demo.TABLES:
            assert conn.execute(f"SELECT count(*) FROM erp.{table}").fetchone() == (0,), table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM erp.orders")


def test_seed_is_deterministic_and_the_seed_value_matters(scratch: str) -> None:
    demo.seed(scratch, orders=200, orgs=2, today=TODAY)
    first = orders_md5(scratch)
    demo.seed(scratch, orders=200, orgs=2, today=TODAY)
    assert orders_md5(scratch) == first
    demo.seed(scratch, orders=200, orgs=2, seed=0.43, today=TODAY)
    assert orders_md5(scratch) != first


@pytest.mark.parametrize("orders", [0, 1, 10])
def test_tiny_seeds(scratch: str, orders: int) -> None:
    counts = demo.seed(scratch, orders=orders, orgs=4)
    assert counts["orders"] == orders
    assert scalar(scratch, "SELECT count(*) FROM erp.orders") == orders
    for table in ("customers", "suppliers", "products", "work_orders", "inventory",
                  "inventory_transactions", "quality_tests"):
        assert counts[table] >= 4, table
    assert demo.has_data(scratch)


def test_ensure_schema_is_idempotent_and_keeps_rows(scratch: str) -> None:
    with psycopg.connect(scratch, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS erp CASCADE")
    assert not demo.has_data(scratch)
    demo.ensure_schema(scratch)
    demo.ensure_schema(scratch)
    assert not demo.has_data(scratch)
    assert scalar(
        scratch,
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'erp'::regnamespace"
        " AND relkind = 'r' AND relrowsecurity",
    ) == len(demo.TABLES)
    assert scalar(
        scratch, "SELECT count(*) FROM pg_policies WHERE schemaname = 'erp'"
    ) == len(demo.TABLES)
    with psycopg.connect(scratch) as conn:  # a caller's connection, not autocommit
        demo.ensure_schema(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        demo.seed(conn, orders=20, orgs=2)
        assert demo.has_data(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    demo.ensure_schema(scratch)
    assert scalar(scratch, "SELECT count(*) FROM erp.orders") == 20
