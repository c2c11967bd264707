"""One frozen Settings object built from EXPORTER_* environment variables.

Nothing else in the project reads os.environ; pass Settings explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

# name -> one line of help. Defaults are the dataclass's; the README's settings table
# (name, default, help) is checked against both.
HELP: dict[str, str] = {
    "EXPORTER_DATABASE_URL": "Postgres URL (app tables and ERP source); unset = embedded server",
    "EXPORTER_SOURCE_URL": "Postgres URL of the ERP source; unset = EXPORTER_DATABASE_URL",
    "EXPORTER_REDIS_URL": "Redis URL for the job broker; unset = embedded server",
    "EXPORTER_HOME": "Folder for embedded servers, temp files and exports",
    "EXPORTER_CATALOG": "Path of a catalog TOML replacing the shipped one",
    "EXPORTER_TIMEZONE": "Time zone in which timestamps are written and dates filtered",
    "EXPORTER_CHUNK_ROWS": "Rows per chunk streamed from the source",
    "EXPORTER_WINDOW_ROWS": "Rows per id window read and sorted at a time",
    "EXPORTER_PROGRESS_SECONDS": "Longest gap between two progress reports",
    "EXPORTER_THREADS": "DuckDB threads per export",
    "EXPORTER_MEMORY_LIMIT": "DuckDB memory limit per export",
    "EXPORTER_APP_DATABASE_URL": "Postgres URL of app and workers (RLS-bound role); unset: export_app",
    "EXPORTER_APP_DB_PASSWORD": "Password given to the export_app role when it is created",
    "EXPORTER_MAX_RUNNING": "Running export jobs per org; more wait in FIFO order",
    "EXPORTER_JOB_TIME_LIMIT": "Seconds a job may run before it fails with a timeout",
    "EXPORTER_MAX_ATTEMPTS": "Attempts per job for transient failures (lost DB, dead worker)",
    "EXPORTER_RETRY_DELAY": "Seconds before the first automatic retry; doubles each attempt",
    "EXPORTER_STALE_SECONDS": "Heartbeat age after which a running job's worker is presumed dead",
    "EXPORTER_DEDUPE_SECONDS": "The same export submitted again within this window is one job",
    "EXPORTER_LINK_DAYS": "Days a finished export can be downloaded",
    "EXPORTER_KEEP_DAYS": "Days finished jobs stay in history",
    "EXPORTER_API_URL": "Base URL of the REST API, for download links in the app",
    "EXPORTER_API_CACHE_SECONDS": "Seconds an org's job list is reused for API pollers; 0 = off",
    "EXPORTER_API_POOL": "Database connections per API process for status reads",
    "EXPORTER_SUPPORT_URL": "Contact Support link on the app's error state",
    "EXPORTER_ORG_CLAIM": "OIDC claim holding the user's org when login is configured",
    "EXPORTER_STORAGE": "Where finished exports are kept: local or s3",
    "EXPORTER_STORAGE_ROOT": "Folder for local storage; unset = <EXPORTER_HOME>/exports",
    "EXPORTER_S3_BUCKET": "S3 bucket for exports (required when EXPORTER_STORAGE=s3)",
    "EXPORTER_S3_PREFIX": "Key prefix inside the S3 bucket",
    "EXPORTER_S3_ENDPOINT": "S3 endpoint URL for S3-compatible stores; unset = AWS",
    "EXPORTER_S3_REGION": "S3 region; unset = boto3's default",
    "EXPORTER_SECRET_KEY": "Secret signing download links; unset = one generated under EXPORTER_HOME",
}


@dataclass(frozen=True)
class Settings:
    """Every setting of the exporter, with its default."""

    database_url: str = ""
    source_url: str = ""
    redis_url: str = ""
    home: Path = Path(".exporter")
    catalog: str = ""
    timezone: str = "UTC"
    chunk_rows: int = 10_000
    window_rows: int = 100_000
    progress_seconds: float = 1.0
    threads: int = 2
    memory_limit: str = "256MB"
    app_database_url: str = ""
    app_db_password: str = "export_app"
    max_running: int = 5
    job_time_limit: float = 300.0
    max_attempts: int = 3
    retry_delay: float = 5.0
    stale_seconds: float = 60.0
    dedupe_seconds: float = 5.0
    link_days: int = 7
    keep_days: int = 90
    api_url: str = "http://127.0.0.1:8502"
    api_cache_seconds: float = 0.5
    api_pool: int = 10
    support_url: str = "mailto:support@example.com"
    org_claim: str = "org_id"
    storage: str = "local"
    storage_root: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    secret_key: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from EXPORTER_* variables; an unset one keeps its default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None:
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]


def env_name(field_name: str) -> str:
    return "EXPORTER_" + field_name.upper()


def shown(value: object) -> str:
    """A default as the README shows it: 300.0 as 300, Path(".exporter") as .exporter."""
    return format(value, "g") if isinstance(value, float) else str(value)


def defaults() -> dict[str, str]:
    """Every setting's environment name and its default, as shown."""
    return {env_name(f.name): shown(f.default) for f in fields(Settings)}
