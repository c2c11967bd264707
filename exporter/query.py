"""A spec becomes SQL here: build_sql(spec) -> (sql, params).

Identifiers come only from the catalog and are quoted by quote(); every value is a
bound, named parameter. The same WHERE clause serves DuckDB (over the attached source)
and Postgres itself (bounds, counts and plans), so both always agree on which rows match.

Rows are read in id order, one window of ids at a time ($lo <= id < $hi): Postgres
answers each window from its indexes, and DuckDB only ever sorts one window, so memory
stays flat however many rows an export has, nested line items included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exporter.catalog import Child, DataType, Field, Join
from exporter.spec import ExportSpec

SOURCE = "src"  # the name DuckDB attaches the source database under
ROW_ID = "_row_id"  # the id column build_sql adds, to order by after rendering
Params = dict[str, Any]


def quote(identifier: str) -> str:
    """Quote an identifier taken from the catalog (the only way names enter SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def duck(name: str) -> str:
    """A named parameter in DuckDB SQL."""
    return f"${name}"


def pg(name: str) -> str:
    """A named parameter in psycopg SQL."""
    return f"%({name})s"


@dataclass(frozen=True)
class Column:
    """One output column: a catalog field, or a nested child list (child set)."""

    name: str
    label: str
    type: str
    child: Child | None = None


def output_columns(spec: ExportSpec, dtype: DataType) -> list[Column]:
    columns = []
    for name in spec.fields:
        found = dtype.field(name)
        if found:
            columns.append(Column(found.name, found.label, found.type))
        else:
            child = dtype.children[name]
            columns.append(Column(child.name, child.label, "list", child))
    return columns


def _table(dtype: DataType, table: str, prefix: str) -> str:
    return f"{prefix}{quote(dtype.schema)}.{quote(table)}"


def _field_expr(f: Field, owner: str) -> str:
    alias = quote("j_" + f.via) if f.via else owner
    return f"{alias}.{quote(f.column)}"


def _join_sql(j: Join, dtype: DataType, owner: str, prefix: str) -> str:
    alias = quote("j_" + j.name)
    return (f"LEFT JOIN {_table(dtype, j.table, prefix)} AS {alias} "
            f"ON {alias}.{quote('id')} = {owner}.{quote(j.key)} "
            f"AND {alias}.{quote(dtype.org_column)} = {duck('org')}")


def where_clause(spec: ExportSpec, dtype: DataType, org: int, tz: str, today: date,
                 ph: Any = duck, t: str = "t") -> tuple[str, Params]:
    """The filters of a spec on the main table (aliased t), with its parameters."""
    col = f"{t}.{quote(dtype.date_column)}"
    parts = [f"{t}.{quote(dtype.org_column)} = {ph('org')}"]
    params: Params = {"org": org}
    bounds = spec.date_bounds(today)
    if bounds:
        first, last = bounds
        if dtype.date_column_type() == "date":
            parts.append(f"{col} >= {ph('first_day')} AND {col} <= {ph('last_day')}")
            params.update(first_day=first, last_day=last)
        else:
            zone = ZoneInfo(tz)
            parts.append(f"{col} >= {ph('first_day')} AND {col} < {ph('last_day')}")
            params.update(first_day=datetime.combine(first, time(), zone),
                          last_day=datetime.combine(last + timedelta(days=1), time(), zone))
    if spec.statuses and dtype.status_column:
        names = [f"status_{i}" for i in range(len(spec.statuses))]
        marks = ", ".join(ph(n) for n in names)
        parts.append(f"{t}.{quote(dtype.status_column)} IN ({marks})")
        params.update(zip(names, spec.statuses, strict=True))
    if spec.only_active and dtype.active_column:
        parts.append(f"{t}.{quote(dtype.active_column)}")
    if spec.exclude_archived and dtype.archived_column:
        parts.append(f"NOT {t}.{quote(dtype.archived_column)}")
    return " AND ".join(parts), params


def _child_sql(child: Child, dtype: DataType, parents_where: str) -> str:
    """Per-parent lists of structs for the selected parents of one id window (only
    theirs: aggregating every child in the window would cost memory for nothing)."""
    members = ", ".join(f"{quote(f.name)} := {_field_expr(f, 'c')}" for f in child.fields)
    joins = " ".join(_join_sql(j, dtype, "c", SOURCE + ".") for j in child.joins.values())
    key = f"c.{quote(child.parent_key)}"
    pid = f"p.{quote(dtype.id_column)}"
    parents = (f"SELECT {pid} FROM {_table(dtype, dtype.table, SOURCE + '.')} AS p "
               f"WHERE {parents_where} AND {pid} >= {duck('lo')} AND {pid} < {duck('hi')}")
    return (f"SELECT {key} AS parent_id, "
            f"list(struct_pack({members}) ORDER BY c.{quote(child.order_by)}) AS items "
            f"FROM {_table(dtype, child.table, SOURCE + '.')} AS c {joins} "
            f"WHERE c.{quote(dtype.org_column)} = {duck('org')} "
            f"AND {key} >= {duck('lo')} AND {key} < {duck('hi')} AND {key} IN ({parents}) "
            "GROUP BY 1")


def build_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str, today: date
              ) -> tuple[str, Params]:
    """DuckDB SQL over the attached source for the ids $lo <= id < $hi: one row per
    record, typed columns named by field name in the spec's field order, then the id as
    ROW_ID (unordered: callers sort by ROW_ID after their own work, see ordered())."""
    select: list[str] = []
    joins: list[str] = []
    where, params = where_clause(spec, dtype, org, tz, today)
    parents_where, _ = where_clause(spec, dtype, org, tz, today, t="p")
    used = sorted({f.via for n in spec.fields if (f := dtype.field(n)) and f.via})
    joins += [_join_sql(dtype.joins[name], dtype, "t", SOURCE + ".") for name in used]
    for name in spec.fields:
        found = dtype.field(name)
        if found:
            select.append(f"{_field_expr(found, 't')} AS {quote(name)}")
            continue
        alias = quote("c_" + name)
        child_sql = _child_sql(dtype.children[name], dtype, parents_where)
        joins.append(f"LEFT JOIN ({child_sql}) AS {alias} "
                     f"ON {alias}.parent_id = t.{quote(dtype.id_column)}")
        select.append(f"coalesce({alias}.items, []) AS {quote(name)}")
    key = f"t.{quote(dtype.id_column)}"
    select.append(f"{key} AS {ROW_ID}")
    sql = (f"SELECT {', '.join(select)} FROM {_table(dtype, dtype.table, SOURCE + '.')} AS t "
           f"{' '.join(joins)} WHERE {where} AND {key} >= {duck('lo')} AND {key} < {duck('hi')}")
    return sql, params


def ordered(sql: str, columns: str = f"* EXCLUDE ({ROW_ID})", limit: int | None = None) -> str:
    """The rows of a query holding ROW_ID, in id order, without ROW_ID."""
    out = f"SELECT {columns} FROM ({sql}) AS o ORDER BY o.{ROW_ID}"
    return out + (f" LIMIT {int(limit)}" if limit is not None else "")


def bounds_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str,
               today: date) -> tuple[str, Params]:
    """Postgres SQL (psycopg placeholders): count, lowest and highest id of the rows."""
    where, params = where_clause(spec, dtype, org, tz, today, ph=pg)
    key = f"t.{quote(dtype.id_column)}"
    return (f"SELECT count(*), min({key}), max({key}) "
            f"FROM {_table(dtype, dtype.table, '')} AS t WHERE {where}"), params


def plan_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str,
             today: date) -> tuple[str, Params]:
    """Postgres SQL asking the planner how many rows a spec selects."""
    where, params = where_clause(spec, dtype, org, tz, today, ph=pg)
    return f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {_table(dtype, dtype.table, '')} AS t WHERE {where}", params


def first_ids_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str, today: date,
                  limit: int) -> tuple[str, Params]:
    """Postgres SQL: the ids of the first `limit` rows (for a quick preview)."""
    where, params = where_clause(spec, dtype, org, tz, today, ph=pg)
    key = f"t.{quote(dtype.id_column)}"
    return (f"SELECT {key} FROM {_table(dtype, dtype.table, '')} AS t WHERE {where} "
            f"ORDER BY {key} LIMIT {int(limit)}"), params
