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

DELIMITERS = (",", ";", "\t", "|")


class CsvWriter(Writer):
    SPEC = FormatSpec("csv", "CSV (Comma-separated)", "csv", "text/csv; charset=utf-8",
                      max_bytes=100 * MB, max_rows=500_000,
                      options=("delimiter", "bom", "header", "formula_guard"))

    @classmethod
    def option_errors(cls, options: dict[str, Any]) -> list[InvalidSpec]:
        errors = super().option_errors(options)
        if options.get("delimiter", ",") not in DELIMITERS:
            msg = f"CSV delimiter must be one of {[d for d in DELIMITERS]}"
            errors.append(InvalidSpec("INVALID_OPTION", msg, "options.delimiter"))
        if options.get("header", "labels") not in ("labels", "names"):
            msg = "CSV header must be 'labels' or 'names'"
            errors.append(InvalidSpec("INVALID_OPTION", msg, "options.header"))
        return errors

    @property
    def delimiter(self) -> str:
        return str(self.options.get("delimiter", ","))

    def _cell(self, text: str, guard: bool) -> str:
        """A quoted-if-needed CSV field from a VARCHAR expression."""
        if guard and self.options.get("formula_guard", True):
            text = (f"CASE WHEN regexp_matches({text}, '^[=+\\-@\\t\\r]') "
                    f"THEN '''' || {text} ELSE {text} END")
        special = {self.delimiter, '"', "\r", "\n"}
        needs_quotes = " OR ".join(f"contains({text}, {literal(c)})" for c in sorted(special))
        quoted = "'\"' || replace(" + text + ", '\"', '\"\"') || '\"'"
        return f"coalesce(CASE WHEN {text} = '' OR {needs_quotes} THEN {quoted} ELSE {text} END, '')"

    def row_sql(self) -> str:
        cells = []
        for c in self.columns:
            if c.child is not None:
                types = {f.name: f.type for f in c.child.fields}
                cells.append(self._cell(child_text(col(c.name), c.child.text, types), guard=True))
            else:
                cells.append(self._cell(as_text(col(c.name), c.type), guard=c.type == "text"))
        return f"concat_ws({literal(self.delimiter)}, {', '.join(cells)}) || chr(13) || chr(10)"

    def write_header(self) -> None:
        assert self.file is not None
        if self.options.get("bom", False):
            self.file.write("\ufeff".encode())
        names = [c.name if self.options.get("header") == "names" else c.label for c in self.columns]
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n").writerow(names)
        self.file.write(out.getvalue().encode())
