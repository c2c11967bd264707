"""Data Export: the router. Every page is listed here (st.navigation turns off pages/ discovery)."""

import streamlit as st

from pages import common

st.set_page_config(page_title="Data Export", page_icon=":material/upload:", layout="wide")
common.touch_targets()

PAGES = [
    st.Page("pages/data_export.py", title="Data Export", icon=":material/upload:", default=True),
    st.Page("pages/export_history.py", title="Export History", icon=":material/history:"),
    st.Page("pages/export_guide.py", title="Export Guide", icon=":material/menu_book:"),
]

st.navigation(PAGES).run()
