"""The periodic upkeep a worker host runs beside its Dramatiq processes: reap jobs of
dead workers, (re)send jobs that may start, and delete expired files and old jobs.

Several hosts may sweep at once: claiming a job is the real guard, so a repeated
message only finds the job taken and does nothing.
"""

from __future__ import annotations

import logging
import threading
import time

from exporter.jobs import ExportService

log = logging.getLogger("exporter.sweeper")


def sweep_forever(svc: ExportService, stop: threading.Event, every: float = 2.0,
                  cleanup_every: float = 600.0) -> None:
    last_cleanup = 0.0
    while not stop.is_set():
        try:
            done = svc.sweep()
            if done["reaped"]:
                log.warning("reaped %d job(s) of workers that stopped responding", done["reaped"])
            if time.monotonic() - last_cleanup >= cleanup_every:
                cleaned = svc.cleanup()
                last_cleanup = time.monotonic()
                if cleaned["files"] or cleaned["jobs"]:
                    log.info("cleanup: %(files)d files, %(jobs)d jobs", cleaned)
        except Exception:  # keep sweeping: a database restart must not end upkeep
            log.exception("sweep failed; trying again")
        stop.wait(every)
