"""Real `exporter worker` processes for the job tests, and a sampler of the jobs table.

`Workers` keeps one configuration of workers alive at a time: every worker consumes the
same Redis queue, so two configurations running at once would steal each other's jobs.
A test asks for the configuration it needs; a matching live one is reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

from exporter.jobs import ExportService
from exporter.models import FINISHED, ExportJob
from exporter.settings import Settings

REPO = Path(__file__).resolve().parent.parent
READY = "is ready for action"  # what each Dramatiq worker process logs once consuming
# 10,001 rows read in ~100 id windows take ~3 s: slow enough to watch, cancel or kill.
SLOW = {"EXPORTER_WINDOW_ROWS": "30", "EXPORTER_CHUNK_ROWS": "30"}
# Settings a worker may inherit from the test process (connections and secrets only).
PASSED = ("database_url", "redis_url", "source_url", "app_database_url", "app_db_password",
          "secret_key")


def worker_env(settings: Settings, catalog: Path, overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTER_")}
    env |= {"EXPORTER_HOME": str(Path(settings.home).resolve()), "EXPORTER_CATALOG": str(catalog)}
    env |= {f"EXPORTER_{name.upper()}": str(getattr(settings, name)) for name in PASSED
            if getattr(settings, name)}
    return env | overrides


class Workers:
    """`exporter worker` subprocesses of one configuration, each in its own process group."""

    def __init__(self, settings: Settings, catalog: Path, logs: Path) -> None:
        self.settings, self.catalog, self.logs = settings, catalog, logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[IO[bytes]] = []
        self.config: tuple[object, ...] = ()

    def ensure(self, count: int = 1, processes: int = 1, threads: int = 2,
               **env: str) -> list[subprocess.Popen[bytes]]:
        """`count` workers with these EXPORTER_* overrides, all consuming, reused if alive."""
        config = (count, processes, threads, sorted(env.items()))
        if config == self.config and all(p.poll() is None for p in self.procs):
            return self.procs
        self.stop()
        self.config = config
        for n in range(count):
            log = self.logs / f"worker-{time.monotonic_ns()}-{n}.log"
            out = log.open("wb")
            cmd = [sys.executable, "-m", "exporter.cli", "worker", "--processes", str(processes),
                   "--threads", str(threads)]
            self.procs.append(subprocess.Popen(
                cmd, cwd=REPO, env=worker_env(self.settings, self.catalog, env),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
            self.files.append(out)
        deadline = time.monotonic() + 60
        while not all(self._ready(n, processes) for n in range(count)):
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"workers did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        return self.procs

    def _ready(self, n: int, processes: int) -> bool:
        return Path(self.files[n].name).read_text(errors="replace").count(READY) >= processes

    def dramatiq_pids(self, proc: subprocess.Popen[bytes]) -> set[int]:
        """The Dramatiq processes (master and worker processes) under one `exporter worker`."""
        try:
            return {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def owner(self, pid: int) -> subprocess.Popen[bytes]:
        """The `exporter worker` whose Dramatiq process has this pid."""
        return next(p for p in self.procs if pid in self.dramatiq_pids(p))

    def stop(self) -> None:
        """SIGTERM each process group, then SIGKILL whatever is left of it."""
        for proc in self.procs:
            with_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            with_group(proc, signal.SIGKILL)  # stragglers, e.g. a worker finishing a job
            proc.wait()
        for out in self.files:
            out.close()
        self.procs, self.files, self.config = [], [], ()

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(Path(f.name).read_text(errors="replace")[-chars:] for f in self.files)


def with_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def worker_pid(job: ExportJob) -> int:
    """The pid in a job's worker name (`host:pid:attempt`)."""
    assert job.worker, f"job {job.id} has no worker"
    return int(job.worker.split(":")[1])


@dataclass(frozen=True)
class Sample:
    at: float
    jobs: dict[uuid.UUID, ExportJob]
    positions: dict[uuid.UUID, int]

    def running(self, ids: Iterable[uuid.UUID]) -> int:
        return sum(self.jobs[i].status == "running" for i in ids if i in self.jobs)


def sample(svc: ExportService, orgs: Iterable[int]) -> Sample:
    jobs: dict[uuid.UUID, ExportJob] = {}
    positions: dict[uuid.UUID, int] = {}
    for org in orgs:
        found, _, places = svc.jobs(org, include_hidden=True, limit=100)
        jobs |= {j.id: j for j in found}
        positions |= places
    return Sample(time.monotonic(), jobs, positions)


def watch(svc: ExportService, orgs: Iterable[int], done: Callable[[Sample], bool],
          every: float = 0.05, timeout: float = 60) -> list[Sample]:
    """Samples of the jobs of `orgs` every `every` seconds until done(sample) holds."""
    orgs, samples = list(orgs), []
    deadline = time.monotonic() + timeout
    while True:
        samples.append(sample(svc, orgs))
        if done(samples[-1]):
            return samples
        if time.monotonic() > deadline:
            states = {str(i): (j.status, j.error_code) for i, j in samples[-1].jobs.items()}
            raise AssertionError(f"jobs did not settle in {timeout}s: {states}")
        time.sleep(every)


def all_final(ids: Iterable[uuid.UUID]) -> Callable[[Sample], bool]:
    wanted = list(ids)
    return lambda s: all(i in s.jobs and s.jobs[i].status in FINISHED for i in wanted)


def wait_job(svc: ExportService, org: int, job_id: uuid.UUID | str,
             until: Callable[[ExportJob], bool] = lambda j: j.status in FINISHED,
             timeout: float = 60) -> ExportJob:
    deadline = time.monotonic() + timeout
    while True:
        job = svc.job(org, str(job_id))
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck: {job.status} {job.error_code} "
                                 f"{job.error_message} attempts={job.attempts}")
        time.sleep(0.05)


def files_of(folder: Path, job_id: uuid.UUID | str) -> list[str]:
    """Names under folder (recursively) that mention the job: temp or partial files."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if str(job_id) in p.name)
