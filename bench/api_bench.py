"""Benchmark of the REST API in a real uvicorn: concurrent job lists and a 100 MB download.

Starts `uvicorn api.main:app` in a subprocess on 127.0.0.1 (a free port) and measures
  (a) --requests concurrent GET /jobs (httpx.AsyncClient, one connection each):
      errors, p50/p99/max latency and requests/s, per round;
  (b) the download of a >= --mb MB CSV export through /files/{token}, streamed, while
      psutil samples the server process's RSS every 5 ms: RSS before and at peak, MB/s,
      and the sha256 of what arrived against the job's; once on the fresh server and
      once after the bursts. Bar: peak RSS < 150 MB.
The file is a real export: demo orders (seeded once, in one org) exported as CSV by
exporter.runner.run_job in this process, then reused by later runs while its link lives.
By default everything runs under bench/out/api-home (its own embedded Postgres and
Redis), so the developers' .exporter data is left alone.

Usage: python bench/api_bench.py [--orders 700000] [--requests 200] [--rounds 3]
                                 [--mb 100] [--home DIR] [--json bench/out/api_result.json]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter import demo, services, tokens  # noqa: E402
from exporter.jobs import ExportService, prepare_database  # noqa: E402
from exporter.runner import run_job  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.spec import ExportSpec  # noqa: E402

BASE = "/api/integrations/exports"
ORG = 1
NAME = "api-bench download"
BAR_MB = 150
# ~165 bytes a row: 700,000 orders make a ~115 MB CSV
FIELDS = ("order_number", "customer_name", "customer_code", "customer_email", "order_date",
          "status", "total", "tax", "discount", "currency", "payment_terms", "delivery_date",
          "created_at")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_orders(settings: Settings, orders: int) -> None:
    url = services.libpq_url(services.database_url(settings))
    with psycopg.connect(url) as conn:
        demo.ensure_schema(conn)
        row = conn.execute("SELECT count(*) FROM erp.orders WHERE org_id = %s", [ORG]).fetchone()
        if row and row[0] >= orders:
            log(f"reusing {row[0]:,} demo orders")
            return
        log(f"seeding {orders:,} demo orders ...")
        started = time.perf_counter()
        demo.seed(conn, orders=orders, orgs=1)
        log(f"seeded in {time.perf_counter() - started:.0f}s")


def big_export(svc: ExportService, mb: int) -> str:
    """A completed job whose file has at least `mb` MB: reused, else exported now."""
    found, _, _ = svc.jobs(ORG, status="completed", limit=20)
    for job in found:
        if job.name == NAME and job.spec.get("fields") == list(FIELDS) \
                and (job.bytes or 0) >= mb * 1e6 and job.file_key \
                and svc.storage.exists(job.file_key):
            log(f"reusing export {job.id} ({(job.bytes or 0) / 1e6:.0f} MB)")
            return str(job.id)
    spec = ExportSpec("orders", FIELDS, format="csv", date_range="all")
    job, _ = svc.submit(ORG, spec, "bench", NAME)
    log(f"exporting {job.id} ...")
    started = time.perf_counter()
    outcome = run_job(svc, str(job.id), ORG)
    done = svc.job(ORG, str(job.id))
    if outcome != "completed":
        raise SystemExit(f"export {outcome}: {done.error_code} {done.error_message}")
    log(f"exported {done.row_count:,} rows, {(done.bytes or 0) / 1e6:.0f} MB in "
        f"{time.perf_counter() - started:.0f}s")
    if (done.bytes or 0) < mb * 1e6:
        raise SystemExit(f"the export has {(done.bytes or 0) / 1e6:.0f} MB < {mb} MB: "
                         "seed more --orders")
    return str(job.id)


def some_jobs(svc: ExportService, n: int = 30) -> None:
    """Fill the list GET /jobs returns: n small jobs, cancelled (no workers run here)."""
    _, total, _ = svc.jobs(ORG, limit=1)
    for k in range(total, n):
        spec = ExportSpec("orders", FIELDS[: 1 + k % len(FIELDS)],
                          format=("json", "xml")[k // len(FIELDS) % 2], date_range="last_30_days")
        job, _ = svc.submit(ORG, spec, "bench", f"bench job {k}")
        svc.cancel(ORG, str(job.id))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_api(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1).is_success:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not answer within 60 s")


def rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def sequential(url: str, headers: dict[str, str], n: int = 50) -> dict[str, Any]:
    """Latency of one request at a time: what a caller sees on an idle server."""
    ms = []
    with httpx.Client(headers=headers, timeout=30) as client:
        client.get(url)
        for _ in range(n):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            ms.append((time.perf_counter() - started) * 1000)
    ms.sort()
    return {"requests": n, "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(n - 1, int(n * 0.99))], 1)}


async def burst(url: str, headers: dict[str, str], n: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client.get(url) for _ in range(min(n, 20))))  # warm up

        async def one() -> tuple[float, int | str]:
            started = time.perf_counter()
            try:
                response = await client.get(url)
                return time.perf_counter() - started, response.status_code
            except httpx.HTTPError as exc:
                return time.perf_counter() - started, type(exc).__name__

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - started
    ms = sorted(seconds * 1000 for seconds, _ in results)
    errors = [status for _, status in results if status != 200]
    return {"requests": n, "errors": len(errors), "error_kinds": sorted(set(map(str, errors))),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max_ms": round(ms[-1], 1), "wall_s": round(wall, 2), "rps": round(n / wall)}


def download(base: str, headers: dict[str, str], job_id: str, pid: int) -> dict[str, Any]:
    link = httpx.get(f"{base}/jobs/{job_id}/download", headers=headers, timeout=30).json()
    server = psutil.Process(pid)
    baseline = server.memory_info().rss
    peak, stop = [baseline], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], server.memory_info().rss)
            stop.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    digest, size = hashlib.sha256(), 0
    started = time.perf_counter()
    with httpx.stream("GET", base.split(BASE)[0] + link["url"], timeout=120) as response:
        response.raise_for_status()
        declared = int(response.headers["Content-Length"])
        for chunk in response.iter_raw(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {"bytes": size, "declared": declared, "sha256": digest.hexdigest(),
            "seconds": round(seconds, 2), "mb_per_s": round(size / 1e6 / seconds),
            "rss_baseline_mb": round(baseline / 2**20, 1), "rss_peak_mb": round(peak[0] / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=700_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--home", type=Path, default=None,
                        help="EXPORTER_HOME to use (default: EXPORTER_HOME, else bench/out/api-home)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/out/api_result.json")
    args = parser.parse_args()
    settings = Settings.from_env()
    home = args.home or (None if "EXPORTER_HOME" in os.environ else ROOT / "bench/out/api-home")
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        settings = dataclasses.replace(settings, home=home.resolve())
    ensure_orders(settings, args.orders)
    prepare_database(settings)
    svc = ExportService(settings)
    job_id = big_export(svc, args.mb)
    some_jobs(svc)
    plain, _ = tokens.create(svc.engine, ORG, "api-bench")
    job = svc.job(ORG, job_id)
    headers = {"Authorization": f"Bearer {plain}"}
    port = free_port()
    proc = start_api(settings, port)
    base = f"http://127.0.0.1:{port}{BASE}"
    downloads: dict[str, dict[str, Any]] = {}
    try:
        started_rss = rss_mb(proc.pid)
        log(f"server RSS at start: {started_rss} MB")
        downloads["fresh server"] = download(base, headers, job_id, proc.pid)
        idle = sequential(f"{base}/jobs", headers)
        log(f"GET /jobs one at a time: p50 {idle['p50_ms']} ms, p99 {idle['p99_ms']} ms")
        rounds = [asyncio.run(burst(f"{base}/jobs", headers, args.requests))
                  for _ in range(args.rounds)]
        for n, r in enumerate(rounds, 1):
            log(f"GET /jobs x{r['requests']} concurrent (round {n}): {r['errors']} errors, "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms, "
                f"{r['rps']} req/s")
        downloads["after the bursts"] = download(base, headers, job_id, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    ok = True
    for when, got in downloads.items():
        got["intact"] = got["sha256"] == job.sha256 and got["bytes"] == got["declared"] == job.bytes
        got["under_bar"] = got["rss_peak_mb"] < BAR_MB
        ok = ok and got["intact"] and got["under_bar"]
        log(f"download ({when}): {got['bytes'] / 1e6:.0f} MB in {got['seconds']} s "
            f"({got['mb_per_s']} MB/s), sha256 {'matches' if got['intact'] else 'DIFFERS'}; "
            f"server RSS {got['rss_baseline_mb']} MB before -> peak {got['rss_peak_mb']} MB "
            f"(+{got['rss_peak_mb'] - got['rss_baseline_mb']:.1f}; bar < {BAR_MB} MB: "
            f"{'pass' if got['under_bar'] else 'FAIL'})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rss_at_start_mb": started_rss, "jobs_list_idle": idle,
                                     "jobs_list": rounds, "downloads": downloads,
                                     "bar_mb": BAR_MB}, indent=1))
    if not ok or any(r["errors"] for r in rounds):
        sys.exit(1)


if __name__ == "__main__":
    main()
