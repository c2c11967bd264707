"""XLSX: a workbook streamed straight into its zip, one sheet, typed cells.

Numbers are numbers, dates are Excel dates, timestamps are Excel date-times in the
configured time zone (stated in the header, e.g. "Created At (UTC)"), text is inline
text with characters XML cannot hold dropped. The sheet's rows are rendered by DuckDB
like every other format, so memory stays flat whatever the row count. A result with
more rows than a sheet holds (1,048,576 with the header) is refused, never cut.
"""

from __future__ import annotations

import zipfile
from typing import IO, TYPE_CHECKING, Any

from exporter.errors import LimitExceeded
from exporter.formats.base import MB, FormatSpec, Writer, line_bytes
from exporter.formats.sqltext import child_text, col, literal, xml_escape

if TYPE_CHECKING:  # pyarrow loads only where rows are written
    import pyarrow as pa

SHEET_ROWS = 1_048_576
STATIC_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"),
    # Style 0: general; 1: date; 2: date-time; 3: bold header.
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"),
}
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
    'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>\n')
SHEET_TAIL = "</sheetData></worksheet>"


def _text_cell(expr: str) -> str:
    return ("coalesce('<c t=\"inlineStr\"><is><t xml:space=\"preserve\">' || "
            f"{xml_escape(expr)} || '</t></is></c>', '<c/>')")


def _value_cell(value_expr: str, style: int = 0, cell_type: str = "") -> str:
    attrs = (f' s="{style}"' if style else "") + (f' t="{cell_type}"' if cell_type else "")
    return f"coalesce({literal(f'<c{attrs}><v>')} || {value_expr} || '</v></c>', '<c/>')"


def _cell(expr: str, ftype: str) -> str:
    if ftype in ("integer", "decimal"):
        return _value_cell(f"CAST({expr} AS VARCHAR)")
    if ftype == "date":
        return _value_cell(f"CAST(date_diff('day', DATE '1899-12-30', {expr}) AS VARCHAR)", 1)
    if ftype == "timestamp":
        # Wall-clock time in the session time zone, as days since 1899-12-30.
        serial = f"epoch_us(CAST({expr} AS TIMESTAMP)) / 86400000000.0 + 25569"
        return _value_cell(f"CAST({serial} AS VARCHAR)", 2)
    if ftype == "boolean":
        return _value_cell(f"CASE WHEN {expr} THEN '1' WHEN NOT {expr} THEN '0' END", cell_type="b")
    return _text_cell(f"CAST({expr} AS VARCHAR)")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class XlsxWriter(Writer):
    SPEC = FormatSpec("xlsx", "XLSX (Excel)", "xlsx",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      max_bytes=50 * MB, max_rows=1_000_000, hard_max_rows=SHEET_ROWS - 1,
                      window_share=0.5)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zip: zipfile.ZipFile | None = None
        self.sheet: IO[bytes] | None = None

    def row_sql(self) -> str:
        cells = []
        for c in self.columns:
            if c.child is not None:
                types = {f.name: f.type for f in c.child.fields}
                cells.append(_text_cell(child_text(col(c.name), c.child.text, types)))
            else:
                cells.append(_cell(col(c.name), c.type))
        return f"'<row>' || {' || '.join(cells)} || '</row>' || chr(10)"

    def header_labels(self) -> list[str]:
        return [f"{c.label} ({self.timezone})" if c.type == "timestamp" else c.label
                for c in self.columns]

    def write_header(self) -> None:
        assert self.file is not None
        self.zip = zipfile.ZipFile(self.file, "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=1)
        for name, text in STATIC_PARTS.items():
            self.zip.writestr(name, text)
        self.sheet = self.zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        header = "".join(f'<c t="inlineStr" s="3"><is><t>{_escape(label)}</t></is></c>'
                         for label in self.header_labels())
        self.sheet.write((SHEET_HEAD + f"<row>{header}</row>\n").encode())

    def write_batch(self, batch: pa.RecordBatch) -> None:
        assert self.sheet is not None
        limit = self.SPEC.hard_max_rows or SHEET_ROWS
        if self.rows + batch.num_rows > limit:
            raise LimitExceeded("XLSX_TOO_MANY_ROWS",
                                f"An Excel sheet holds {limit:,} data rows; this export has more. "
                                "Narrow the filters or choose CSV.", "format")
        self.sheet.write(line_bytes(batch))
        self.rows += batch.num_rows

    def abort(self) -> None:
        # zipfile refuses to close around an open entry; the file is thrown away anyway.
        if self.zip is not None:
            self.zip._writing = False  # type: ignore[attr-defined]
            self.zip.fp = None
        self.zip = self.sheet = None

    def close(self) -> None:
        assert self.sheet is not None and self.zip is not None
        self.sheet.write(SHEET_TAIL.encode())
        self.sheet.close()
        self.zip.close()
