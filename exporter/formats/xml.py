"""XML: well-formed UTF-8, one element per record named by the catalog (e.g. <order>),
one child element per field named by its field name, line items nested as
<line_items><item>...</item></line_items>.

A NULL value leaves its element out; an empty string is an empty element. Characters
that XML 1.0 cannot hold at all (control characters other than tab, LF and CR) are
dropped; CR is kept as &#13;. Timestamps are ISO 8601 with offset.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from exporter.formats.base import MB, FormatSpec, Writer
from exporter.formats.sqltext import as_text, col, literal, xml_escape
from exporter.query import quote


def _element(name: str, text_expr: str) -> str:
    """<name>text</name>, or '' when the value is NULL."""
    open_tag, close_tag = literal(f"<{name}>"), literal(f"</{name}>")
    return f"coalesce({open_tag} || {xml_escape(text_expr)} || {close_tag}, '')"


class XmlWriter(Writer):
    SPEC = FormatSpec("xml", "XML (Enterprise systems)", "xml", "application/xml",
                      max_bytes=50 * MB, max_rows=100_000)

    def row_sql(self) -> str:
        parts = []
        for c in self.columns:
            if c.child is not None:
                item = c.child.xml_item
                inner = " || ".join(_element(f.name, as_text("x." + quote(f.name), f.type))
                                    for f in c.child.fields)
                items = (f"array_to_string(list_transform({col(c.name)}, lambda x: "
                         f"{literal('<' + item + '>')} || {inner} || {literal('</' + item + '>')}), '')")
                parts.append(f"{literal('<' + c.name + '>')} || {items} || {literal('</' + c.name + '>')}")
            else:
                parts.append(_element(c.name, as_text(col(c.name), c.type)))
        row = self.row_name
        open_tag, close_tag = literal(f"  <{row}>"), literal(f"</{row}>")
        return f"{open_tag} || {' || '.join(parts)} || {close_tag} || chr(10)"

    def write_header(self) -> None:
        assert self.file is not None
        self.file.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        self.file.write(f"<export record={quoteattr(self.row_name)}>\n".encode())

    def close(self) -> None:
        assert self.file is not None
        self.file.write(b"</export>\n")
