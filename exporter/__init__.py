"""Data Export core: catalog, specs, queries, format writers and the export loop.

This package never imports streamlit, dramatiq or fastapi; transports sit beside it.
"""
