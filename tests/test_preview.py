"""Preview and estimate against what an export really writes, on the round-trip data."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from exporter.formats import WRITERS
from exporter.preview import estimate, preview
from exporter.run import run_export
from exporter.settings import Settings
from exporter.spec import ExportSpec

ORG = 2
SPEC = ExportSpec("items", ("code", "note", "amount", "qty", "day", "made_at", "parts"),
                  date_range="all")
# How far an estimated size may be from the file's: sizes come from the first 200 rows
# (XLSX also from a fixed compression ratio measured on other data).
TOLERANCE = {"csv": 0.1, "json": 0.1, "xml": 0.1, "xlsx": 0.5}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_the_estimate_counts_the_rows_and_sizes_the_file_it_will_write(
        rt_settings: Settings, tmp_path: Path, fmt: str) -> None:
    guess = estimate(SPEC, ORG, rt_settings)
    done = run_export(dataclasses.replace(SPEC, format=fmt), ORG, tmp_path / f"out.{fmt}",
                      settings=rt_settings)
    assert guess.exact and guess.rows == done.rows == 10_001
    assert abs(guess.bytes[fmt] - done.bytes) <= TOLERANCE[fmt] * done.bytes, \
        (guess.bytes[fmt], done.bytes)
    assert guess.seconds[fmt] > 0 and guess.warnings[fmt] == []


def test_nothing_to_export_is_estimated_as_nothing(rt_settings: Settings) -> None:
    empty = dataclasses.replace(SPEC, date_range="custom", date_from=date(2001, 1, 1),
                                date_to=date(2001, 1, 2))
    guess = estimate(empty, ORG, rt_settings)
    assert guess.rows == 0 and set(guess.bytes.values()) == {0}
    assert preview(empty, ORG, rt_settings).rows == []


def test_the_preview_shows_the_first_rows_of_the_export(rt_settings: Settings) -> None:
    shown = preview(dataclasses.replace(SPEC, fields=("code", "qty")), ORG, rt_settings, limit=5)
    assert shown.names == ["code", "qty"]
    assert shown.rows == [(f"IT-{i}", i - 50) for i in range(10_002, 10_007)]
