"""What every format writer is: a spec (name, extension, limits) and a small class.

A writer turns each row into its own text inside DuckDB (vectorised, parallel), as one
column named "line"; write_batch() then copies those bytes to the open file as they are.
Writers never see a path, a connection or a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from exporter.errors import InvalidSpec
from exporter.query import ROW_ID, Column, ordered

if TYPE_CHECKING:  # pyarrow loads only where rows are written
    import pyarrow as pa

MB = 1024 * 1024


@dataclass(frozen=True)
class FormatSpec:
    name: str
    label: str
    extension: str
    media_type: str
    max_bytes: int  # the spec's advisory size limit: warn above it
    max_rows: int  # the spec's advisory row limit: warn above it
    hard_max_rows: int | None = None  # rows the format cannot hold: refuse above it
    options: tuple[str, ...] = ()
    window_share: float = 1.0  # of EXPORTER_WINDOW_ROWS: wide rows sort in smaller windows


def line_bytes(batch: pa.RecordBatch) -> memoryview:
    """The bytes of a batch's single "line" column, back to back, without copying."""
    array = batch.column(0)
    if array.null_count:
        raise ValueError("a row rendered as NULL; every row must render to text")
    if len(array) == 0:
        return memoryview(b"")
    import pyarrow as pa

    width = 8 if pa.types.is_large_string(array.type) else 4
    _, offsets, data = array.buffers()
    view = memoryview(offsets).cast("B")
    first = int.from_bytes(view[array.offset * width:(array.offset + 1) * width], "little")
    last_at = (array.offset + len(array)) * width
    last = int.from_bytes(view[last_at:last_at + width], "little")
    return memoryview(data)[first:last] if data is not None else memoryview(b"")


class Writer:
    """Base class: subclasses set SPEC and implement row_sql, and may add a
    header and a footer."""

    SPEC: ClassVar[FormatSpec]

    def __init__(self, columns: list[Column], options: dict[str, Any], timezone: str = "UTC",
                 row_name: str = "record") -> None:
        self.columns = columns
        self.options = options
        self.timezone = timezone
        self.row_name = row_name
        self.rows = 0
        self.file: BinaryIO | None = None

    @classmethod
    def option_errors(cls, options: dict[str, Any]) -> list[InvalidSpec]:
        unknown = sorted(set(options) - set(cls.SPEC.options))
        if unknown:
            msg = f"{cls.SPEC.label} has no options {unknown}; known: {list(cls.SPEC.options)}"
            return [InvalidSpec("UNKNOWN_OPTION", msg, "options")]
        return []

    def stage_sql(self) -> list[str]:
        """Optional expressions ("expr AS name") computed over r before row_sql, so an
        intermediate value is computed once however often row_sql uses it."""
        return []

    def row_sql(self) -> str:
        """A DuckDB expression over the columns of relation r (and the stage) giving one
        row's text."""
        raise NotImplementedError

    def select_sql(self, base: str) -> str:
        """The query that renders each row of `base` as its text, in a column "line",
        in id order. Rendering comes before sorting, so it runs on every thread and the
        sort moves one string per row."""
        stage = self.stage_sql()
        if stage:
            base = f"SELECT r.*, {', '.join(stage)} FROM ({base}) AS r"
        rendered = f"SELECT r.{ROW_ID}, {self.row_sql()} AS line FROM ({base}) AS r"
        return ordered(rendered, "line")

    def open(self, file: BinaryIO) -> None:
        self.file = file
        self.write_header()

    def write_header(self) -> None:
        """Bytes before the first row."""

    def write_batch(self, batch: pa.RecordBatch) -> None:
        assert self.file is not None
        self.file.write(line_bytes(batch))
        self.rows += batch.num_rows

    def close(self) -> None:
        """Bytes after the last row; flushes but does not close the file."""

    def abort(self) -> None:
        """Let go of what the writer holds after a failed run (the file is discarded)."""
