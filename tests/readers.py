"""Read every format back into rows of Python values, for round-trip comparisons."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import openpyxl

EXCEL_EPOCH = datetime(1899, 12, 30)


def read_csv(data: bytes, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows[0], rows[1:]


def read_json(data: bytes) -> list[dict[str, Any]]:
    return json.loads(data.decode("utf-8"), parse_float=Decimal)


def read_xml(data: bytes, lists: tuple[str, ...] = ("line_items",)
             ) -> tuple[ET.Element, list[dict[str, Any]]]:
    root = ET.fromstring(data)
    rows = []
    for record in root:
        row: dict[str, Any] = {}
        for element in record:
            if element.tag in lists:
                row[element.tag] = [{f.tag: f.text or "" for f in item} for item in element]
            else:
                row[element.tag] = element.text or ""
        rows.append(row)
    return root, rows


def read_xlsx(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return rows[0], rows[1:]


def excel_serial(value: date | datetime) -> float:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=None) - EXCEL_EPOCH) / timedelta(days=1)
    return float((value - EXCEL_EPOCH.date()).days)
