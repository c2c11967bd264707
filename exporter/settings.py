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
