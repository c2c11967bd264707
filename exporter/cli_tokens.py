"""`exporter` commands for the REST API: per-org API tokens, and `exporter api`.

The API package is imported only inside `exporter api`, so the core stays free of it.
"""

from __future__ import annotations

import json

import click
from sqlalchemy import Engine

from exporter import tokens as token_store
from exporter.cli import main, reports_errors
from exporter.jobs import app_engine, prepare_database
from exporter.settings import Settings


def _engine() -> Engine:
    settings = Settings.from_env()
    prepare_database(settings)
    return app_engine(settings)


def _when(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else "-"


@main.group()
def tokens() -> None:
    """API tokens of one org, for the REST API."""


@tokens.command(name="create")
@click.option("--org", type=int, required=True)
@click.option("--name", required=True, help="What the token is for (shown in lists)")
@reports_errors
def create_token(org: int, name: str) -> None:
    """Make a token; it is printed once, on stdout, and cannot be shown again."""
    plain, row = token_store.create(_engine(), org, name)
    click.echo(f"token {row.id} ({row.prefix}...) for org {org}; store it now, it is not "
               "shown again:", err=True)
    click.echo(plain)


@tokens.command(name="list")
@click.option("--org", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def list_tokens(org: int, as_json: bool) -> None:
    """The org's tokens, revoked ones too."""
    rows = token_store.list_tokens(_engine(), org)
    if as_json:
        click.echo(json.dumps([{"id": str(t.id), "name": t.name, "prefix": t.prefix,
                                "created_at": _when(t.created_at),
                                "last_used_at": t.last_used_at and _when(t.last_used_at),
                                "revoked_at": t.revoked_at and _when(t.revoked_at)}
                               for t in rows]))
        return
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
        used = f"used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id}  {t.prefix}...  {state:<18} {used:<22} {t.name}")


@tokens.command(name="revoke")
@click.argument("token_id")
@click.option("--org", type=int, required=True)
@reports_errors
def revoke_token(token_id: str, org: int) -> None:
    """Stop a token from working, at once."""
    row = token_store.revoke(_engine(), org, token_id)
    click.echo(f"revoked {row.id} ({row.prefix}...)", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8502, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="API processes sharing the port (about one per core under load)")
@reports_errors
def api(host: str, port: int, workers: int) -> None:
    """Serve the REST API (docs at /api/docs) until Ctrl-C."""
    import uvicorn

    # By import string, so that each worker process builds its own app (and pool); the
    # migration's advisory lock lets them start together.
    uvicorn.run("api.main:app", host=host, port=port, workers=workers)
