"""A short-lived cache of rendered job lists, so many pollers of one org share one read.

A list is kept for `seconds` (EXPORTER_API_CACHE_SECONDS) from when its read began;
requests that arrive while a read is in flight wait for that read instead of starting
their own. What is kept is bounded in bytes (8 MB per process). A write through this
process (start, cancel, retry) forgets the org's lists at once, and a read that began
before the write is not kept. Workers update progress about once a second, so a list is
at most `seconds` older than what they wrote; 0 turns the cache off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

Key = tuple[int, Hashable]  # (org, what was asked)


@dataclass
class ListCache:
    seconds: float
    max_bytes: int = 8 << 20  # bodies kept at most, all orgs together
    _bytes: int = 0
    _kept: dict[Key, tuple[float, bytes]] = field(default_factory=dict)  # key -> (began, body)
    _reads: dict[Key, tuple[float, asyncio.Future[bytes]]] = field(default_factory=dict)
    _forgotten: dict[int, float] = field(default_factory=dict)  # org -> when

    async def get(self, key: Key, read: Callable[[], Awaitable[bytes]]) -> bytes:
        if self.seconds <= 0:
            return await read()
        now = time.monotonic()
        forgotten = self._forgotten.get(key[0], -1.0)
        kept = self._kept.get(key)
        if kept is not None and kept[0] > forgotten and kept[0] + self.seconds > now:
            return kept[1]
        flight = self._reads.get(key)
        if flight is None or flight[0] <= forgotten:
            flight = (now, asyncio.ensure_future(read()))
            self._reads[key] = flight
            flight[1].add_done_callback(lambda _: self._landed(key, flight))
        # shield: a caller that goes away must not cancel the read the others wait for
        return await asyncio.shield(flight[1])

    def forget(self, org: int) -> None:
        """Let no list of the org read before now be used again. One assignment, so
        sync routes may call it from their worker threads."""
        self._forgotten[org] = time.monotonic()

    def _landed(self, key: Key, flight: tuple[float, asyncio.Future[bytes]]) -> None:
        began, done = flight
        if self._reads.get(key) is flight:
            del self._reads[key]
        if done.cancelled() or done.exception() is not None:
            return
        kept = self._kept.get(key)
        if kept is not None and kept[0] >= began:
            return
        body = done.result()
        if kept is not None:
            self._bytes -= len(kept[1])
            del self._kept[key]
        if self._bytes + len(body) > self.max_bytes:
            now = time.monotonic()
            self._kept = {k: v for k, v in self._kept.items() if v[0] + self.seconds > now}
            self._bytes = sum(len(v[1]) for v in self._kept.values())
            if self._bytes + len(body) > self.max_bytes:
                self._kept.clear()
                self._bytes = 0
                if len(body) > self.max_bytes:
                    return
        self._kept[key] = (began, body)
        self._bytes += len(body)
