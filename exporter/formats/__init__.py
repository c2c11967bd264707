"""The format registry: every writer, by name. Nothing else branches on a format name."""

from __future__ import annotations

from exporter.formats.base import FormatSpec, Writer
from exporter.formats.csv import CsvWriter
from exporter.formats.json import JsonWriter
from exporter.formats.xlsx import XlsxWriter
from exporter.formats.xml import XmlWriter

WRITERS: dict[str, type[Writer]] = {
    w.SPEC.name: w for w in (CsvWriter, XlsxWriter, JsonWriter, XmlWriter)
}

__all__ = ["WRITERS", "FormatSpec", "Writer"]
