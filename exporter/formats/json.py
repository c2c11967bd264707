"""JSON: one array of objects keyed by field name, line items nested as arrays.

Dates are "YYYY-MM-DD", timestamps ISO 8601 with offset. Decimals are written by
DuckDB from the DECIMAL's own digits (never through a float), so 999999999999.99 stays
exactly that; trailing zeros may be dropped (1.50 -> 1.5), the value is the same.
NULL is null. One object per line, so the file also greps and diffs well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.formats.base import MB, FormatSpec, Writer, line_bytes
from exporter.formats.sqltext import col, iso_timestamp
from exporter.query import quote

if TYPE_CHECKING:  # pyarrow loads only where rows are written
    import pyarrow as pa


def _member(expr: str, ftype: str) -> str:
    return iso_timestamp(expr) if ftype == "timestamp" else expr


class JsonWriter(Writer):
    SPEC = FormatSpec("json", "JSON (Structured data)", "json", "application/json",
                      max_bytes=100 * MB, max_rows=200_000)

    def row_sql(self) -> str:
        members = []
        for c in self.columns:
            if c.child is not None:
                inner = ", ".join(f"{quote(f.name)} := {_member('x.' + quote(f.name), f.type)}"
                                  for f in c.child.fields)
                value = f"list_transform({col(c.name)}, lambda x: struct_pack({inner}))"
            else:
                value = _member(col(c.name), c.type)
            members.append(f"{quote(c.name)} := {value}")
        # Each row carries the separator before it; the very first one is skipped.
        return f"',' || chr(10) || to_json(struct_pack({', '.join(members)}))"

    def write_header(self) -> None:
        assert self.file is not None
        self.file.write(b"[")

    def write_batch(self, batch: pa.RecordBatch) -> None:
        assert self.file is not None
        data = line_bytes(batch)
        if self.rows == 0 and len(data):
            data = data[1:]
        self.file.write(data)
        self.rows += batch.num_rows

    def close(self) -> None:
        assert self.file is not None
        self.file.write(b"\n]\n")
