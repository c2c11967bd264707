"""The catalog: which data types exist and which fields each one offers.

Loaded from TOML (the shipped catalog.toml or EXPORTER_CATALOG) and validated at
load, so every identifier the query builder uses was named by a deployer here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from exporter.errors import CatalogError

SHIPPED = Path(__file__).with_name("catalog.toml")
FIELD_TYPES = ("text", "integer", "decimal", "date", "timestamp", "boolean")
IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Join:
    name: str
    table: str
    key: str


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    category: str
    type: str
    column: str
    via: str | None = None
    default: bool = False


@dataclass(frozen=True)
class Child:
    """A nested list of records per row, such as an order's line items."""

    name: str
    label: str
    category: str
    table: str
    parent_key: str
    order_by: str
    text: str
    xml_item: str
    default: bool
    fields: tuple[Field, ...]
    joins: dict[str, Join] = field(default_factory=dict)


@dataclass(frozen=True)
class DataType:
    name: str
    label: str
    schema: str
    table: str
    org_column: str
    date_column: str
    status_column: str | None
    statuses: tuple[str, ...]
    active_column: str | None
    archived_column: str | None
    xml_row: str
    fields: tuple[Field, ...]
    joins: dict[str, Join] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)
    id_column: str = "id"

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def date_column_type(self) -> str:
        found = next((f for f in self.fields if f.column == self.date_column and not f.via), None)
        return found.type if found else "timestamp"

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields] + list(self.children)

    def default_fields(self) -> list[str]:
        scalar = [f.name for f in self.fields if f.default]
        return scalar + [c.name for c in self.children.values() if c.default]

    def label_of(self, name: str) -> str:
        found = self.field(name)
        return found.label if found else self.children[name].label


@dataclass(frozen=True)
class Catalog:
    types: dict[str, DataType]

    def get(self, name: str) -> DataType | None:
        return self.types.get(name)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file; the shipped one when path is empty."""
    return _load(str(path or SHIPPED))


@lru_cache(maxsize=8)
def _load(path: str) -> Catalog:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError("CATALOG_UNREADABLE", f"cannot read catalog {path}: {exc}") from exc
    types = raw.get("types")
    if not isinstance(types, dict) or not types:
        raise CatalogError("CATALOG_INVALID", f"{path}: no [types.<name>] tables")
    return Catalog({name: _data_type(name, body) for name, body in types.items()})


def _need(where: str, body: dict[str, Any], key: str, ident: bool = False) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogError("CATALOG_INVALID", f"{where}: '{key}' is required", where)
    if ident and not IDENT.match(value):
        msg = f"{where}: '{key}' = {value!r} is not a plain identifier"
        raise CatalogError("CATALOG_INVALID", msg, where)
    return value


def _optional_ident(where: str, body: dict[str, Any], key: str) -> str | None:
    return _need(where, body, key, ident=True) if body.get(key) is not None else None


def _joins(where: str, body: dict[str, Any]) -> dict[str, Join]:
    joins = {}
    for name, j in (body.get("joins") or {}).items():
        w = f"{where}.joins.{name}"
        if not IDENT.match(name):
            raise CatalogError("CATALOG_INVALID", f"{w}: join name is not a plain identifier", w)
        joins[name] = Join(name, _need(w, j, "table", True), _need(w, j, "key", True))
    return joins


def _fields(where: str, items: Any, joins: dict[str, Join]) -> tuple[Field, ...]:
    if not isinstance(items, list) or not items:
        raise CatalogError("CATALOG_INVALID", f"{where}: 'fields' must be a non-empty list", where)
    out: list[Field] = []
    for i, f in enumerate(items):
        w = f"{where}.fields[{i}]"
        name = _need(w, f, "name", True)
        w = f"{where}.fields.{name}"
        ftype = _need(w, f, "type")
        if ftype not in FIELD_TYPES:
            raise CatalogError("CATALOG_INVALID", f"{w}: type {ftype!r} is not one of {FIELD_TYPES}", w)
        via = f.get("via")
        if via is not None and via not in joins:
            raise CatalogError("CATALOG_INVALID", f"{w}: via {via!r} names no join", w)
        column = f.get("column", name)
        if not isinstance(column, str) or not IDENT.match(column):
            raise CatalogError("CATALOG_INVALID", f"{w}: column {column!r} is not a plain identifier", w)
        out.append(Field(name, _need(w, f, "label"), f.get("category", "General"), ftype,
                         column, via, bool(f.get("default", False))))
    names = [f.name for f in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CatalogError("CATALOG_INVALID", f"{where}: duplicate field names {dupes}", where)
    return tuple(out)


def _child(where: str, name: str, body: dict[str, Any]) -> Child:
    joins = _joins(where, body)
    fields = _fields(where, body.get("fields"), joins)
    text = _need(where, body, "text")
    unknown = set(PLACEHOLDER.findall(text)) - {f.name for f in fields}
    if unknown:
        raise CatalogError("CATALOG_INVALID", f"{where}: text names unknown fields {sorted(unknown)}", where)
    return Child(name, _need(where, body, "label"), body.get("category", "General"),
                 _need(where, body, "table", True), _need(where, body, "parent_key", True),
                 _need(where, body, "order_by", True), text,
                 _need(where, body, "xml_item", True), bool(body.get("default", False)),
                 fields, joins)


def _data_type(name: str, body: Any) -> DataType:
    where = f"types.{name}"
    if not IDENT.match(name) or not isinstance(body, dict):
        raise CatalogError("CATALOG_INVALID", f"{where}: bad data type entry", where)
    joins = _joins(where, body)
    fields = _fields(where, body.get("fields"), joins)
    children = {c: _child(f"{where}.children.{c}", c, b) for c, b in (body.get("children") or {}).items()}
    clash = {f.name for f in fields} & set(children)
    if clash:
        raise CatalogError("CATALOG_INVALID", f"{where}: children clash with fields {sorted(clash)}", where)
    status_column = _optional_ident(where, body, "status_column")
    statuses = tuple(body.get("statuses") or ())
    if status_column and not statuses:
        raise CatalogError("CATALOG_INVALID", f"{where}: status_column needs a 'statuses' list", where)
    return DataType(
        name=name, label=_need(where, body, "label"), schema=_need(where, body, "schema", True),
        table=_need(where, body, "table", True), org_column=_need(where, body, "org_column", True),
        date_column=_need(where, body, "date_column", True), status_column=status_column,
        statuses=statuses, active_column=_optional_ident(where, body, "active_column"),
        archived_column=_optional_ident(where, body, "archived_column"),
        xml_row=_need(where, body, "xml_row", True) if "xml_row" in body else "record",
        fields=fields, joins=joins, children=children,
        id_column=_need(where, body, "id_column", True) if "id_column" in body else "id",
    )
