"""The API's job list cache: shared reads, expiry, forgetting on writes, failures."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api.cache import ListCache


class Reads:
    """A read that counts its calls and answers b"1", b"2", ... after `delay` seconds."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls, self.delay, self.fail = 0, delay, fail

    async def __call__(self) -> bytes:
        self.calls += 1
        n = self.calls
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the database is down")
        return str(n).encode()


def test_concurrent_requests_share_one_read() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads(delay=0.05)
        answers = await asyncio.gather(*(cache.get((1, "page"), read) for _ in range(50)))
        assert read.calls == 1 and set(answers) == {b"1"}
        assert await cache.get((1, "page"), read) == b"1" and read.calls == 1
    asyncio.run(main())


def test_orgs_and_queries_are_kept_apart() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads()
        got = [await cache.get(key, read) for key in [(1, "a"), (2, "a"), (1, "b"), (1, "a")]]
        assert got == [b"1", b"2", b"3", b"1"] and read.calls == 3
    asyncio.run(main())


def test_a_list_is_read_again_once_it_is_older_than_the_setting() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=0.2), Reads()
        assert await cache.get((1, "page"), read) == b"1"
        assert await cache.get((1, "page"), read) == b"1"
        await asyncio.sleep(0.25)
        assert await cache.get((1, "page"), read) == b"2"
    asyncio.run(main())


def test_zero_seconds_reads_every_time() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=0), Reads()
        assert [await cache.get((1, "page"), read) for _ in range(3)] == [b"1", b"2", b"3"]
    asyncio.run(main())


def test_a_write_forgets_the_orgs_lists_only() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads()
        await cache.get((1, "page"), read)
        await cache.get((2, "page"), read)
        cache.forget(1)
        assert await cache.get((1, "page"), read) == b"3"
        assert await cache.get((2, "page"), read) == b"2"
    asyncio.run(main())


def test_a_read_begun_before_a_write_is_not_served_after_it() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads(delay=0.1)
        early = asyncio.ensure_future(cache.get((1, "page"), read))
        await asyncio.sleep(0.02)
        cache.forget(1)  # e.g. a job was started while the first read was in flight
        assert await cache.get((1, "page"), read) == b"2"
        assert await early == b"1"  # its own caller still gets it
        assert await cache.get((1, "page"), read) == b"2" and read.calls == 2
    asyncio.run(main())


def test_forget_may_be_called_from_another_thread() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads()
        await cache.get((1, "page"), read)
        writer = threading.Thread(target=cache.forget, args=(1,))
        writer.start()
        writer.join()
        assert await cache.get((1, "page"), read) == b"2"
    asyncio.run(main())


def test_a_caller_that_goes_away_does_not_cancel_the_shared_read() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads(delay=0.1)
        first = asyncio.ensure_future(cache.get((1, "page"), read))
        second = asyncio.ensure_future(cache.get((1, "page"), read))
        await asyncio.sleep(0.02)
        first.cancel()
        assert await second == b"1" and read.calls == 1
    asyncio.run(main())


def test_a_failed_read_reaches_every_waiter_and_is_not_kept() -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5), Reads(delay=0.05, fail=True)
        results = await asyncio.gather(*(cache.get((1, "page"), read) for _ in range(3)),
                                       return_exceptions=True)
        assert read.calls == 1 and all(isinstance(r, RuntimeError) for r in results)
        read.fail = False
        assert await cache.get((1, "page"), read) == b"2"
    asyncio.run(main())


@pytest.mark.parametrize("max_bytes", [1, 2, 5, 100])
def test_the_cache_keeps_at_most_its_bytes(max_bytes: int) -> None:
    async def main() -> None:
        cache, read = ListCache(seconds=5, max_bytes=max_bytes), Reads()
        for k in range(20):  # bodies b"1" ... b"20"
            assert await cache.get((k, "page"), read) == str(k + 1).encode()
            kept = sum(len(body) for _, body in cache._kept.values())
            assert kept == cache._bytes <= max_bytes
        assert (19, "page") in cache._kept or max_bytes < 2
    asyncio.run(main())
