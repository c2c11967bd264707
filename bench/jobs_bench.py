"""Benchmark of the job queue with a real `exporter worker` (2 processes x 4 threads).

  (a) submit -> running latency with an idle worker: median of 10, from the server's own
      timestamps (started_at - created_at), one job at a time.
  (b) 40 jobs over 4 orgs (10 each, submitted org by org as fast as possible): sampled
      every 100 ms, no org ever has more than EXPORTER_MAX_RUNNING (5) running; each org's
      jobs start in submit order; nothing is lost: every job completes once, on its first
      attempt, with the org's full row count and the same bytes as its siblings.

Data: the demo ERP (exporter.demo), 40,000 orders over orgs 1-4, exported as CSV (8 order
fields, all dates). Everything runs in its own EXPORTER_HOME (default bench/out/jobs-home:
its own Postgres and Redis), so no other worker can take its jobs.

Usage: python bench/jobs_bench.py [--orders 40000] [--json bench/out/jobs.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter import demo, services  # noqa: E402
from exporter.jobs import ExportService, prepare_database  # noqa: E402
from exporter.models import FINISHED, ExportJob  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.spec import ExportSpec  # noqa: E402

ORGS, PER_ORG, PROCESSES, THREADS = 4, 10, 2, 4
SPEC = ExportSpec("orders", ("order_number", "customer_name", "order_date", "status", "total",
                             "tax", "discount", "currency"), format="csv", date_range="all")


def seed(url: str, orders: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        demo.ensure_schema(conn)
        row = conn.execute("SELECT count(*), count(DISTINCT org_id) FROM erp.orders").fetchone()
        if row == (orders, ORGS):
            return
        print(f"seeding {orders:,} demo orders over {ORGS} orgs ...", file=sys.stderr)
        demo.seed(conn, orders=orders, orgs=ORGS)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    cmd = [sys.executable, "-m", "exporter.cli", "worker", "--processes", str(PROCESSES),
           "--threads", str(THREADS)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count("is ready for action") < PROCESSES:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return proc


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def wait_final(svc: ExportService, org: int, job_id: str, timeout: float = 120) -> ExportJob:
    deadline = time.monotonic() + timeout
    while (job := svc.job(org, job_id)).status not in FINISHED:
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} did not finish: {job.status}")
        time.sleep(0.02)
    return job


def seconds(a: datetime | None, b: datetime | None) -> float:
    assert a is not None and b is not None
    return (b - a).total_seconds()


def latency(svc: ExportService, runs: int) -> dict[str, Any]:
    """Submit one job at a time to an idle worker; started_at - created_at of each."""
    waits, totals = [], []
    for n in range(runs):
        time.sleep(1.5)  # idle: the worker's consumers back off to their longest poll
        job, _ = svc.submit(1, SPEC, f"latency-{n}")
        done = wait_final(svc, 1, str(job.id))
        assert done.status == "completed", (done.status, done.error_message)
        waits.append(seconds(done.created_at, done.started_at))
        totals.append(seconds(done.created_at, done.completed_at))
    return {"runs": runs, "median_ms": statistics.median(waits) * 1000,
            "min_ms": min(waits) * 1000, "max_ms": max(waits) * 1000,
            "completed_median_s": statistics.median(totals)}


def load(svc: ExportService, url: str, limit: int) -> dict[str, Any]:
    """40 jobs over 4 orgs at once, sampled every 100 ms until all are final."""
    with psycopg.connect(url) as conn:
        rows = dict(conn.execute("SELECT org_id, count(*) FROM erp.orders GROUP BY org_id")
                    .fetchall())
    started = time.monotonic()
    ids = {org: [svc.submit(org, SPEC, f"load-{org}-{n}")[0].id for n in range(PER_ORG)]
           for org in range(1, ORGS + 1)}
    peak = dict.fromkeys(ids, 0)
    samples, over = 0, 0
    jobs: dict[int, list[ExportJob]] = {}
    while True:
        tick = time.monotonic()
        for org in ids:
            jobs[org] = [j for j in svc.jobs(org, limit=100)[0] if j.id in set(ids[org])]
            running = sum(j.status == "running" for j in jobs[org])
            peak[org] = max(peak[org], running)
            over += running > limit
        samples += 1
        if all(j.status in FINISHED for org in ids for j in jobs[org]):
            break
        if tick - started > 600:
            raise SystemExit("the load did not finish in 10 minutes")
        time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
    wall = time.monotonic() - started
    everything = [j for org in ids for j in jobs[org]]
    fifo = 0
    for org in ids:
        by_submit = sorted(jobs[org], key=lambda j: (j.created_at, j.id))
        starts = [j.started_at for j in by_submit]
        fifo += all(a is not None and b is not None and a <= b for a, b in pairwise(starts))
    lost = sum(len(jobs[org]) != PER_ORG for org in ids)
    lost += sum(j.status != "completed" or j.attempts != 1 or j.row_count != rows[j.org_id]
                for j in everything)
    lost += sum(len({j.sha256 for j in jobs[org]}) != 1 for org in ids)
    waits = sorted(seconds(j.created_at, j.started_at) for j in everything)
    runs = [seconds(j.started_at, j.completed_at) for j in everything]
    return {"jobs": len(everything), "wall_s": wall, "samples": samples, "over_limit": over,
            "peak": [peak[org] for org in ids], "fifo_orgs": fifo, "lost": lost,
            "rows_per_job": [rows[org] for org in ids], "wait_median_s": statistics.median(waits),
            "wait_p95_s": waits[int(0.95 * (len(waits) - 1))],
            "run_median_s": statistics.median(runs)}


def table(lat: dict[str, Any], run: dict[str, Any], limit: int) -> str:
    out = [
        "| Measure | Result |", "|---|---|",
        f"| (a) submit -> running, idle worker, median of {lat['runs']} | "
        f"{lat['median_ms']:.0f} ms (min {lat['min_ms']:.0f}, max {lat['max_ms']:.0f}) |",
        f"| (a) submit -> completed, median | {lat['completed_median_s']:.2f} s |",
        f"| (b) {run['jobs']} jobs over {ORGS} orgs: all final after | {run['wall_s']:.1f} s "
        f"({run['jobs'] / run['wall_s']:.1f} jobs/s) |",
        f"| (b) most running at once per org (limit {limit}), {run['samples']} samples | "
        f"{', '.join(map(str, run['peak']))}; over the limit: {run['over_limit']} |",
        f"| (b) orgs whose jobs started in submit order | {run['fifo_orgs']} of {ORGS} |",
        f"| (b) jobs lost, failed, retried or with wrong rows/bytes | {run['lost']} |",
        f"| (b) queue wait median / p95 | {run['wait_median_s']:.2f} s / {run['wait_p95_s']:.2f} s |",
        f"| (b) run time per job, median ({run['rows_per_job'][0]:,} rows) | "
        f"{run['run_median_s']:.2f} s |",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--home", type=Path, default=ROOT / "bench" / "out" / "jobs-home")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "jobs.json")
    args = parser.parse_args()
    # workers.actors sets up its broker from the environment when imported: point it here.
    os.environ["EXPORTER_HOME"] = str(args.home.resolve())
    os.environ.update(services.start(Settings.from_env()))
    settings = Settings.from_env()
    prepare_database(settings)
    url = services.libpq_url(settings.database_url)
    seed(url, args.orders)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE export.export_jobs")  # a fresh queue: earlier runs' jobs go
    from workers.actors import send_job

    svc = ExportService(settings, dispatch=send_job)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    proc = start_worker(settings, args.json.with_suffix(".worker.log"))
    try:
        lat = latency(svc, 10)
        run = load(svc, url, settings.max_running)
    finally:
        stop_worker(proc)
    args.json.write_text(json.dumps({"latency": lat, "load": run}, indent=2))
    print(table(lat, run, settings.max_running))
    if run["over_limit"] or run["lost"] or run["fifo_orgs"] != ORGS:
        raise SystemExit("a queue rule was broken")


if __name__ == "__main__":
    main()
