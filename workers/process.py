"""What `exporter worker` hands to Dramatiq's command line: the actors, in a worker process
that never imports pandas (exporter.source.skip_pandas says why). Other processes that
import workers.actors (the app, tests) keep pandas.
"""

from __future__ import annotations

from exporter import source

source.skip_pandas()

from workers.actors import run_export_job, send_job  # noqa: E402

__all__ = ["run_export_job", "send_job"]
