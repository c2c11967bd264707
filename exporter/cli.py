"""The `exporter` command: catalog, preview, estimate, export, demo seed, services.

Exit codes: 0 success, 2 invalid input (message on stderr), 1 any other failure.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from exporter import services
from exporter.catalog import load_catalog
from exporter.errors import ExportError
from exporter.settings import Settings
from exporter.spec import ExportSpec


def _settings() -> Settings:
    return Settings.from_env()


def reports_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show ExportErrors to people with their exit code; anything else is a bug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ExportError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def spec_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that describe an export spec, shared by preview, estimate and export."""
    options = [
        click.argument("data_type"),
        click.option("--org", type=int, required=True, help="Organisation whose rows to export"),
        click.option("--fields", default="", help="Comma-separated field names (default: the catalog's)"),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (custom range)"),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (custom range)"),
        click.option("--range", "date_range", default=None,
                     type=click.Choice(["last_30_days", "last_90_days", "all"]),
                     help="Preset date range (default last_30_days unless --since/--until)"),
        click.option("--status", "statuses", multiple=True, help="Only these statuses (repeat)"),
        click.option("--active-only", is_flag=True, help="Only active records"),
        click.option("--exclude-archived", is_flag=True, help="Leave archived records out"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_spec(data_type: str, fields: str, since: Any, until: Any, date_range: str | None,
               statuses: tuple[str, ...], active_only: bool, exclude_archived: bool,
               fmt: str = "csv", options: dict[str, Any] | None = None,
               settings: Settings | None = None) -> ExportSpec:
    chosen = tuple(f.strip() for f in fields.split(",") if f.strip())
    if not chosen:
        dtype = load_catalog((settings or _settings()).catalog or None).get(data_type)
        chosen = tuple(dtype.default_fields()) if dtype else ()
    custom = since is not None or until is not None
    return ExportSpec(
        data_type=data_type, fields=chosen, format=fmt,
        date_range="custom" if custom else (date_range or "last_30_days"),
        date_from=since.date() if since else (date(1900, 1, 1) if custom else None),
        date_to=until.date() if until else (date.today() if custom else None),
        statuses=tuple(statuses), only_active=active_only, exclude_archived=exclude_archived,
        options=options or {},
    )


@click.group()
def main() -> None:
    """Export ERP data from Postgres as CSV, XLSX, JSON or XML."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON")
@reports_errors
def catalog(as_json: bool) -> None:
    """List the data types and their fields."""
    cat = load_catalog(_settings().catalog or None)
    if as_json:
        out = {n: {"label": t.label, "statuses": list(t.statuses),
                   "fields": [{"name": f.name, "label": f.label, "type": f.type,
                               "category": f.category, "default": f.default} for f in t.fields]
                   + [{"name": c.name, "label": c.label, "type": "list", "category": c.category,
                       "default": c.default} for c in t.children.values()]}
               for n, t in cat.types.items()}
        click.echo(json.dumps(out, indent=2))
        return
    for name, t in cat.types.items():
        click.echo(f"{name}  ({t.label})  statuses: {', '.join(t.statuses) or '-'}")
        for f in t.fields:
            mark = "*" if f.default else " "
            click.echo(f"  {mark} {f.name:<24} {f.type:<10} {f.label}")
        for c in t.children.values():
            mark = "*" if c.default else " "
            click.echo(f"  {mark} {c.name:<24} {'list':<10} {c.label}")


@main.command()
@spec_options
@click.option("--limit", default=20, show_default=True, help="Rows to show")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON")
@reports_errors
def preview(data_type: str, org: int, limit: int, as_json: bool, **filters: Any) -> None:
    """Show the first rows an export would write."""
    from exporter.source import skip_pandas  # (duckdb only for these commands)

    skip_pandas()
    from exporter.preview import preview as run_preview
    from exporter.preview import to_plain

    settings = _settings()
    spec = build_spec(data_type, settings=settings, **filters)
    started = time.perf_counter()
    result = run_preview(spec, org, settings, limit)
    ms = (time.perf_counter() - started) * 1000
    if as_json:
        rows = [dict(zip(result.names, map(to_plain, r), strict=True)) for r in result.rows]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        click.echo(" | ".join(result.labels))
        for row in result.rows:
            click.echo(" | ".join(repr(to_plain(v)) for v in row))
    click.echo(f"{len(result.rows)} rows in {ms:.0f} ms", err=True)


@main.command()
@spec_options
@reports_errors
def estimate(data_type: str, org: int, **filters: Any) -> None:
    """Estimate rows, file size and time per format."""
    from exporter.source import skip_pandas  # (duckdb only for these commands)

    skip_pandas()
    from exporter.preview import estimate as run_estimate

    settings = _settings()
    est = run_estimate(build_spec(data_type, settings=settings, **filters), org, settings)
    kind = "exact" if est.exact else "planner estimate"
    click.echo(f"rows: {est.rows:,} ({kind})")
    for name, size in est.bytes.items():
        click.echo(f"  {name:<5} ~{size / 1e6:,.1f} MB  ~{est.seconds[name]:.0f}s")
        for warning in est.warnings[name]:
            click.echo(f"        warning: {warning}")


def _progress(done: int, total: int) -> None:
    pct = 100 * done / total if total else 100
    bar = "#" * int(pct / 5)
    click.echo(f"\r  [{bar:<20}] {pct:5.1f}% ({done:,}/{total:,})", err=True, nl=False)


@main.command()
@spec_options
@click.option("--format", "fmt", default="csv", show_default=True, help="csv, xlsx, json or xml")
@click.option("-o", "--output", required=True, help="File to write",
              type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--delimiter", default=None, help="CSV delimiter: , ; | or tab")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM (for Excel)")
@click.option("--technical-names", is_flag=True, help="CSV: header of field names, not labels")
@click.option("--no-formula-guard", is_flag=True, help="CSV: do not prefix =,+,-,@ cells with '")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@reports_errors
def export(data_type: str, org: int, fmt: str, output: Path, delimiter: str | None, bom: bool,
           technical_names: bool, no_formula_guard: bool, as_json: bool, **filters: Any) -> None:
    """Export one data type of one org to a file."""
    from exporter.source import skip_pandas  # (duckdb only for these commands)

    skip_pandas()
    from exporter.preview import record_rate
    from exporter.run import run_export

    options: dict[str, Any] = {}
    if delimiter is not None:
        options["delimiter"] = "\t" if delimiter in ("tab", "\\t") else delimiter
    if bom:
        options["bom"] = True
    if technical_names:
        options["header"] = "names"
    if no_formula_guard:
        options["formula_guard"] = False
    if not output.parent.is_dir():
        raise click.BadParameter(f"folder {output.parent} does not exist", param_hint="-o")
    settings = _settings()
    spec = build_spec(data_type, fmt=fmt, options=options, settings=settings, **filters)
    result = run_export(spec, org, output, on_progress=_progress, settings=settings)
    click.echo("", err=True)
    record_rate(settings, fmt, result.rows, result.seconds)
    if as_json:
        click.echo(json.dumps({"rows": result.rows, "bytes": result.bytes, "sha256": result.sha256,
                               "seconds": result.seconds, "path": str(Path(result.path).resolve())}))
    else:
        click.echo(f"{result.rows:,} rows, {result.bytes:,} bytes in {result.seconds:.2f}s -> {output}",
                   err=True)


@main.group()
def demo() -> None:
    """Demo ERP data."""


@demo.command()
@click.option("--orders", default=10_000, show_default=True, help="Orders to generate")
@click.option("--orgs", default=3, show_default=True, help="Organisations to spread them over")
@reports_errors
def seed(orders: int, orgs: int) -> None:
    """Fill the demo ERP schema (replacing what is there)."""
    import psycopg

    from exporter import demo as demo_data

    url = services.libpq_url(services.database_url(_settings()))
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        counts = demo_data.seed(conn, orders=orders, orgs=orgs)
    for table, n in counts.items():
        click.echo(f"  {table:<24} {n:>10,}")
    click.echo(f"seeded in {time.perf_counter() - started:.1f}s", err=True)


@main.group(name="services")
def services_group() -> None:
    """Embedded Postgres and Redis (used when EXPORTER_*_URL are unset)."""


@services_group.command()
@reports_errors
def start() -> None:
    """Start them in the background; prints shell lines: eval "$(exporter services start)"."""
    for key, value in services.start(_settings()).items():
        click.echo(f"{key}='{value}'; export {key}")


@services_group.command()
@reports_errors
def stop() -> None:
    """Stop the embedded servers."""
    stopped = services.stop(_settings())
    click.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}", err=True)


def run_main() -> None:
    """Entry point: the core commands plus the job, token and run commands, whose modules
    (and SQLAlchemy, ~0.3 s of imports) load only when the command is not a core one."""
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command not in main.commands:
        import exporter.cli_jobs  # noqa: F401  (registers its commands on main)
        import exporter.cli_run  # noqa: F401
        import exporter.cli_tokens  # noqa: F401

    main()


if __name__ == "__main__":
    # Under `python -m exporter.cli` this file runs as `__main__`, a second copy of the
    # module: the other command modules register on `exporter.cli.main`, so run that one.
    from exporter.cli import run_main as _run_main

    _run_main()
