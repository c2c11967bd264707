"""Signed, expiring download links: a token that names one stored file of one org.

A token is `<payload>.<signature>`, both URL-safe base64 without padding: the payload is
compact JSON `{"e": expiry (unix seconds), "j": job id, "k": storage key, "o": org id}`
and the signature is HMAC-SHA256 of the payload bytes under the server's secret.
`verify` returns the claims; the caller checks that the org is the one asking.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exporter.errors import ExportError

LINK_DAYS = 7
_MAX_TOKEN = 2048  # far above any real token; refuse before decoding junk
_B64 = re.compile(r"[A-Za-z0-9_-]+")


class LinkError(ExportError):
    """A download link that is not valid, or no longer valid."""


@dataclass(frozen=True)
class LinkClaims:
    org_id: int
    job_id: str
    key: str
    expires_at: datetime


def default_expiry(completed_at: datetime) -> datetime:
    """When the link to an export finished at completed_at stops working."""
    return completed_at + timedelta(days=LINK_DAYS)


def _secret(secret: str) -> bytes:
    if not secret or not secret.strip():
        raise ValueError("A link secret is required; refusing to sign with an empty key.")
    return secret.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:  # one canonical spelling per token
        raise ValueError("not canonical base64url")
    return data


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign(secret: str, org_id: int, job_id: str, key: str, expires_at: datetime) -> str:
    """A token granting org_id the file at key until expires_at (a timezone-aware time)."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    claims = {"e": int(expires_at.timestamp()), "j": job_id, "k": key, "o": org_id}
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(_secret(secret), payload))}"


def _invalid() -> LinkError:
    return LinkError("LINK_INVALID", "This download link is not valid.")


def _parse(payload: bytes) -> LinkClaims:
    data = json.loads(payload)
    org, job, key, exp = data["o"], data["j"], data["k"], data["e"]
    if (type(org) is not int or type(exp) is not int
            or not isinstance(job, str) or not isinstance(key, str)):
        raise ValueError("bad claim types")
    return LinkClaims(org, job, key, datetime.fromtimestamp(exp, UTC))


def verify(secret: str, token: str, now: datetime | None = None) -> LinkClaims:
    """The claims of a genuine, unexpired token; LinkError LINK_INVALID or LINK_EXPIRED."""
    key = _secret(secret)
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise _invalid()
    payload_part, signature_part = token.split(".")
    try:
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, binascii.Error) as exc:
        raise _invalid() from exc
    if not hmac.compare_digest(_mac(key, payload), signature):
        raise _invalid()
    try:
        claims = _parse(payload)
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        raise _invalid() from exc  # signed by us yet malformed: still refuse, never crash
    if (now or datetime.now(UTC)) >= claims.expires_at:
        when = claims.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        raise LinkError("LINK_EXPIRED", f"This download link expired on {when}.")
    return claims
