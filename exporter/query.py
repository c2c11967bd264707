"""A spec becomes SQL here: build_sql(spec) -> (sql, params).

Identifiers come only from the catalog and are quoted by quote(); every value is a
bound parameter. The same WHERE clause serves DuckDB (over the attached source) and
Postgres itself (counts and plans), so both always agree on which rows match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exporter.catalog import Child, DataType, Field, Join
from exporter.spec import ExportSpec

SOURCE = "src"  # the name DuckDB attaches the source database under


def quote(identifier: str) -> str:
    """Quote an identifier taken from the catalog (the only way names enter SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


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


def _table(schema: str, table: str, prefix: str) -> str:
    return f"{prefix}{quote(schema)}.{quote(table)}" if prefix else f"{quote(schema)}.{quote(table)}"


def _field_expr(f: Field, owner: str) -> str:
    alias = quote("j_" + f.via) if f.via else owner
    return f"{alias}.{quote(f.column)}"


def _join_sql(j: Join, schema: str, owner: str, org_column: str, prefix: str, ph: str) -> str:
    alias = quote("j_" + j.name)
    return (f"LEFT JOIN {_table(schema, j.table, prefix)} AS {alias} "
            f"ON {alias}.{quote('id')} = {owner}.{quote(j.key)} "
            f"AND {alias}.{quote(org_column)} = {ph}")


def where_clause(spec: ExportSpec, dtype: DataType, org: int, tz: str, today: date,
                 ph: str = "?") -> tuple[str, list[Any]]:
    """The filters of a spec on the main table aliased t, with its parameters."""
    t = "t"
    parts = [f"{t}.{quote(dtype.org_column)} = {ph}"]
    params: list[Any] = [org]
    bounds = spec.date_bounds(today)
    if bounds:
        col = f"{t}.{quote(dtype.date_column)}"
        first, last = bounds
        if dtype.date_column_type() == "date":
            parts.append(f"{col} >= {ph} AND {col} <= {ph}")
            params += [first, last]
        else:
            zone = ZoneInfo(tz)
            parts.append(f"{col} >= {ph} AND {col} < {ph}")
            params += [datetime.combine(first, time(), zone),
                       datetime.combine(last + timedelta(days=1), time(), zone)]
    if spec.statuses and dtype.status_column:
        marks = ", ".join(ph for _ in spec.statuses)
        parts.append(f"{t}.{quote(dtype.status_column)} IN ({marks})")
        params += list(spec.statuses)
    if spec.only_active and dtype.active_column:
        parts.append(f"{t}.{quote(dtype.active_column)}")
    if spec.exclude_archived and dtype.archived_column:
        parts.append(f"NOT {t}.{quote(dtype.archived_column)}")
    return " AND ".join(parts), params


def _child_sql(child: Child, dtype: DataType, org: int) -> tuple[str, list[Any]]:
    """A per-parent list of structs, aggregated in DuckDB, joined on the parent id."""
    c = "c"
    members = ", ".join(f"{quote(f.name)} := {_field_expr(f, c)}" for f in child.fields)
    joins = " ".join(_join_sql(j, dtype.schema, c, dtype.org_column, SOURCE + ".", "?")
                     for j in child.joins.values())
    sql = (f"SELECT {c}.{quote(child.parent_key)} AS parent_id, "
           f"list(struct_pack({members}) ORDER BY {c}.{quote(child.order_by)}) AS items "
           f"FROM {_table(dtype.schema, child.table, SOURCE + '.')} AS {c} {joins} "
           f"WHERE {c}.{quote(dtype.org_column)} = ? GROUP BY 1")
    return sql, [org] * len(child.joins) + [org]


def build_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str, today: date,
              limit: int | None = None) -> tuple[str, list[Any]]:
    """DuckDB SQL over the attached source: one row per record in id order, typed
    columns named by field name, in the spec's field order."""
    t = "t"
    select: list[str] = []
    joins: list[str] = []
    params: list[Any] = []
    used = {dtype.field(n).via for n in spec.fields if dtype.field(n)} - {None}  # type: ignore[union-attr]
    for name in sorted(n for n in used if n):
        joins.append(_join_sql(dtype.joins[name], dtype.schema, t, dtype.org_column, SOURCE + ".", "?"))
        params.append(org)
    for name in spec.fields:
        found = dtype.field(name)
        if found:
            select.append(f"{_field_expr(found, t)} AS {quote(name)}")
            continue
        alias = quote("c_" + name)
        child_sql, child_params = _child_sql(dtype.children[name], dtype, org)
        joins.append(f"LEFT JOIN ({child_sql}) AS {alias} "
                     f"ON {alias}.parent_id = {t}.{quote(dtype.id_column)}")
        params += child_params
        select.append(f"coalesce({alias}.items, []) AS {quote(name)}")
    where, where_params = where_clause(spec, dtype, org, tz, today)
    sql = (f"SELECT {', '.join(select)} FROM {_table(dtype.schema, dtype.table, SOURCE + '.')} AS {t} "
           f"{' '.join(joins)} WHERE {where}")
    sql += f" ORDER BY {t}.{quote(dtype.id_column)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params + where_params


def count_sql(spec: ExportSpec, dtype: DataType, org: int, tz: str,
              today: date) -> tuple[str, list[Any]]:
    """Postgres SQL (psycopg placeholders) counting the rows a spec selects."""
    where, params = where_clause(spec, dtype, org, tz, today, ph="%s")
    return f"SELECT count(*) FROM {_table(dtype.schema, dtype.table, '')} AS t WHERE {where}", params
