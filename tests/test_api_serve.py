"""`exporter api --workers 2`: two real uvicorn worker processes on one port answer with the
same data, and stopping the command stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil

from exporter import tokens
from exporter.jobs import app_engine, prepare_database
from exporter.settings import Settings
from tests.api_helpers import BASE
from tests.conftest import REPO

CLI = [sys.executable, "-c", "import sys; from exporter.cli import run_main; "
       "sys.argv[0] = 'exporter'; run_main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_several_api_workers_serve_one_port_and_stop_together(settings: Settings,
                                                              database_url: str) -> None:
    prepare_database(settings)
    engine = app_engine(settings)
    org = 8001 + os.getpid() % 1000  # an org of its own: other tests may truncate tokens
    plain, _ = tokens.create(engine, org, "workers")
    engine.dispose()
    port = free_port()
    env = {**os.environ, "EXPORTER_HOME": str(settings.home)}
    proc = subprocess.Popen([*CLI, "api", "--port", str(port), "--workers", "2"], cwd=REPO,
                            env=env, start_new_session=True, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        answered = None
        while answered is None:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the API did not answer within 60 s"
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}{BASE}/jobs", timeout=2,
                                     headers={"Authorization": f"Bearer {plain}"})
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answered.status_code == 200
        assert answered.json() == {"total": 0, "limit": 50, "offset": 0, "jobs": []}
        while len(psutil.Process(proc.pid).children(recursive=True)) < 2:
            assert time.monotonic() < deadline, "fewer than two worker processes started"
            time.sleep(0.2)
        workers = psutil.Process(proc.pid).children(recursive=True)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal
        proc.wait(30)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
