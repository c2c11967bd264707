"""The XLSX we write opens in LibreOffice too, hard text included, with typed cells."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.run import run_export
from exporter.settings import Settings
from exporter.spec import ExportSpec
from tests.formats.test_writers import xml_clean
from tests.test_run import FIELDS, SIZES, source_rows

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None and os.environ.get("CI") != "true",
                    reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_every_row_and_value(rt_settings: Settings, database_url: str,
                                               tmp_path: Path) -> None:
    assert SOFFICE, "CI installs libreoffice-calc-nogui; soffice was not found"
    spec = ExportSpec("items", FIELDS, format="xlsx", date_range="all", statuses=SIZES[10_001])
    book = tmp_path / "items.xlsx"
    run_export(spec, 1, book, settings=rt_settings)
    profile = tmp_path / "profile"
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false",
         "--outdir", str(tmp_path), str(book)],
        capture_output=True, text=True, timeout=240)
    out = tmp_path / "items.csv"
    assert out.exists(), done.stderr + done.stdout
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    source = source_rows(database_url, 1, SIZES[10_001])
    assert rows[0][:3] == ["Code", "Note", "Amount"]
    assert len(rows) - 1 == len(source) == 10_001
    for line, (code, note, amount, qty, *_rest) in zip(rows[1:], source, strict=True):
        assert line[0] == code
        # Calc keeps line breaks as LF inside a cell, as Excel does.
        want = "" if note is None else xml_clean(note).replace("\r\n", "\n").replace("\r", "\n")
        assert line[1] == want
        assert line[3] == str(qty)
        if amount is not None:
            assert float(line[2]) == float(amount)  # a number cell, not text
