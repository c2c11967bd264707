"""DuckDB expressions that render values as text, shared by the writers."""

from __future__ import annotations

from exporter.query import quote

# Characters XML 1.0 cannot hold in any form; they are dropped from XML and XLSX text.
XML_INVALID = r"[\x{01}-\x{08}\x{0B}\x{0C}\x{0E}-\x{1F}\x{FFFE}\x{FFFF}]"


def literal(text: str) -> str:
    """A SQL string literal (for text the code or the catalog wrote, never user values)."""
    return "'" + text.replace("'", "''") + "'"


def col(name: str, relation: str = "r") -> str:
    return f"{relation}.{quote(name)}"


def iso_timestamp(expr: str) -> str:
    """ISO 8601 with offset, in the session's time zone (set from settings)."""
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%S.%f%z')"


def xml_escape(expr: str) -> str:
    """Text safe inside an XML element: invalid characters dropped, markup escaped,
    CR kept as a character reference so parsers do not turn it into LF."""
    cleaned = f"regexp_replace({expr}, '{XML_INVALID}', '', 'g')"
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        cleaned = f"replace({cleaned}, {literal(char)}, {literal(entity)})"
    return cleaned


def as_text(expr: str, ftype: str) -> str:
    """A typed value as plain text (NULL stays NULL)."""
    if ftype == "timestamp":
        return iso_timestamp(expr)
    return f"CAST({expr} AS VARCHAR)"


def child_text(expr: str, template: str, fields: dict[str, str]) -> str:
    """A list of child structs as readable text: each item from the catalog's template,
    items separated by '; '. fields maps field name to type."""
    import re

    parts: list[str] = []
    pos = 0
    for m in re.finditer(r"\{([a-z_][a-z0-9_]*)\}", template):
        if m.start() > pos:
            parts.append(literal(template[pos:m.start()]))
        name = m.group(1)
        parts.append(f"coalesce({as_text('x.' + quote(name), fields[name])}, '')")
        pos = m.end()
    if pos < len(template):
        parts.append(literal(template[pos:]))
    item = " || ".join(parts) or "''"
    return f"array_to_string(list_transform({expr}, lambda x: {item}), '; ')"
