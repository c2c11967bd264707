"""run_export(): the one export loop.

count -> open a temp file -> stream 10,000-row chunks from DuckDB into the writer,
reporting progress and checking for cancellation -> close -> atomic rename. A watcher
thread interrupts DuckDB when the run is cancelled, even inside one long statement.
A run that does not finish leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from exporter import source
from exporter.catalog import Catalog, load_catalog
from exporter.errors import Cancelled, LimitExceeded, SourceError
from exporter.formats import WRITERS, Writer
from exporter.query import build_sql, output_columns
from exporter.settings import Settings
from exporter.spec import ExportSpec, check

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class ExportResult:
    path: str
    rows: int
    bytes: int
    sha256: str
    seconds: float
    total_rows: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class HashingFile:
    """A write-only file that hashes and counts what passes through it.
    It does not seek, so zip writers stream instead of rewriting headers."""

    def __init__(self, raw: object) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.sha.update(data)
        self.raw.write(data)  # type: ignore[attr-defined]
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def seekable(self) -> bool:
        return False

    def seek(self, *_: object) -> int:
        raise OSError("not seekable")

    def flush(self) -> None:
        self.raw.flush()  # type: ignore[attr-defined]


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def prepare(spec: ExportSpec, org: int, settings: Settings, catalog: Catalog | None = None,
            today: date | None = None) -> tuple[Writer, str, dict[str, object]]:
    """Validate a spec and build its writer and row-rendering SQL (no I/O)."""
    catalog = catalog or load_catalog(settings.catalog or None)
    check(spec, catalog, WRITERS)
    dtype = catalog.types[spec.data_type]
    columns = output_columns(spec, dtype)
    writer = WRITERS[spec.format](columns, spec.options, settings.timezone, dtype.xml_row)
    base, params = build_sql(spec, dtype, org, settings.timezone,
                             today or today_in(settings.timezone))
    return writer, writer.select_sql(base), params


class _Watcher(threading.Thread):
    """Interrupts DuckDB on cancel and reports progress while no chunk arrives."""

    def __init__(self, con: duckdb.DuckDBPyConnection, should_cancel: CancelFn | None,
                 report: Callable[[], None], every: float) -> None:
        super().__init__(daemon=True)
        self.con, self.should_cancel, self.report, self.every = con, should_cancel, report, every
        self.cancelled = False
        self.done = threading.Event()

    def run(self) -> None:
        last = time.monotonic()
        while not self.done.wait(0.2):
            if self.should_cancel and self.should_cancel():
                self.cancelled = True
                self.con.interrupt()
                return
            if time.monotonic() - last >= self.every:
                self.report()
                last = time.monotonic()


def _stream(con: duckdb.DuckDBPyConnection, writer: Writer, sql: str, params: dict[str, object],
            bounds: source.Bounds, settings: Settings, cancelled: CancelFn,
            report: Callable[[], None]) -> None:
    """Every window's rows, in 10,000-row chunks, into the writer, in one snapshot."""
    con.execute("BEGIN TRANSACTION")
    last = time.monotonic()
    rows_per_window = max(1, int(settings.window_rows * writer.SPEC.window_share))
    for lo, hi in source.windows(bounds, rows_per_window):
        con.execute(sql, {**params, "lo": lo, "hi": hi})
        for batch in con.to_arrow_reader(settings.chunk_rows):
            if cancelled():
                raise Cancelled()
            writer.write_batch(batch)
            if time.monotonic() - last >= settings.progress_seconds:
                report()
                last = time.monotonic()
    con.execute("COMMIT")


def run_export(spec: ExportSpec, org: int, sink: str | Path,
               on_progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
               settings: Settings | None = None) -> ExportResult:
    """Export the org's rows selected by spec into the file sink; return what was written."""
    settings = settings or Settings.from_env()
    started = time.monotonic()
    today = today_in(settings.timezone)  # one day for the count and the rows, even at midnight
    writer, sql, params = prepare(spec, org, settings, today=today)
    dsn = source.dsn_for(settings, org)
    bounds = source.row_bounds(spec, org, settings, dsn, today)
    total = bounds.count
    hard = writer.SPEC.hard_max_rows
    if hard is not None and total > hard:
        raise LimitExceeded("TOO_MANY_ROWS",
                            f"{total:,} rows match, but {writer.SPEC.label} holds at most "
                            f"{hard:,}. Narrow the filters or choose CSV.", "format")
    target = Path(sink)
    temp = target.with_name(f".{target.name}.{os.getpid()}.part")
    lock = threading.Lock()

    def report() -> None:
        if on_progress:
            with lock:
                on_progress(writer.rows, max(total, writer.rows))

    report()  # the total is known: show it at once
    con = source.connect(settings)
    watcher = _Watcher(con, should_cancel, report, settings.progress_seconds)
    finished = False
    try:
        source.attach(con, dsn)
        watcher.start()
        with open(temp, "wb") as raw:
            out = HashingFile(raw)
            writer.open(out)  # type: ignore[arg-type]
            _stream(con, writer, sql, params, bounds, settings,
                    lambda: watcher.cancelled or bool(should_cancel and should_cancel()), report)
            writer.close()
            finished = True
            out.flush()
            os.fsync(raw.fileno())
        if watcher.cancelled:
            raise Cancelled()
        temp.replace(target)
    except duckdb.Error as exc:
        if watcher.cancelled or isinstance(exc, duckdb.InterruptException):
            raise Cancelled() from exc
        raise SourceError("SOURCE_FAILED", f"Reading the source failed: {exc}") from exc
    finally:
        if not finished:
            writer.abort()
        watcher.done.set()
        con.close()
        temp.unlink(missing_ok=True)
    report()
    return ExportResult(str(target), writer.rows, out.size, out.sha.hexdigest(),
                        round(time.monotonic() - started, 3), total)
