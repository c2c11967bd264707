"""What `exporter worker` hands to Dramatiq's command line: the actors, in a worker process
that never imports pandas.

DuckDB's parameter binding imports pandas whenever it is installed (Streamlit brings it)
only to recognise pandas values; the exports bind none. Marking it absent here saves each
worker process ~0.5 s on its first export and ~70 MB for good. Other processes that
import workers.actors (the app, tests) keep pandas.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]

from workers.actors import run_export_job, send_job  # noqa: E402

__all__ = ["run_export_job", "send_job"]
