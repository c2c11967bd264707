"""HTTP Range requests over one file: parse a single byte range, stream a slice.

Only one range is served (206); several ranges, another unit or bad syntax are ignored
and the whole file is sent (200), as RFC 9110 allows. A range that starts past the end
is unsatisfiable (416). The file is read in chunks, never whole.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 256 * 1024
_SPEC = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range lies outside the file."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse(header: str | None, size: int) -> ByteRange | None:
    """The range to send, None for the whole file; Unsatisfiable if none of it exists."""
    match = _SPEC.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None  # "bytes=-": not a range
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignore the header
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


def read(stream: BinaryIO, start: int, length: int,
         chunk: int = CHUNK) -> Generator[bytes, None, None]:
    """Up to `length` bytes from `start`, in chunks; closes the stream when done or dropped."""
    try:
        if start:
            stream.seek(start)
        left = length
        while left > 0:
            data = stream.read(min(chunk, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        stream.close()
