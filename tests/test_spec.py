"""Validation rules of the spec's Validation section, and what never reaches SQL."""

from __future__ import annotations

import re
from datetime import date

import pytest

from exporter.catalog import load_catalog
from exporter.errors import InvalidSpec
from exporter.formats import WRITERS
from exporter.query import bounds_sql, build_sql
from exporter.spec import ExportSpec, check, validate

CATALOG = load_catalog()
ORDERS = CATALOG.types["orders"]


def spec(**changes: object) -> ExportSpec:
    base = {"data_type": "orders", "fields": ("order_number", "total"), "format": "csv"}
    return ExportSpec(**{**base, **changes})  # type: ignore[arg-type]


def codes(s: ExportSpec) -> list[str]:
    return [e.code for e in validate(s, CATALOG, WRITERS)]


def test_a_plain_spec_is_valid() -> None:
    assert validate(spec(), CATALOG, WRITERS) == []


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"data_type": ""}, "DATA_TYPE_REQUIRED", "data_type"),
    ({"data_type": "payroll"}, "UNKNOWN_DATA_TYPE", "data_type"),
    ({"fields": ()}, "NO_FIELDS", "fields"),
    ({"fields": ("order_number",) * 51}, "TOO_MANY_FIELDS", "fields"),
    ({"fields": ("order_number", "salary")}, "UNKNOWN_FIELD", "fields"),
    ({"fields": ("total", "total")}, "DUPLICATE_FIELD", "fields"),
    ({"date_range": "last_week"}, "INVALID_DATE_RANGE", "date_range"),
    ({"date_range": "custom"}, "INVALID_DATE_RANGE", "date_range"),
    ({"date_range": "custom", "date_from": date(2026, 2, 1), "date_to": date(2026, 1, 1)},
     "INVALID_DATE_RANGE", "date_range"),
    ({"date_range": "custom", "date_from": date(2025, 1, 1), "date_to": date(2026, 1, 2)},
     "DATE_RANGE_TOO_LONG", "date_range"),
    ({"statuses": ("shipped", "lost")}, "UNKNOWN_STATUS", "statuses"),
    ({"format": "pdf"}, "UNKNOWN_FORMAT", "format"),
    ({"options": {"delimiter": "::"}}, "INVALID_OPTION", "options.delimiter"),
])
def test_each_rule_is_an_export_error_with_code_and_field(changes: dict, code: str,
                                                          field: str) -> None:
    errors = validate(spec(**changes), CATALOG, WRITERS)
    assert errors, f"expected {code}"
    assert errors[0].code == code and errors[0].field == field
    assert errors[0].message
    with pytest.raises(InvalidSpec):
        check(spec(**changes), CATALOG, WRITERS)


def test_one_year_range_is_allowed() -> None:
    ok = spec(date_range="custom", date_from=date(2025, 1, 2), date_to=date(2026, 1, 2))
    assert codes(ok) == []


def test_fifty_distinct_fields_are_allowed_where_the_catalog_has_them() -> None:
    assert codes(spec(fields=tuple(ORDERS.field_names()))) == []


@pytest.mark.parametrize("evil", [
    'total"; DROP TABLE erp.orders; --',
    "total) UNION SELECT * FROM pg_shadow --",
    "1=1",
    "t.org_id",
])
def test_field_names_that_try_sql_injection_are_rejected(evil: str) -> None:
    assert "UNKNOWN_FIELD" in codes(spec(fields=("order_number", evil)))


@pytest.mark.parametrize("evil", ["shipped' OR '1'='1", "x'); DELETE FROM erp.orders; --"])
def test_statuses_that_try_sql_injection_are_rejected(evil: str) -> None:
    assert "UNKNOWN_STATUS" in codes(spec(statuses=(evil,)))


def test_data_type_injection_is_rejected_and_not_echoed_raw() -> None:
    errors = validate(spec(data_type="orders; DROP TABLE x"), CATALOG, WRITERS)
    assert errors[0].code == "UNKNOWN_DATA_TYPE"


def test_values_are_bound_parameters_not_sql_text() -> None:
    s = spec(statuses=("shipped", "delivered"), date_range="custom",
             date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    sql, params = build_sql(s, ORDERS, 7, "UTC", date(2026, 2, 1))
    assert "shipped" not in sql and "2026" not in sql and "7" not in sql
    assert params["org"] == 7 and params["first_day"] == date(2026, 1, 1)
    assert {params["status_0"], params["status_1"]} == {"shipped", "delivered"}
    assert set(re.findall(r"\$(\w+)", sql)) == set(params) | {"lo", "hi"}
    pg_sql, pg_params = bounds_sql(s, ORDERS, 7, "UTC", date(2026, 2, 1))
    assert set(re.findall(r"%\((\w+)\)s", pg_sql)) == set(pg_params)
    assert "shipped" not in pg_sql


def test_every_query_filters_by_org_on_main_joined_and_child_tables() -> None:
    s = spec(fields=("order_number", "customer_name", "line_items"))
    sql, params = build_sql(s, ORDERS, 42, "UTC", date(2026, 2, 1))
    # orders, customers, order lines, their products, and the parents the lines belong to
    assert sql.count('"org_id" = $org') == 5
    assert params["org"] == 42


def test_spec_round_trips_through_a_dict() -> None:
    s = spec(statuses=("shipped",), date_range="custom", date_from=date(2026, 1, 1),
             date_to=date(2026, 1, 31), options={"bom": True})
    assert ExportSpec.from_dict(s.to_dict()) == s


def test_malformed_dates_name_the_field() -> None:
    with pytest.raises(InvalidSpec) as err:
        ExportSpec.from_dict({"data_type": "orders", "date_from": "31/01/2026"})
    assert err.value.field == "date_from"
