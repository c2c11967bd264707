"""Export Guide: which format suits what, their limits, templates, downloads and the
safety rules applied to the files. Limits come from the writer registry and settings."""

from __future__ import annotations

import streamlit as st

from exporter.formats import WRITERS
from exporter.spec import MAX_FIELDS, MAX_RANGE_DAYS
from pages import common

USES = {  # what each format is for, by format name; formats missing here get no line
    "csv": "Simple imports, viewing in Excel or any spreadsheet, loading into databases.",
    "xlsx": "People working in Excel: typed cells (numbers, dates), filters, pivot tables.",
    "json": "API integrations and scripts: one structured record per row, line items nested.",
    "xml": "Enterprise systems (EDI, ERP imports) that expect an XML document.",
}


def render_formats() -> None:
    st.header("Formats", anchor=False)
    rows = []
    for name, writer in WRITERS.items():
        spec = writer.SPEC
        hard = f"{spec.hard_max_rows:,} (refused above)" if spec.hard_max_rows else "none"
        rows.append({"Format": spec.label, "Best for": USES.get(name, ""),
                     "Advised max size": f"{spec.max_bytes // 2**20} MB",
                     "Advised max rows": f"~{spec.max_rows:,}", "Hard row limit": hard,
                     "File": f".{spec.extension}"})
    st.dataframe(rows, hide_index=True)
    st.markdown(
        "Above an advised limit the wizard warns you, and the export still contains every "
        "row: nothing is cut silently. Only a hard limit refuses an export, before it runs.")


def render_rules(settings_link_days: int, keep_days: int) -> None:
    xlsx = WRITERS.get("xlsx")
    sheet = f"{xlsx.SPEC.hard_max_rows + 1:,}" if xlsx and xlsx.SPEC.hard_max_rows else "1,048,576"
    st.header("Excel's row limit", anchor=False)
    st.markdown(
        f"An Excel sheet holds at most {sheet} rows, one of which is the header. The wizard "
        "estimates the rows before you start and says so if an XLSX export would not fit; "
        "narrow the filters or choose CSV. XLSX files are also slower to write than CSV.")
    st.header("CSV formula guard", anchor=False)
    st.markdown(
        "A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a "
        "leading apostrophe, so spreadsheets show it as text instead of running it as a "
        "formula (CSV injection). Numbers, dates and timestamps are never changed, so -5 "
        "stays a number. Files are UTF-8 with CRLF line ends, quoted as RFC 4180 asks.")
    st.header("Templates", anchor=False)
    st.markdown(
        "A template saves a data type, its filters, the chosen fields and the format under a "
        "name unique in your organisation. **Export Now** queues it at once with the same "
        "settings; **Edit** opens the wizard filled in; the date range is relative "
        "(e.g. *Last 30 days* always means the 30 days up to the day it runs). "
        f"A template holds 1 to {MAX_FIELDS} fields; a custom range spans at most "
        f"{MAX_RANGE_DAYS} days. Save one from the wizard's last step (**Save as template**).")
    st.header("Jobs and downloads", anchor=False)
    st.markdown(
        "Exports run in the background: the queue shows progress, rows done, time left and "
        "your place in line (up to 5 exports of an organisation run at once). Finished files "
        f"can be downloaded for **{settings_link_days} days**; after that the link stops "
        f"working and the file is deleted. The history keeps jobs for {keep_days} days. "
        "**Clear Completed** only hides finished jobs from the queue; the history still lists "
        "them. A failed export can be retried with the same settings.")


def main() -> None:
    common.identity()
    st.title("Export Guide")
    st.caption("How Data Export works, and which format to pick.")
    settings = common.settings()
    render_formats()
    render_rules(settings.link_days, settings.keep_days)


main()
