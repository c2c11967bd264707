"""Session fixtures: settings, and real Postgres and Redis (embedded unless configured).

Without EXPORTER_HOME the embedded servers live under `<repo>/.exporter-test`, never in
the developer's `.exporter`. They are not stopped at session end: the next run reuses
them in ~10 ms instead of ~1 s, and a CLI can share them. Stop them with
`exporter.services.stop(settings)` (or the CLI's `services stop`).

A service that cannot start skips the tests that need it, or fails them when CI=true.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine

from exporter import db, services
from exporter.settings import Settings

REPO = Path(__file__).resolve().parent.parent
# Helper modules whose asserts should report their values as the tests' own do.
pytest.register_assert_rewrite("tests.api_helpers")
T = TypeVar("T")


def _require(start: Callable[[], T]) -> T:
    try:
        return start()
    except (services.ServiceError, OSError, subprocess.SubprocessError) as exc:
        message = f"service unavailable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def require_service() -> Callable[[Callable[[], T]], T]:
    """Call a start function; skip the test (fail under CI=true) if it cannot start."""
    return _require


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = Settings.from_env()
    if settings.home == Settings().home:  # default home: keep tests out of the dev servers
        settings = dataclasses.replace(settings, home=REPO / ".exporter-test")
    return settings


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    return _require(lambda: services.database_url(settings))


@pytest.fixture(scope="module")
def admin_engine(database_url: str) -> Iterator[Engine]:
    """An engine as the admin (superuser) role: for setting up and cleaning rows."""
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url(settings: Settings) -> str:
    return _require(lambda: services.redis_url(settings))


from tests.test_run import rt_settings  # noqa: E402,F401  (shared fixture)
