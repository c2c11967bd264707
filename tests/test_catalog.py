"""The catalog loads, covers the nine data types, and names bad entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.catalog import load_catalog
from exporter.errors import CatalogError

NINE = {"orders", "work_orders", "products", "inventory", "inventory_transactions",
        "shipments", "quality_tests", "customers", "suppliers"}
SPEC_ORDER_FIELDS = {"order_number", "customer_name", "order_date", "status", "total",
                     "payment_terms", "delivery_date", "delivery_address",
                     "special_instructions", "line_items", "tax", "discount"}


def test_shipped_catalog_has_the_nine_data_types() -> None:
    assert set(load_catalog().types) == NINE


def test_orders_offer_every_field_of_the_spec() -> None:
    assert set(load_catalog().types["orders"].field_names()) >= SPEC_ORDER_FIELDS


def test_every_type_has_defaults_statuses_and_flags() -> None:
    for t in load_catalog().types.values():
        assert t.default_fields() and t.statuses and t.active_column and t.archived_column


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(body)
    return path


GOOD = """
[types.things]
label = "Things"
schema = "erp"
table = "things"
org_column = "org_id"
date_column = "made_on"
fields = [{ name = "code", label = "Code", type = "text" }]
"""


def test_a_minimal_catalog_loads(tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, GOOD)).types["things"].fields[0].column == "code"


@pytest.mark.parametrize(("broken", "where"), [
    (GOOD.replace('type = "text"', 'type = "money"'), "types.things.fields.code"),
    (GOOD.replace('table = "things"', 'table = "things; drop"'), "types.things"),
    (GOOD.replace('name = "code"', 'name = "Code Name"'), "types.things.fields[0]"),
    (GOOD.replace('type = "text" }', 'type = "text", via = "nowhere" }'),
     "types.things.fields.code"),
    (GOOD.replace('label = "Things"\n', ""), "types.things"),
    ("[types]\n", ""),
])
def test_bad_entries_are_named(tmp_path: Path, broken: str, where: str) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(write(tmp_path, broken))
    assert where in err.value.message
