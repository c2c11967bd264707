"""Every writer, fed by DuckDB from an in-memory table of hard values, read back."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from exporter.catalog import Child, Field
from exporter.errors import LimitExceeded
from exporter.formats import WRITERS, Writer
from exporter.formats.xlsx import XlsxWriter
from exporter.query import Column
from tests import readers

HARD_TEXT = [
    'He said "hi", then; left',
    "two\nlines\r\nand CR\r.",
    "tab\there",
    "Müller Łódź 東京 Ελληνικά 📦🚚",
    '=HYPERLINK("http://x","y")',
    "+1 555 0100",
    "-5% off",
    "@SUM(A1)",
    "a < b & c > d ]]>",
    "bell\x07 and \x01 control",
    "  padded  ",
    "",
    None,
]
CHILD = Child(
    name="line_items", label="Items", category="Order", table="order_lines",
    parent_key="order_id", order_by="line_no", text="{quantity} x {name} @ {price}",
    xml_item="item", default=True,
    fields=(Field("line_no", "Line", "Item", "integer", "line_no"),
            Field("name", "Name", "Item", "text", "name"),
            Field("quantity", "Qty", "Item", "decimal", "quantity"),
            Field("price", "Price", "Item", "decimal", "price")),
)
COLUMNS = [
    Column("note", "Note", "text"),
    Column("amount", "Amount", "decimal"),
    Column("qty", "Qty", "integer"),
    Column("day", "Day", "date"),
    Column("at", "At", "timestamp"),
    Column("ok", "OK", "boolean"),
    Column("line_items", "Items", "list", CHILD),
]
AMOUNTS = [Decimal("999999999999.99"), Decimal("-12345.67"), Decimal("0.10"), None]


def source_rows(n: int) -> list[tuple]:
    rows = []
    for i in range(n):
        items = [{"line_no": k + 1, "name": HARD_TEXT[(i + k) % len(HARD_TEXT)] or "x",
                  "quantity": Decimal("1.500") * (k + 1), "price": Decimal("2.25")}
                 for k in range(i % 3)]
        rows.append((
            HARD_TEXT[i % len(HARD_TEXT)],
            AMOUNTS[i % len(AMOUNTS)],
            None if i % 7 == 3 else i - 5,
            None if i % 5 == 4 else date(2026, 1, 1 + i % 28),
            None if i % 6 == 5 else datetime(2026, 3, 1, 12, i % 60, 7, 123456, tzinfo=UTC),
            None if i % 4 == 3 else bool(i % 2),
            items,
        ))
    return rows


def render(writer: Writer, rows: list[tuple], chunk: int = 4) -> bytes:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE r (note VARCHAR, amount DECIMAL(14,2), qty INTEGER, day DATE, "
                "\"at\" TIMESTAMPTZ, ok BOOLEAN, line_items STRUCT(line_no INTEGER, name VARCHAR, "
                "quantity DECIMAL(12,3), price DECIMAL(14,2))[])")
    if rows:
        con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    out = io.BytesIO()
    writer.open(out)
    base = "SELECT *, row_number() OVER () AS _row_id FROM r"
    reader = con.sql(writer.select_sql(base)).to_arrow_reader(chunk)
    for batch in reader:
        writer.write_batch(batch)
    writer.close()
    return out.getvalue()


def xml_clean(text: str) -> str:
    return re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f]", "", text)


def guarded(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def child_text(items: list[dict]) -> str:
    return "; ".join(f"{it['quantity']} x {it['name']} @ {it['price']}" for it in items)


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("n", [0, 1, 13, 30])
def test_every_writer_round_trips_hard_values(name: str, n: int) -> None:
    rows = source_rows(n)
    data = render(WRITERS[name](COLUMNS, {}, "UTC", "order"), rows)
    CHECKS[name](data, rows)


def check_csv(data: bytes, rows: list[tuple]) -> None:
    header, got = readers.read_csv(data)
    assert header == [c.label for c in COLUMNS]
    assert len(got) == len(rows)
    for (note, amount, qty, day, at, ok, items), line in zip(rows, got, strict=True):
        assert line[0] == ("" if note is None else guarded(note))
        assert line[1] == ("" if amount is None else str(amount))
        assert line[2] == ("" if qty is None else str(qty))
        assert line[3] == ("" if day is None else day.isoformat())
        assert (datetime.fromisoformat(line[4]) if line[4] else None) == at
        assert line[5] == ("" if ok is None else str(ok).lower())
        assert line[6] == guarded(child_text(items))


def check_json(data: bytes, rows: list[tuple]) -> None:
    got = readers.read_json(data)
    assert len(got) == len(rows)
    for (note, amount, qty, day, at, ok, items), obj in zip(rows, got, strict=True):
        assert list(obj) == [c.name for c in COLUMNS]
        assert obj["note"] == note
        assert obj["amount"] == amount  # parsed as Decimal: no float rounding
        assert obj["qty"] == qty
        assert obj["day"] == (day.isoformat() if day else None)
        assert (datetime.fromisoformat(obj["at"]) if obj["at"] else None) == at
        assert obj["ok"] == ok
        assert [{**it, "quantity": it["quantity"], "price": it["price"]} for it in obj["line_items"]] == items


def check_xml(data: bytes, rows: list[tuple]) -> None:
    root, got = readers.read_xml(data)
    assert root.tag == "export" and len(got) == len(rows)
    assert all(record.tag == "order" for record in root)
    for (note, amount, qty, day, at, ok, items), obj in zip(rows, got, strict=True):
        assert obj.get("note") == (None if note is None else xml_clean(note))
        assert obj.get("amount") == (None if amount is None else str(amount))
        assert obj.get("qty") == (None if qty is None else str(qty))
        assert obj.get("day") == (day.isoformat() if day else None)
        assert (datetime.fromisoformat(obj["at"]) if "at" in obj else None) == at
        assert obj.get("ok") == (None if ok is None else str(ok).lower())
        assert obj.get("line_items", []) == [
            {"line_no": str(it["line_no"]), "name": xml_clean(it["name"]),
             "quantity": str(it["quantity"]), "price": str(it["price"])} for it in items]


def check_xlsx(data: bytes, rows: list[tuple]) -> None:
    header, got = readers.read_xlsx(data)
    assert header == ["Note", "Amount", "Qty", "Day", "At (UTC)", "OK", "Items"]
    assert len(got) == len(rows)
    for (note, amount, qty, day, at, ok, items), line in zip(rows, got, strict=True):
        assert line[0] == (None if note is None else xml_clean(note))
        assert line[1] == (None if amount is None else float(amount))
        assert line[2] == qty
        assert line[3] == (None if day is None else datetime.combine(day, datetime.min.time()))
        if at is None:
            assert line[4] is None
        else:
            assert abs((line[4] - at.replace(tzinfo=None)).total_seconds()) < 0.001
        assert line[5] == ok
        want = xml_clean(child_text(items))
        assert (line[6] or "") == want


CHECKS = {"csv": check_csv, "json": check_json, "xml": check_xml, "xlsx": check_xlsx}


def test_every_registered_format_has_a_round_trip_check() -> None:
    assert set(CHECKS) == set(WRITERS)


def test_csv_options_delimiter_bom_names_and_no_guard() -> None:
    rows = source_rows(13)
    options = {"delimiter": ";", "bom": True, "header": "names", "formula_guard": False}
    data = render(WRITERS["csv"](COLUMNS, options), rows)
    assert data.startswith(b"\xef\xbb\xbf")
    header, got = readers.read_csv(data, delimiter=";")
    assert header == [c.name for c in COLUMNS]
    assert got[4][0] == '=HYPERLINK("http://x","y")'
    assert got[0][0] == 'He said "hi", then; left'


def test_csv_guard_leaves_negative_numbers_alone() -> None:
    data = render(WRITERS["csv"](COLUMNS, {}), source_rows(2))
    _, got = readers.read_csv(data)
    assert got[0][2] == "-5"


def test_csv_rows_end_with_crlf() -> None:
    data = render(WRITERS["csv"]([Column("qty", "Qty", "integer")], {}), [])
    assert data == b"Qty\r\n"


def test_xlsx_refuses_rows_past_the_sheet_limit() -> None:
    class Tiny(XlsxWriter):
        SPEC = XlsxWriter.SPEC.__class__(**{**XlsxWriter.SPEC.__dict__, "hard_max_rows": 5})

    writer = Tiny(COLUMNS, {})
    with pytest.raises(LimitExceeded) as err:
        render(writer, source_rows(8), chunk=3)
    writer.abort()
    assert err.value.code == "XLSX_TOO_MANY_ROWS"


@pytest.mark.parametrize("bad", [{"delimiter": "ab"}, {"header": "x"}, {"colour": "red"}])
def test_csv_rejects_bad_options(bad: dict) -> None:
    errors = WRITERS["csv"].option_errors(bad)
    assert errors and errors[0].field.startswith("options")
