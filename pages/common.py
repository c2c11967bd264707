"""What every page shares: the service (one cached instance), who is using the app and
for which org, the few deployment values pages need, and text formatting helpers.

This is the only module of pages/ that reads the environment.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, SupportsFloat
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy.exc
import streamlit as st

from exporter.errors import ExportError
from exporter.jobs import ExportService, prepare_database
from exporter.settings import Settings

# Session-state keys shared by pages
ORG = "identity_org"
USER = "identity_user"
FLASH = "flash_messages"

DEMO_ORGS = (1, 2, 3)
DEFAULT_API = "http://127.0.0.1:8502"
DEFAULT_SUPPORT = "mailto:support@example.com"
# What loading the page's data may raise when the database or broker is unreachable.
LOAD_ERRORS: tuple[type[BaseException], ...] = (
    ExportError, sqlalchemy.exc.SQLAlchemyError, psycopg.Error, OSError)

STATUS_BADGES = {  # status -> (label, symbol in plain text, badge icon, colour)
    "running": ("Running", "↻", ":material/sync:", "blue"),
    "queued": ("Queued", "…", ":material/hourglass_empty:", "gray"),
    "completed": ("Done", "✓", ":material/check_circle:", "green"),
    "failed": ("Failed", "✗", ":material/cancel:", "red"),
    "cancelled": ("Cancelled", "⊘", ":material/block:", "orange"),
}


@dataclass(frozen=True)
class Identity:
    org: int
    user: str
    demo: bool


# --- deployment values --------------------------------------------------------------

def settings() -> Settings:
    return Settings.from_env()


def api_base() -> str:
    """Where the REST API serves signed download links."""
    return settings().api_url.rstrip("/")


def support_url() -> str:
    return settings().support_url


def org_claim() -> str:
    return settings().org_claim


def download_url(token: str) -> str:
    return f"{api_base()}/api/integrations/exports/files/{token}"


# --- the service ----------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _service(key: str, _settings: Settings) -> ExportService:
    """One service per distinct settings; a failure is not cached, so Retry retries."""
    from workers.actors import send_job  # sets up the Redis broker once per process

    prepare_database(_settings)
    return ExportService(_settings, dispatch=send_job)


def service() -> ExportService:
    current = settings()
    return _service(repr(current), current)


# --- identity -------------------------------------------------------------------------

def auth_configured() -> bool:
    """OIDC login is on when secrets hold an [auth] section."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets at all
        return False


def identity() -> Identity:
    """The signed-in user and their org, or the demo identity chosen in the sidebar.
    Stops the page when a login is required first."""
    if auth_configured():
        return _signed_in()
    # Plain keys hold the choice; the widgets' own keys are refilled from them on every
    # run, because a widget's state is dropped when the user switches pages.
    st.session_state.setdefault(ORG, DEMO_ORGS[0])
    st.session_state.setdefault(USER, "demo")
    for key in (ORG, USER):
        st.session_state[f"{key}_widget"] = st.session_state[key]
    with st.sidebar:
        st.warning("Demo mode — no login configured", icon=":material/science:")
        st.selectbox("Organisation", DEMO_ORGS, key=f"{ORG}_widget", on_change=_keep, args=(ORG,),
                     format_func=lambda o: f"Org {o}")
        st.text_input("User name", key=f"{USER}_widget", max_chars=100, on_change=_keep,
                      args=(USER,))
    user = (st.session_state.get(USER) or "demo").strip() or "demo"
    return Identity(int(st.session_state[ORG]), user, demo=True)


def _keep(key: str) -> None:
    st.session_state[key] = st.session_state[f"{key}_widget"]


def _signed_in() -> Identity:
    if not st.user.get("is_logged_in", False):
        st.title("Data Export")
        st.info("Sign in to see your organisation's exports.")
        st.button("Log in", type="primary", on_click=st.login)
        st.stop()
    claim = org_claim()
    user = str(st.user.get("email") or st.user.get("name") or st.user.get("sub") or "user")
    try:
        org = int(str(st.user.get(claim)))
    except ValueError:
        st.error(f"Your account carries no organisation (claim '{claim}'). Ask an administrator.")
        st.button("Log out", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as **{md_escape(user)}** · Org {org}")
        st.button("Log out", on_click=st.logout)
    return Identity(org, user, demo=False)


# --- feedback -------------------------------------------------------------------------

def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """A toast shown on the next run (callbacks run before the page is drawn)."""
    st.session_state.setdefault(FLASH, []).append((message, icon))


def show_flashes() -> None:
    for message, icon in st.session_state.pop(FLASH, []):
        st.toast(message, icon=icon)


def status_badge(status: str, cancel_requested: bool = False) -> None:
    label, _, icon, colour = STATUS_BADGES.get(status, (status.title(), "•", None, "gray"))
    if status == "running" and cancel_requested:
        label = "Cancelling"
    st.badge(label, icon=icon, color=colour)  # type: ignore[arg-type]


# The spec's touch targets: every button, link button, checkbox, radio option, select box
# and expander header at least 48 x 48 px (Streamlit draws them ~40 px high).
TOUCH_TARGETS = """<style>
button[data-testid^="stBaseButton"], a[data-testid^="stBaseLinkButton"],
[data-testid="stCheckbox"] label, [data-testid="stRadio"] label {
  min-height: 48px; min-width: 48px; }
[data-testid="stCheckbox"] label, [data-testid="stRadio"] label,
[data-testid="stExpander"] summary, [data-baseweb="select"] > div {
  min-height: 48px; align-items: center; }
</style>"""


def touch_targets() -> None:
    st.html(TOUCH_TARGETS)


def screen_reader_text(text: str) -> None:
    """Text only screen readers read (visually hidden)."""
    st.markdown(f'<span class="sr-only" style="position:absolute;width:1px;height:1px;'
                f'overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap">{html.escape(text)}</span>',
                unsafe_allow_html=True)


def announce(text: str) -> None:
    """A polite live region: screen readers read its text when it changes."""
    st.markdown(f'<p role="status" aria-live="polite" style="font-size:0.875rem;'
                f'color:#3d4b5c;margin:0">{html.escape(text)}</p>',
                unsafe_allow_html=True)


def separator() -> None:
    """A thin rule between rows (st.divider's margins are made for sections)."""
    st.markdown('<hr style="margin:0;border:none;border-top:1px solid #e3e8ef">',
                unsafe_allow_html=True)


def skeleton(rows: int = 2, text: str = "Loading export templates and jobs...") -> None:
    bar = ('<div style="height:0.9rem;border-radius:0.4rem;margin:0.6rem 0;width:{w}%;'
           'background:linear-gradient(90deg,#d8e2ef,#eef2f7)"></div>')
    with st.container(border=True):
        st.markdown("".join(bar.format(w=w) for w in (70, 45, 60, 35)[:rows * 2]),
                    unsafe_allow_html=True)
    st.caption(text)


# --- formatting -----------------------------------------------------------------------

def display_zone(fallback: str) -> str:
    """The browser's time zone for showing times, else the export time zone."""
    zone = st.context.timezone
    try:
        return str(ZoneInfo(zone).key) if zone else fallback
    except (ValueError, KeyError, OSError):
        return fallback


def now() -> datetime:
    return datetime.now(UTC)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ago(when: datetime | None, at: datetime | None = None) -> str:
    """'just now', '3m ago', '5h ago', '2d ago'; 'Never' for None."""
    if when is None:
        return "Never"
    seconds = max(0, int(((at or now()) - when).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now" if seconds < 10 else f"{seconds}s ago"


def duration(seconds: SupportsFloat | None) -> str:
    """45s, 2m, 2m 5s, 1h 3m."""
    exact = float(seconds or 0)
    total = round(exact)
    if 0 < exact < 1:
        return "<1s"
    if total < 60:
        return f"{total}s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m {secs}s" if secs else f"{minutes}m"


def eta(seconds: float | None) -> str:
    if seconds is None:
        return "Est: calculating..."
    if seconds < 60:
        return f"Est: {max(1, round(seconds))}s left"
    return f"Est: {duration(round(seconds / 60) * 60)} left"


def clock(when: datetime | None, tz: str = "UTC", at: datetime | None = None) -> str:
    """'14:23' today, 'Dec 3, 14:23' on other days, in the given time zone."""
    if when is None:
        return "—"
    zone = ZoneInfo(tz)
    local, today = when.astimezone(zone), (at or now()).astimezone(zone).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%b} {local.day}, {local:%H:%M}"


def size(n: int | None) -> str:
    """1.2 KB style, decimal units like the spec's limits ("100 MB")."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} GB"


def limits_text(max_bytes: int, max_rows: int) -> str:
    return f"Max size: {max_bytes // 2**20} MB | ~{max_rows:,} rows"


def md_escape(text: str) -> str:
    """User text shown in Markdown as typed (no emphasis, links or colour directives)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|:~$])", r"\\\1", text)


def filters_text(spec: dict[str, Any]) -> str:
    """A job's or template's filters in words."""
    rng = spec.get("date_range", "last_30_days")
    words = [f"{spec.get('date_from')} to {spec.get('date_to')}" if rng == "custom"
             else rng.replace("_", " ").capitalize()]
    if spec.get("statuses"):
        words.append("status " + ", ".join(spec["statuses"]))
    if spec.get("only_active"):
        words.append("only active")
    if spec.get("exclude_archived"):
        words.append("archived excluded")
    return "; ".join(words)


def rows_text(processed: int | None, total: int | None) -> str:
    return f"{processed or 0:,}/{total or 0:,}"
