"""The export loop against real Postgres: exact round trips, sizes, orgs, cancel, errors."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from exporter import services
from exporter.errors import Cancelled, InvalidSpec
from exporter.formats import WRITERS
from exporter.run import run_export
from exporter.settings import Settings
from exporter.spec import ExportSpec
from tests import readers
from tests.formats.test_writers import HARD_TEXT, guarded, xml_clean

CATALOG = Path(__file__).parent / "data" / "roundtrip_catalog.toml"
FIELDS = ("code", "note", "amount", "qty", "day", "made_at", "ok", "parts")
# Org 1 holds 1 row of status a, 9,999 of b and 1 of c; org 2 holds the same shape.
SIZES = {0: ("none",), 1: ("a",), 10_000: ("a", "b"), 10_001: ("a", "b", "c")}

SCHEMA = """
DROP SCHEMA IF EXISTS rt CASCADE;
CREATE SCHEMA rt;
CREATE TABLE rt.items (id bigint PRIMARY KEY, org_id int NOT NULL, code text, note text,
  amount numeric(14,2), qty int, day date, made_at timestamptz, ok boolean, status text,
  active boolean NOT NULL DEFAULT true, archived boolean NOT NULL DEFAULT false);
CREATE TABLE rt.parts (id bigserial PRIMARY KEY, org_id int NOT NULL, item_id bigint,
  part_no int, label text);
"""


@pytest.fixture(scope="module")
def rt_settings(settings: Settings, database_url: str) -> Settings:
    hard = [t for t in HARD_TEXT if t is not None]
    with psycopg.connect(services.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            """INSERT INTO rt.items SELECT i, 1 + (i > 10001)::int, 'IT-' || i,
                 CASE WHEN i %% 13 = 0 THEN NULL ELSE (%(hard)s::text[])[1 + i %% %(n)s] END,
                 CASE i %% 4 WHEN 0 THEN 999999999999.99 WHEN 1 THEN -12345.67
                   WHEN 2 THEN i / 100.0 END,
                 i - 50, DATE '2026-01-01' + (i %% 300),
                 TIMESTAMPTZ '2026-01-01 00:00:00.123456+00' + i * interval '37 minutes 1.5 s',
                 CASE WHEN i %% 3 = 0 THEN NULL ELSE i %% 2 = 0 END,
                 CASE WHEN (i - 1) %% 10001 = 0 THEN 'a' WHEN (i - 1) %% 10001 = 10000 THEN 'c'
                   ELSE 'b' END
               FROM generate_series(1, 20002) i""",
            {"hard": hard, "n": len(hard)})
        conn.execute("""INSERT INTO rt.parts (org_id, item_id, part_no, label)
                        SELECT org_id, id, k, 'part ' || k || ' of ' || code
                        FROM rt.items, generate_series(1, (id % 3)::int) k""")
    return dataclasses.replace(settings, catalog=str(CATALOG))


def source_rows(database_url: str, org: int, statuses: tuple[str, ...]) -> list[tuple]:
    with psycopg.connect(services.libpq_url(database_url)) as conn:
        items = conn.execute(
            "SELECT id, code, note, amount, qty, day, made_at, ok FROM rt.items "
            "WHERE org_id = %s AND status = ANY(%s) ORDER BY id", (org, list(statuses))).fetchall()
        parts: dict[int, list[tuple]] = {}
        for item_id, no, label in conn.execute(
                "SELECT item_id, part_no, label FROM rt.parts WHERE org_id = %s "
                "ORDER BY item_id, part_no", (org,)):
            parts.setdefault(item_id, []).append((no, label))
    return [(*row[1:], parts.get(row[0], [])) for row in items]


def export(settings: Settings, tmp_path: Path, fmt: str, statuses: tuple[str, ...],
           org: int = 1) -> tuple[Path, object]:
    spec = ExportSpec("items", FIELDS, format=fmt, date_range="all", statuses=statuses)
    out = tmp_path / f"out.{WRITERS[fmt].SPEC.extension}"
    return out, run_export(spec, org, out, settings=settings)


def compare(fmt: str, data: bytes, rows: list[tuple]) -> None:
    """Value-by-value comparison of a file with the source rows, per format."""
    if fmt == "csv":
        header, got = readers.read_csv(data)
        assert header == ["Code", "Note", "Amount", "Qty", "Day", "Made At", "OK", "Parts"]
        assert len(got) == len(rows)
        for (code, note, amount, qty, day, at, ok, parts), line in zip(rows, got, strict=True):
            assert line[:4] == [code, "" if note is None else guarded(note),
                                "" if amount is None else str(amount), str(qty)]
            assert line[4] == day.isoformat() and datetime.fromisoformat(line[5]) == at
            assert line[6] == ("" if ok is None else str(ok).lower())
            assert line[7] == "; ".join(f"{n}: {label}" for n, label in parts)
    elif fmt == "json":
        got = readers.read_json(data)
        assert len(got) == len(rows)
        for (code, note, amount, qty, day, at, ok, parts), obj in zip(rows, got, strict=True):
            assert (obj["code"], obj["note"], obj["amount"], obj["qty"]) == (code, note, amount, qty)
            assert obj["day"] == day.isoformat() and datetime.fromisoformat(obj["made_at"]) == at
            assert obj["ok"] == ok
            assert obj["parts"] == [{"part_no": n, "label": label} for n, label in parts]
    elif fmt == "xml":
        _, got = readers.read_xml(data, lists=("parts",))
        assert len(got) == len(rows)
        for (code, note, amount, qty, day, at, ok, parts), obj in zip(rows, got, strict=True):
            assert obj["code"] == code and obj.get("note") == (None if note is None else xml_clean(note))
            assert obj.get("amount") == (None if amount is None else str(amount))
            assert obj["qty"] == str(qty) and obj["day"] == day.isoformat()
            assert datetime.fromisoformat(obj["made_at"]) == at
            assert obj.get("ok") == (None if ok is None else str(ok).lower())
            assert obj["parts"] == [{"part_no": str(n), "label": label} for n, label in parts]
    else:
        header, got = readers.read_xlsx(data)
        assert header[5] == "Made At (UTC)" and len(got) == len(rows)
        for (code, note, amount, qty, day, at, ok, parts), line in zip(rows, got, strict=True):
            assert line[0] == code and line[1] == (None if note is None else xml_clean(note))
            assert line[2] == (None if amount is None else float(amount)) and line[3] == qty
            assert line[4] == datetime.combine(day, datetime.min.time())
            assert abs((line[5] - at.replace(tzinfo=None)).total_seconds()) < 0.001
            assert line[6] == ok
            assert (line[7] or "") == "; ".join(f"{n}: {label}" for n, label in parts)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("size", sorted(SIZES))
def test_export_round_trips_every_value(rt_settings: Settings, database_url: str,
                                        tmp_path: Path, fmt: str, size: int) -> None:
    out, result = export(rt_settings, tmp_path, fmt, SIZES[size])
    rows = source_rows(database_url, 1, SIZES[size])
    assert len(rows) == size
    assert result.rows == size and result.total_rows == size  # type: ignore[attr-defined]
    data = out.read_bytes()
    assert result.bytes == len(data)  # type: ignore[attr-defined]
    compare(fmt, data, rows)


def test_another_orgs_rows_never_appear(rt_settings: Settings, tmp_path: Path) -> None:
    out, result = export(rt_settings, tmp_path, "csv", SIZES[10_001], org=2)
    _, rows = readers.read_csv(out.read_bytes())
    ids = [int(r[0].removeprefix("IT-")) for r in rows]
    assert len(ids) == 10_001 and min(ids) > 10_001
    parts = " ".join(r[7] for r in rows)
    assert "of IT-1 " not in parts and all(int(p.split("IT-")[1]) > 10_001
                                           for r in rows for p in r[7].split("; ") if p)


def test_result_records_sha256_of_the_file(rt_settings: Settings, tmp_path: Path) -> None:
    import hashlib

    out, result = export(rt_settings, tmp_path, "xlsx", SIZES[10_001])
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()  # type: ignore[attr-defined]


def test_cancel_mid_run_leaves_no_file(rt_settings: Settings, tmp_path: Path) -> None:
    seen = threading.Event()
    settings = dataclasses.replace(rt_settings, chunk_rows=1000, progress_seconds=0.0)
    spec = ExportSpec("items", FIELDS, format="xml", date_range="all")
    out = tmp_path / "cancelled.xml"

    def progress(done: int, total: int) -> None:
        if done:
            seen.set()

    with pytest.raises(Cancelled):
        run_export(spec, 1, out, on_progress=progress, should_cancel=seen.is_set, settings=settings)
    assert seen.is_set()
    assert list(tmp_path.iterdir()) == []


def test_invalid_spec_is_refused_before_any_file(rt_settings: Settings, tmp_path: Path) -> None:
    spec = ExportSpec("items", ("code",), format="pdf", date_range="all")
    with pytest.raises(InvalidSpec) as err:
        run_export(spec, 1, tmp_path / "x.pdf", settings=rt_settings)
    assert err.value.code == "UNKNOWN_FORMAT"
    assert list(tmp_path.iterdir()) == []


def test_date_range_filters_in_the_configured_zone(rt_settings: Settings, database_url: str,
                                                   tmp_path: Path) -> None:
    spec = ExportSpec("items", ("code", "made_at"), date_range="custom",
                      date_from=date(2026, 1, 2), date_to=date(2026, 1, 2), format="json")
    out = tmp_path / "day.json"
    run_export(spec, 1, out, settings=rt_settings)
    got = readers.read_json(out.read_bytes())
    assert got and all(o["made_at"].startswith("2026-01-02T") for o in got)
    with psycopg.connect(services.libpq_url(database_url)) as conn:
        n = conn.execute("SELECT count(*) FROM rt.items WHERE org_id = 1 AND made_at >= "
                         "'2026-01-02 00:00+00' AND made_at < '2026-01-03 00:00+00'").fetchone()
    assert n is not None and len(got) == n[0]
    assert Decimal("0") is not None


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_id_windows_lose_and_repeat_nothing(rt_settings: Settings, tmp_path: Path, fmt: str) -> None:
    (tmp_path / "a").mkdir()
    whole, _ = export(rt_settings, tmp_path / "a", fmt, SIZES[10_001])
    small = dataclasses.replace(rt_settings, window_rows=997, chunk_rows=333)
    (tmp_path / "b").mkdir()
    windowed, result = export(small, tmp_path / "b", fmt, SIZES[10_001])
    assert result.rows == 10_001  # type: ignore[attr-defined]
    assert windowed.read_bytes() == whole.read_bytes()


def test_first_exports_in_parallel_share_the_extension_safely(settings: Settings,
                                                               tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from exporter import source

    fresh = dataclasses.replace(settings, home=tmp_path / "home")
    with ThreadPoolExecutor(6) as pool:
        cons = list(pool.map(lambda _: source.connect(fresh), range(6)))
    assert all(c.execute("SELECT 1").fetchone() == (1,) for c in cons)
    folder = next((fresh.home / "duckdb_extensions").rglob("postgres_scanner.duckdb_extension")).parent
    assert [p.name for p in folder.iterdir()] == ["postgres_scanner.duckdb_extension"]
