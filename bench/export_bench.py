"""Benchmark: exporter against psql \\copy and pandas, on the same rows, in one run.

Seeds 1,000,000 demo orders in one org (or reuses them), then times, each in its own
process so peak RSS is that process's own:
  psql \\copy (query) TO csv      - the floor: Postgres writing CSV itself
  pandas read_sql(chunksize=10000) + to_csv
  exporter export, every format   - at ~910k rows (one year) and ~100k rows
and the 20-row preview (warm, median of 5; and cold). Prints a Markdown table.

Usage: python bench/export_bench.py [--orders 1000000] [--json bench/out/result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exporter import demo, services  # noqa: E402
from exporter.settings import Settings  # noqa: E402

FIELDS = ["order_number", "customer_name", "order_date", "status", "total", "payment_terms",
          "delivery_date", "delivery_address", "special_instructions", "tax", "discount",
          "currency"]
PG_COLUMNS = ["o.order_number", "c.name", "o.order_date", "o.status", "o.total",
              "o.payment_terms", "o.delivery_date", "o.delivery_address",
              "o.special_instructions", "o.tax", "o.discount", "o.currency"]
FORMATS = ["csv", "json", "xml", "xlsx"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS in MB of that process, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def ensure_orders(url: str, orders: int) -> None:
    with psycopg.connect(url) as conn:
        demo.ensure_schema(conn)
        row = conn.execute("SELECT count(*), count(DISTINCT org_id) FROM erp.orders").fetchone()
        if row and row[0] == orders and row[1] == 1:
            print(f"reusing {orders:,} orders", file=sys.stderr)
            return
        print(f"seeding {orders:,} orders ...", file=sys.stderr)
        started = time.perf_counter()
        demo.seed(conn, orders=orders, orgs=1)
        print(f"seeded in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def pg_query(since: date, until: date) -> str:
    return (f"SELECT {', '.join(PG_COLUMNS)} FROM erp.orders o "
            "LEFT JOIN erp.customers c ON c.id = o.customer_id AND c.org_id = 1 "
            f"WHERE o.org_id = 1 AND o.order_date >= DATE '{since}' "
            f"AND o.order_date <= DATE '{until}' ORDER BY o.id")


PANDAS = """
import sys, pandas as pd, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
with engine.connect().execution_options(stream_results=True) as conn, open(sys.argv[3], "w") as f:
    for i, chunk in enumerate(pd.read_sql(sa.text(sys.argv[2]), conn, chunksize=10000)):
        chunk.to_csv(f, header=i == 0, index=False)
"""

PREVIEW = """
import json, statistics, sys, time
from datetime import date
from exporter.preview import preview
from exporter.settings import Settings
from exporter.spec import ExportSpec
spec = ExportSpec("orders", tuple(sys.argv[1].split(",")), date_range="custom",
                  date_from=date.fromisoformat(sys.argv[2]), date_to=date.fromisoformat(sys.argv[3]))
settings = Settings.from_env()
t = time.perf_counter(); rows = preview(spec, 1, settings).rows; cold = time.perf_counter() - t
warm = []
for _ in range(5):
    t = time.perf_counter(); rows = preview(spec, 1, settings).rows; warm.append(time.perf_counter() - t)
print(json.dumps({"rows": len(rows), "cold_ms": cold * 1000, "warm_ms": statistics.median(warm) * 1000}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("bench/out/result.json"))
    args = parser.parse_args()
    settings = Settings.from_env()
    url = services.libpq_url(services.database_url(settings))
    ensure_orders(url, args.orders)
    with psycopg.connect(url) as conn:
        today = conn.execute("SELECT current_date").fetchone()[0]  # type: ignore[index]
    since = today - timedelta(days=365)
    small_since = today - timedelta(days=39)
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    if settings.database_url:
        env["EXPORTER_DATABASE_URL"] = settings.database_url
    work = Path(tempfile.mkdtemp(prefix="export-bench-"))
    results: list[dict[str, object]] = []

    def record(name: str, seconds: float, rss: float, rows: int | None) -> None:
        results.append({"route": name, "seconds": round(seconds, 2), "rss_mb": round(rss),
                        "rows": rows})
        print(f"{name:<34} {seconds:7.2f}s  {rss:6.0f} MB", file=sys.stderr)

    psql = services.psql_path()
    base = None
    with psycopg.connect(url) as conn:
        big_rows = conn.execute(f"SELECT count(*) FROM ({pg_query(since, today)}) q").fetchone()[0]  # type: ignore[index]
    if psql:
        copy = f"\\copy ({pg_query(since, today)}) TO '{work / 'psql.csv'}' WITH (FORMAT csv, HEADER)"
        seconds, rss, _ = timed([psql, url, "-q", "-c", copy])
        base = seconds
        record("psql \\copy TO csv", seconds, rss, big_rows)
    else:
        print("psql not found: ratios are not computed", file=sys.stderr)
    seconds, rss, _ = timed([sys.executable, "-c", PANDAS, services.database_url(settings),
                             pg_query(since, today), str(work / "pandas.csv")])
    record("pandas read_sql(10k) + to_csv", seconds, rss, big_rows)
    for label, first in (("1y", since), ("100k", small_since)):
        for fmt in FORMATS:
            out = work / f"exporter-{label}.{fmt}"
            seconds, rss, stdout = timed([
                sys.executable, "-m", "exporter.cli", "export", "orders", "--org", "1",
                "--format", fmt, "-o", str(out), "--fields", ",".join(FIELDS),
                "--since", str(first), "--until", str(today), "--json"], env)
            record(f"exporter {fmt} ({label})", seconds, rss, json.loads(stdout)["rows"])
            out.unlink()
    out_file = work / "exporter-items.xlsx"
    seconds, rss, stdout = timed([
        sys.executable, "-m", "exporter.cli", "export", "orders", "--org", "1", "--format", "xlsx",
        "-o", str(out_file), "--fields", ",".join([*FIELDS[:-1], "line_items"]),
        "--since", str(since), "--until", str(today), "--json"], env)
    record("exporter xlsx + line items (1y)", seconds, rss, json.loads(stdout)["rows"])
    _, _, out = timed([sys.executable, "-c", PREVIEW, ",".join(FIELDS), str(since), str(today)], env)
    preview = json.loads(out)
    shutil.rmtree(work)
    report(results, base, preview, args.json)


def report(results: list[dict[str, object]], base: float | None, preview: dict[str, float],
           path: Path) -> None:
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}\n")
    print("| route | rows | seconds | x psql \\copy | peak RSS |")
    print("|---|---|---|---|---|")
    for r in results:
        ratio = f"{float(r['seconds']) / base:.2f}" if base else "-"  # type: ignore[arg-type]
        r["ratio"] = ratio
        print(f"| {r['route']} | {r['rows']:,} | {r['seconds']} | {ratio} | {r['rss_mb']} MB |")
    print(f"\nPreview of 20 rows: {preview['warm_ms']:.0f} ms warm (median of 5), "
          f"{preview['cold_ms']:.0f} ms cold (first call: extension load + attach)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results, "preview": preview,
                                "machine": platform.platform()}, indent=1))


if __name__ == "__main__":
    main()
