"""CSV: RFC 4180 (CRLF, fields quoted when they hold the delimiter, a quote, CR or LF).

Options: delimiter (default ","), bom (UTF-8 byte order mark so Excel reads UTF-8),
header ("labels" or "names"), formula_guard (default on): a text cell that starts
with =, +, -, @, tab or CR gets a leading apostrophe, so spreadsheets show it as text
instead of running it as a formula (OWASP "CSV injection"). Numbers, dates and
timestamps are never prefixed, so -5 stays a number. NULL is an empty field; an empty
string is "".
"""

from __future__ import annotations

import csv
import io
from typing import Any

from exporter.errors import InvalidSpec
from exporter.formats.base import MB, FormatSpec, Writer
from exporter.formats.sqltext import as_text, child_text, col, literal
from exporter.query import Column, quote

DELIMITERS = (",", ";", "\t", "|")
NUMERIC = ("integer", "decimal", "date", "timestamp", "boolean")
FORMULA_STARTS = "(61, 43, 45, 64, 9, 13)"  # code points of = + - @ tab CR
APOSTROPHE = "''''"  # the SQL literal holding one apostrophe


class CsvWriter(Writer):
    SPEC = FormatSpec("csv", "CSV (Comma-separated)", "csv", "text/csv; charset=utf-8",
                      max_bytes=100 * MB, max_rows=500_000,
                      options=("delimiter", "bom", "header", "formula_guard"))

    @classmethod
    def option_errors(cls, options: dict[str, Any]) -> list[InvalidSpec]:
        errors = super().option_errors(options)
        if options.get("delimiter", ",") not in DELIMITERS:
            msg = f"CSV delimiter must be one of {list(DELIMITERS)}"
            errors.append(InvalidSpec("INVALID_OPTION", msg, "options.delimiter"))
        if options.get("header", "labels") not in ("labels", "names"):
            msg = "CSV header must be 'labels' or 'names'"
            errors.append(InvalidSpec("INVALID_OPTION", msg, "options.header"))
        return errors

    @property
    def delimiter(self) -> str:
        return str(self.options.get("delimiter", ","))

    def _text(self, column: Column) -> str:
        """A column as the text of its cell, formula-guarded where it is text."""
        if column.child is not None:
            types = {f.name: f.type for f in column.child.fields}
            text, guard = child_text(col(column.name), column.child.text, types), True
        else:
            text, guard = as_text(col(column.name), column.type), column.type == "text"
        if guard and self.options.get("formula_guard", True):
            text = (f"CASE WHEN ascii({text}) IN {FORMULA_STARTS} "
                    f"THEN {APOSTROPHE} || {text} ELSE {text} END")
        return text

    @staticmethod
    def _plain(column: Column) -> bool:
        """Numbers, dates, timestamps and booleans: never a delimiter, quote or line break."""
        return column.child is None and column.type in NUMERIC

    def stage_sql(self) -> list[str]:
        # Each text cell is computed once here; row_sql only quotes and joins.
        return [f"{self._text(c)} AS {quote(f'_cell_{i}')}" for i, c in enumerate(self.columns)
                if not self._plain(c)]

    def row_sql(self) -> str:
        special = sorted({self.delimiter, '"', "\r", "\n"})
        cells = []
        for i, column in enumerate(self.columns):
            if self._plain(column):
                cells.append(f"coalesce({self._text(column)}, '')")
                continue
            v = col(f"_cell_{i}")
            needs_quotes = " OR ".join(f"contains({v}, {literal(c)})" for c in special)
            quoted = f"'\"' || replace({v}, '\"', '\"\"') || '\"'"
            cells.append(f"CASE WHEN {v} = '' OR {needs_quotes} THEN {quoted} "
                         f"ELSE coalesce({v}, '') END")
        return f"concat_ws({literal(self.delimiter)}, {', '.join(cells)}) || chr(13) || chr(10)"

    def write_header(self) -> None:
        assert self.file is not None
        if self.options.get("bom", False):
            self.file.write("\ufeff".encode())
        names = [c.name if self.options.get("header") == "names" else c.label for c in self.columns]
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n").writerow(names)
        self.file.write(out.getvalue().encode())
