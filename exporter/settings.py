"""One frozen Settings object built from EXPORTER_* environment variables.

Nothing else in the project reads os.environ; pass Settings explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

# name -> (default, help). The README's settings table is checked against this.
HELP: dict[str, tuple[str, str]] = {
    "EXPORTER_DATABASE_URL": ("", "Postgres URL (app tables and ERP source); unset = embedded server"),
    "EXPORTER_SOURCE_URL": ("", "Postgres URL of the ERP source; unset = EXPORTER_DATABASE_URL"),
    "EXPORTER_REDIS_URL": ("", "Redis URL for the job broker; unset = embedded server"),
    "EXPORTER_HOME": (".exporter", "Folder for embedded servers, temp files and exports"),
    "EXPORTER_CATALOG": ("", "Path of a catalog TOML replacing the shipped one"),
    "EXPORTER_TIMEZONE": ("UTC", "Time zone in which timestamps are written and dates filtered"),
    "EXPORTER_CHUNK_ROWS": ("10000", "Rows per chunk streamed from the source"),
    "EXPORTER_WINDOW_ROWS": ("100000", "Rows per id window read and sorted at a time"),
    "EXPORTER_PROGRESS_SECONDS": ("1.0", "Longest gap between two progress reports"),
    "EXPORTER_THREADS": ("2", "DuckDB threads per export"),
    "EXPORTER_MEMORY_LIMIT": ("256MB", "DuckDB memory limit per export"),
    "EXPORTER_APP_DATABASE_URL": ("", "Postgres URL of app and workers (RLS-bound role); unset: export_app"),
    "EXPORTER_APP_DB_PASSWORD": ("export_app", "Password given to the export_app role when it is created"),
    "EXPORTER_MAX_RUNNING": ("5", "Running export jobs per org; more wait in FIFO order"),
    "EXPORTER_JOB_TIME_LIMIT": ("300", "Seconds a job may run before it fails with a timeout"),
    "EXPORTER_MAX_ATTEMPTS": ("3", "Attempts per job for transient failures (lost DB, dead worker)"),
    "EXPORTER_RETRY_DELAY": ("5", "Seconds before the first automatic retry; doubles each attempt"),
    "EXPORTER_STALE_SECONDS": ("60", "Heartbeat age after which a running job's worker is presumed dead"),
    "EXPORTER_DEDUPE_SECONDS": ("5", "The same export submitted again within this window is one job"),
    "EXPORTER_LINK_DAYS": ("7", "Days a finished export can be downloaded"),
    "EXPORTER_KEEP_DAYS": ("90", "Days finished jobs stay in history"),
    "EXPORTER_API_URL": ("http://127.0.0.1:8502", "Base URL of the REST API, for download links in the app"),
    "EXPORTER_API_CACHE_SECONDS": ("0.5", "Seconds an org's job list is reused for API pollers; 0 = off"),
    "EXPORTER_API_POOL": ("10", "Database connections per API process for status reads"),
    "EXPORTER_SUPPORT_URL": ("mailto:support@example.com", "Contact Support link on the app's error state"),
    "EXPORTER_ORG_CLAIM": ("org_id", "OIDC claim holding the user's org when login is configured"),
    "EXPORTER_STORAGE": ("local", "Where finished exports are kept: local or s3"),
    "EXPORTER_STORAGE_ROOT": ("", "Folder for local storage; unset = <EXPORTER_HOME>/exports"),
    "EXPORTER_S3_BUCKET": ("", "S3 bucket for exports (required when EXPORTER_STORAGE=s3)"),
    "EXPORTER_S3_PREFIX": ("", "Key prefix inside the S3 bucket"),
    "EXPORTER_S3_ENDPOINT": ("", "S3 endpoint URL for S3-compatible stores; unset = AWS"),
    "EXPORTER_S3_REGION": ("", "S3 region; unset = boto3's default"),
    "EXPORTER_SECRET_KEY": ("", "Secret signing download links; unset = one generated under EXPORTER_HOME"),
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
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            key = "EXPORTER_" + f.name.upper()
            default, _ = HELP[key]
            raw = env.get(key, default)
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]
