"""The REST API for integrations (FastAPI): templates, jobs and downloads of the org
whose API token a request carries. It calls exporter.jobs.ExportService only; the core
never imports this package."""
