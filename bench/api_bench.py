"""Benchmark of the REST API in real uvicorn processes: concurrent job lists and a 100 MB download.

Starts `uvicorn api.main:app --workers N` (default 2, one per core) on 127.0.0.1 and measures
  (a) GET /jobs from --requests (200) concurrent pollers, each on its own keep-alive
      connection, all sending at once, --rounds times (bench/http_load.py): errors and
      p50/p99/max over all requests. Bar: no error, p99 <= 200 ms. Measured for pollers
      of one org, and of --orgs orgs (a token each); and again on a server with the list
      cache off (EXPORTER_API_CACHE_SECONDS=0) and on one worker, to show what each part
      gives. With `wrk` installed, also 200 connections kept busy for 10 s.
  (b) the download of a >= --mb MB CSV export through /files/{token}, streamed, while
      psutil samples the RSS of every API process every 5 ms: RSS before and at peak,
      MB/s, and the sha256 of what arrived against the job's; on the fresh server and
      after the bursts. Bar: peak RSS < 150 MB.
The file is a real export: demo orders (seeded once, in one org) exported as CSV by
exporter.runner.run_job in this process, then reused by later runs while its link lives.
By default everything runs under bench/out/api-home (its own embedded Postgres and
Redis), so the developers' .exporter data is left alone.

Usage: python bench/api_bench.py [--orders 700000] [--requests 200] [--rounds 20]
                                 [--workers 2] [--orgs 10] [--mb 100] [--home DIR]
                                 [--json bench/out/api_result.json]
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
from http_load import bursts, request, wrk

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
BAR_P99_MS = 200
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


def some_jobs(svc: ExportService, org: int, n: int = 30) -> None:
    """Fill the list GET /jobs returns: n small jobs, cancelled (no workers run here)."""
    _, total, _ = svc.jobs(org, limit=1)
    for k in range(total, n):
        spec = ExportSpec("orders", FIELDS[: 1 + k % len(FIELDS)],
                          format=("json", "xml")[k // len(FIELDS) % 2], date_range="last_30_days")
        job, _ = svc.submit(org, spec, "bench", f"bench job {k}")
        svc.cancel(org, str(job.id))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_api(settings: Settings, port: int, workers: int,
              cache_seconds: float | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    if cache_seconds is not None:
        env["EXPORTER_API_CACHE_SECONDS"] = str(cache_seconds)
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1).is_success \
                    and len(api_processes(proc.pid)) >= workers:
                time.sleep(1)  # let every worker finish starting
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not answer within 60 s")


def stop_api(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def api_processes(pid: int) -> list[psutil.Process]:
    """The uvicorn process and its workers (one process when --workers is 1)."""
    main = psutil.Process(pid)
    return [main, *main.children(recursive=True)]


def rss_mb(pid: int) -> float:
    """The largest RSS among the API's processes."""
    return round(max(p.memory_info().rss for p in api_processes(pid)) / 2**20, 1)


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


def download(base: str, headers: dict[str, str], job_id: str, pid: int) -> dict[str, Any]:
    link = httpx.get(f"{base}/jobs/{job_id}/download", headers=headers, timeout=30).json()
    servers = api_processes(pid)
    baseline = max(p.memory_info().rss for p in servers)
    peak, stop = [baseline], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], *(p.memory_info().rss for p in servers))
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


def polls(port: int, plains: list[str], n: int, rounds: int) -> dict[str, Any]:
    """n concurrent pollers of GET /jobs, spread evenly over the tokens."""
    sent = [request("127.0.0.1", port, f"{BASE}/jobs",
                    {"Authorization": f"Bearer {plains[k % len(plains)]}"}) for k in range(n)]
    return asyncio.run(bursts("127.0.0.1", port, sent, rounds))


def report(label: str, r: dict[str, Any]) -> None:
    log(f"GET /jobs, {label}: {r['requests']} requests, {r['errors']} errors, "
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms (worst round {r['worst_round_p99_ms']}), "
        f"max {r['max_ms']} ms, {r['rps']} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=700_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--orgs", type=int, default=10)
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
    orgs = [ORG, *range(1001, 1000 + args.orgs)]
    for org in orgs:
        some_jobs(svc, org)
    plains = [tokens.create(svc.engine, org, "api-bench")[0] for org in orgs]
    job = svc.job(ORG, job_id)
    headers = {"Authorization": f"Bearer {plains[0]}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}{BASE}"
    downloads: dict[str, dict[str, Any]] = {}
    lists: dict[str, dict[str, Any]] = {}
    proc = start_api(settings, port, args.workers)
    try:
        started_rss = rss_mb(proc.pid)
        log(f"API: {args.workers} worker(s), largest process RSS at start: {started_rss} MB")
        downloads["fresh server"] = download(base, headers, job_id, proc.pid)
        idle = sequential(f"{base}/jobs", headers)
        log(f"GET /jobs one at a time: p50 {idle['p50_ms']} ms, p99 {idle['p99_ms']} ms")
        lists["one org"] = polls(port, plains[:1], args.requests, args.rounds)
        report(f"{args.requests} pollers of one org", lists["one org"])
        lists[f"{len(orgs)} orgs"] = polls(port, plains, args.requests, args.rounds)
        report(f"{args.requests} pollers of {len(orgs)} orgs", lists[f"{len(orgs)} orgs"])
        sustained = wrk(f"{base}/jobs", headers, args.requests)
        if sustained is not None:
            lists["wrk, one org"] = sustained
            log(f"wrk, {args.requests} busy connections for {sustained['seconds']} s: "
                f"p50 {sustained['p50_ms']} ms, p99 {sustained['p99_ms']} ms, "
                f"{sustained['rps']} req/s, non-2xx {sustained['non_2xx']}, "
                f"socket errors {sustained['socket_errors']}")
        downloads["after the bursts"] = download(base, headers, job_id, proc.pid)
    finally:
        stop_api(proc)
    for label, workers, cache in (("no list cache", args.workers, 0.0), ("one worker", 1, None)):
        proc = start_api(settings, port, workers, cache)
        try:
            lists[label] = polls(port, plains[:1], args.requests, args.rounds)
            report(f"{args.requests} pollers of one org, {label}", lists[label])
        finally:
            stop_api(proc)
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
    bar = [lists["one org"], lists[f"{len(orgs)} orgs"]]
    ok = ok and all(r["errors"] == 0 and r["p99_ms"] <= BAR_P99_MS for r in bar)
    log(f"bar (no error, p99 <= {BAR_P99_MS} ms with the default settings): "
        f"{'pass' if ok else 'FAIL'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"workers": args.workers, "rss_at_start_mb": started_rss,
                                     "jobs_list_idle": idle, "jobs_list": lists,
                                     "downloads": downloads, "bar_mb": BAR_MB,
                                     "bar_p99_ms": BAR_P99_MS, "pass": ok}, indent=1))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
