"""Dramatiq transport: broker setup and thin actors that call exporter."""
