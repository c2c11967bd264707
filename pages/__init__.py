"""Streamlit pages of Data Export (listed explicitly in app.py) and their helpers."""
