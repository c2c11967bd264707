"""Byte ranges of the download route, without a server: parsing and chunked reading."""

from __future__ import annotations

import io

import pytest

from api import ranges
from api.ranges import ByteRange

SIZE = 1000


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-99", ByteRange(0, 99)),
    ("bytes=100-", ByteRange(100, 999)),
    ("bytes=-50", ByteRange(950, 999)),
    ("bytes=-5000", ByteRange(0, 999)),
    ("bytes=990-5000", ByteRange(990, 999)),
    ("BYTES=1-1", ByteRange(1, 1)),
    (None, None),
    ("", None),
    ("bytes=0-1,4-5", None),
    ("bytes=9-3", None),
    ("bytes=-", None),
    ("pages=1-2", None),
])
def test_a_range_header_is_parsed_or_ignored(header: str | None,
                                             expected: ByteRange | None) -> None:
    assert ranges.parse(header, SIZE) == expected


@pytest.mark.parametrize(("header", "size"), [
    ("bytes=1000-", SIZE), ("bytes=1000-1001", SIZE), ("bytes=-0", SIZE), ("bytes=0-", 0),
    ("bytes=-1", 0),
])
def test_a_range_outside_the_file_is_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(ranges.Unsatisfiable):
        ranges.parse(header, size)


def test_content_range_names_the_slice_and_the_size() -> None:
    assert ByteRange(0, 99).content_range(SIZE) == "bytes 0-99/1000"
    assert ByteRange(0, 99).length == 100


def test_read_yields_the_slice_in_chunks_and_closes_the_stream() -> None:
    data = bytes(range(256)) * 40
    stream = io.BytesIO(data)
    chunks = list(ranges.read(stream, 1000, 5000, chunk=1024))
    assert b"".join(chunks) == data[1000:6000]
    assert max(map(len, chunks)) == 1024 and len(chunks) == 5
    assert stream.closed


def test_a_dropped_download_still_closes_the_stream() -> None:
    stream = io.BytesIO(b"x" * 10_000)
    reader = ranges.read(stream, 0, 10_000, chunk=100)
    next(reader)
    reader.close()
    assert stream.closed
