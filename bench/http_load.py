"""A small load tool for GET requests on loopback: keep-alive HTTP/1.1 over asyncio streams.

`bursts` opens one connection per concurrent request, warms each up, then sends all the
requests at the same moment, round after round, and times each one from its send to the
last byte of its answer. It costs ~0.1 ms of CPU a request (httpx costs ~1 ms, which on
two shared cores mostly measured the client). `wrk` runs the same load sustained for a
few seconds, when the wrk program is installed (Debian package wrk).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from typing import Any


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, request: bytes) -> tuple[int, bytes]:
        """Send a prepared request; the status and body of the answer."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if length is None:
            raise ValueError("an answer without Content-Length")
        return status, await self.reader.readexactly(int(length.group(1)))

    def close(self) -> None:
        self.writer.close()


def request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def summary(ms: list[float], errors: list[str], wall: float) -> dict[str, Any]:
    ms = sorted(ms)
    return {"requests": len(ms), "errors": len(errors), "error_kinds": sorted(set(errors)),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max_ms": round(ms[-1], 1), "rps": round(len(ms) / wall)}


async def bursts(host: str, port: int, requests: list[bytes], rounds: int,
                 warmup: int = 3) -> dict[str, Any]:
    """len(requests) connections, each sending its request at once, `rounds` times."""
    conns = await asyncio.gather(*(Connection.open(host, port) for _ in requests))
    ms: list[float] = []
    errors: list[str] = []
    worst: list[float] = []  # p99 of each round

    async def one(conn: Connection, sent: bytes, into: list[float]) -> None:
        started = time.perf_counter()
        try:
            status, _ = await conn.get(sent)
            if status != 200:
                errors.append(f"HTTP {status}")
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            errors.append(type(exc).__name__)
        into.append((time.perf_counter() - started) * 1000)

    try:
        for _ in range(warmup):
            await asyncio.gather(*(one(c, r, []) for c, r in zip(conns, requests, strict=True)))
        errors.clear()
        busy = 0.0
        for _ in range(rounds):
            round_ms: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(one(c, r, round_ms) for c, r in zip(conns, requests,
                                                                          strict=True)))
            busy += time.perf_counter() - started
            ms += round_ms
            worst.append(sorted(round_ms)[min(len(round_ms) - 1, int(len(round_ms) * 0.99))])
            await asyncio.sleep(0.05)  # rounds apart, as pollers are
    finally:
        for conn in conns:
            conn.close()
    result = summary(ms, errors, busy)
    result.update(rounds=rounds, concurrent=len(requests),
                  worst_round_p99_ms=round(max(worst), 1))
    return result


def wrk(url: str, headers: dict[str, str], connections: int,
        seconds: int = 10) -> dict[str, Any] | None:
    """wrk's figures for `connections` connections kept busy; None without wrk."""
    if shutil.which("wrk") is None:
        return None
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            raise ValueError(f"no {label} latency in wrk's output:\n{out}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return round(float(found.group(1)) * scale, 1)

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"connections": connections, "seconds": seconds, "p50_ms": ms("50%"),
            "p99_ms": ms("99%"), "rps": round(float(rps.group(1))) if rps else None,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": socket.group(1) if socket else None}
