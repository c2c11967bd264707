"""Embedded Postgres and Redis: start, reuse, stop, restart after a crash.

These tests use their own temporary home, so they never stop the shared test servers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from exporter import services
from exporter.settings import Settings

Require = Callable[[Callable[[], Any]], Any]


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, require_service: Require
) -> Iterator[Settings]:
    settings = Settings(home=tmp_path_factory.mktemp("services"))
    require_service(lambda: services.start(settings))
    yield settings
    services.stop(settings)


def select_one(url: str) -> tuple[int, str]:
    with psycopg.connect(services.libpq_url(url), connect_timeout=5) as conn:
        row = conn.execute("select 1, current_database()").fetchone()
    assert row is not None
    return row[0], row[1]


def test_starting_twice_returns_the_same_urls(embedded: Settings) -> None:
    assert services.start(embedded) == services.start(embedded)


def test_postgres_answers_select_one_in_the_exporter_database(embedded: Settings) -> None:
    url = services.database_url(embedded)
    assert url.startswith("postgresql+psycopg://")
    assert select_one(url) == (1, "exporter")


def test_libpq_dsn_reaches_the_same_server(embedded: Settings) -> None:
    dsn = services.libpq_dsn(services.database_url(embedded), connect_timeout=5)
    assert "host=127.0.0.1" in dsn and "dbname=exporter" in dsn and "connect_timeout=5" in dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_redis_answers_ping_over_a_unix_socket(embedded: Settings) -> None:
    url = services.redis_url(embedded)
    assert url == f"unix://{embedded.home}/redis/redis.sock"
    assert redis.Redis.from_url(url).ping()


def test_stop_then_start_works_again(embedded: Settings) -> None:
    before = services.start(embedded)
    assert sorted(services.stop(embedded)) == ["postgres", "redis"]
    assert services.stop(embedded) == []
    assert services.start(embedded) == before  # same port, same password
    assert select_one(before["EXPORTER_DATABASE_URL"]) == (1, "exporter")


def test_servers_outlive_the_process_that_started_them(embedded: Settings) -> None:
    services.stop(embedded)
    code = "import sys; from pathlib import Path; from exporter import services, settings; "
    code += "services.start(settings.Settings(home=Path(sys.argv[1])))"
    subprocess.run([sys.executable, "-c", code, str(embedded.home)], check=True, timeout=60)
    urls = services.start(embedded)  # reuses: nothing is started here
    assert select_one(urls["EXPORTER_DATABASE_URL"]) == (1, "exporter")
    assert redis.Redis.from_url(urls["EXPORTER_REDIS_URL"]).ping()


def test_stale_pid_files_do_not_block_a_restart(embedded: Settings) -> None:
    services.stop(embedded)
    # after a crash or a reboot the pid may belong to any live process, e.g. this one
    stale = f"{os.getpid()}\n{embedded.home / 'pg'}\n0\n5432\n\n127.0.0.1\n0 0\nready\n"
    (embedded.home / "pg" / "postmaster.pid").write_text(stale)
    (embedded.home / "redis" / "redis.pid").write_text(f"{os.getpid()}\n")
    urls = services.start(embedded)
    assert select_one(urls["EXPORTER_DATABASE_URL"]) == (1, "exporter")
    assert redis.Redis.from_url(urls["EXPORTER_REDIS_URL"]).ping()


def test_concurrent_first_starts_share_one_server(
    tmp_path_factory: pytest.TempPathFactory, require_service: Require
) -> None:
    settings = Settings(home=tmp_path_factory.mktemp("concurrent"))
    try:
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(services.start, settings) for _ in range(4)]
            results = [require_service(future.result) for future in futures]
        assert all(result == results[0] for result in results)
    finally:
        services.stop(settings)


def test_external_urls_are_returned_untouched(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://app:secret@db.example:5433/erp",
        redis_url="redis://cache.example:6379/2",
        home=tmp_path / "home",
    )
    assert services.start(settings) == {
        "EXPORTER_DATABASE_URL": "postgresql+psycopg://app:secret@db.example:5433/erp",
        "EXPORTER_REDIS_URL": "redis://cache.example:6379/2",
    }
    assert not settings.home.exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://u:p@h:1/d", "postgresql://u:p@h:1/d"),
        ("postgres+asyncpg://u@h/d", "postgres://u@h/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
    ],
)
def test_libpq_url_strips_only_the_driver(url: str, expected: str) -> None:
    assert services.libpq_url(url) == expected


def test_libpq_dsn_puts_a_socket_folder_in_host() -> None:
    dsn = services.libpq_dsn("postgresql+psycopg://postgres@/exporter?host=/run/pg%20sock")
    assert dsn == "user=postgres dbname=exporter host='/run/pg sock'"


def test_psql_is_available_for_the_benchmark() -> None:
    psql = services.psql_path()
    assert psql is not None and Path(psql).exists()


def test_shared_fixtures_reach_real_servers(database_url: str, redis_url: str) -> None:
    assert select_one(database_url)[0] == 1
    assert redis.Redis.from_url(redis_url).ping()
