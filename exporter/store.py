"""What the repository modules share: their errors and the org a session is bound to.

The repository is split by subject: `store_templates` (saved setups), `store_jobs` (the
queue and each job's life) and `store_maintenance` (cross-org reaper, dispatch and
cleanup). Their functions take a Session from `db.org_session`, flush but never commit
(the session's block does), and raise the ExportErrors below for people to read.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from exporter.errors import ExportError


class NotFound(ExportError):
    """No such row for this org (another org's rows are invisible, so they are 'not found')."""

    def __init__(self, what: str, ident: object) -> None:
        super().__init__("NOT_FOUND", f"{what} {ident} was not found")


class Conflict(ExportError):
    """The request clashes with the row's current state or with another row."""

    exit_code = 2


def org_of(session: Session) -> int:
    """The org a db.org_session was opened for; a session without one is a bug."""
    org = session.info.get("org_id")
    if not isinstance(org, int):
        raise RuntimeError("the session is not bound to an org: use db.org_session")
    return org


def as_id(value: uuid.UUID | str, what: str) -> uuid.UUID:
    """A UUID from a UUID or its text; anything else cannot name a row."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(what, repr(str(value)[:40])) from None
