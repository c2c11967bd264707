"""Per-org API tokens: create (shown once), list, revoke; what a token looks like.

A token is "dex_" + 40 URL-safe characters (240 random bits). Only its sha256 is kept,
with its first 8 characters for people to tell tokens apart. The API resolves a token to
its org (exporter.job_status) before the org is known, so it asks the SECURITY DEFINER
function `export.token_org(hash)` (migration 0002), which answers with an org id only;
everything else runs in an org-bound session under RLS.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from exporter import db
from exporter.errors import InvalidSpec
from exporter.models import NAME_MAX, Base
from exporter.store import NotFound, as_id

PREFIX = "dex_"
TOKEN_RE = re.compile(r"dex_[A-Za-z0-9_-]{40}")
SHOWN = 8  # characters kept in clear: "dex_" and 4 more
TOUCH_SECONDS = 60.0  # last_used_at is recorded at most this often per token and process

_TZ = DateTime(timezone=True)
_touched: dict[str, float] = {}
_touch_lock = threading.Lock()


class ApiToken(Base):
    """One API token of an org; revoked tokens stay listed with their revoked_at."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="api_tokens_token_hash_key"),
                      Index("ix_api_tokens_org", "org_id"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          server_default=text("gen_random_uuid()"))
    org_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_hash: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TZ, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(_TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(_TZ)


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(30)  # 30 bytes -> exactly 40 characters


def create(engine: Engine, org: int, name: str) -> tuple[str, ApiToken]:
    """A new token for org: (the plain token, to show once, and its stored row)."""
    name = (name or "").strip()
    if not name:
        raise InvalidSpec("NAME_REQUIRED", "Enter a token name", "name")
    if len(name) > NAME_MAX:
        raise InvalidSpec("NAME_TOO_LONG", f"A token name has at most {NAME_MAX} characters",
                          "name")
    plain = new_token()
    with db.org_session(engine, org) as s:
        row = ApiToken(org_id=org, name=name, token_hash=hash_token(plain), prefix=plain[:SHOWN])
        s.add(row)
        s.flush()
        s.refresh(row)
    return plain, row


def list_tokens(engine: Engine, org: int) -> list[ApiToken]:
    """The org's tokens, oldest first, revoked ones included."""
    with db.org_session(engine, org) as s:
        query = select(ApiToken).where(ApiToken.org_id == org)
        return list(s.scalars(query.order_by(ApiToken.created_at, ApiToken.id)))


def revoke(engine: Engine, org: int, token_id: str) -> ApiToken:
    """Stop a token from working at once; revoking it again changes nothing."""
    with db.org_session(engine, org) as s:
        row = s.get(ApiToken, as_id(token_id, "Token"), with_for_update=True)
        if row is None:
            raise NotFound("Token", token_id)
        if row.revoked_at is None:
            row.revoked_at = func.now()  # type: ignore[assignment]
            s.flush()
            s.refresh(row)
        return row


def touch_due(digest: str) -> bool:
    """Whether to record a token's use now: not when this process did so lately."""
    now = time.monotonic()
    with _touch_lock:
        if now - _touched.get(digest, -TOUCH_SECONDS) < TOUCH_SECONDS:
            return False
        _touched[digest] = now
        return True
