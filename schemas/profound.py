"""The Profound dialect (profound.txt): HTTP access-log entries, accepted one by one.

A request is a JSON array of entries; each is checked on its own and the
valid ones go on. ``problem`` names what is wrong with an entry in the words
of Profound's documented errors. The gateway publishes the valid entries,
as sent, with a visit id each (``Published``).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import Any

import msgspec

MAX_ENTRIES = 1000
LIMITS = {"method": 10, "host": 255, "path": 2048, "ip": 45, "user_agent": 1024, "referer": 2048}
MAX_QUERY_KEY, MAX_QUERY_VALUE = 100, 1000
# Unix timestamps above this are milliseconds (1e11 s is the year 5138).
_MILLIS_FROM = 1e11


class AccessLog(msgspec.Struct):
    timestamp: int | float | str  # Unix seconds or milliseconds, or ISO 8601
    method: str
    host: str
    path: str
    status_code: int
    ip: str
    user_agent: str
    query_params: dict[str, Any] | None = None
    referer: str | None = None
    bytes_sent: int | None = None
    duration_ms: float | None = None


class Published(msgspec.Struct):
    """What the gateway publishes: the accepted entries and their visit ids, in order."""

    visit_ids: list[str]
    entries: list[AccessLog]


class BadTimestamp(ValueError):
    pass


def timestamp_s(value: int | float | str) -> float:
    """Seconds since the epoch, from Unix seconds, Unix milliseconds or ISO 8601 (no offset: UTC)."""
    if isinstance(value, bool):
        raise BadTimestamp("timestamp must be a Unix timestamp or an ISO 8601 string")
    if isinstance(value, (int, float)):
        return value / 1000 if abs(value) >= _MILLIS_FROM else float(value)
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise BadTimestamp("timestamp must be a Unix timestamp or an ISO 8601 string") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.timestamp()


def problem(entry: AccessLog, now_s: float, max_age_s: float, max_ahead_s: float) -> str | None:
    """What is wrong with ``entry``, or None when it is valid."""
    try:
        ts = timestamp_s(entry.timestamp)
    except BadTimestamp as exc:
        return str(exc)
    if not now_s - max_age_s <= ts <= now_s + max_ahead_s:
        return "timestamp out of reasonable range"
    for field, limit in LIMITS.items():
        value = getattr(entry, field)
        if value is not None and len(value) > limit:
            return f"{field} must be at most {limit} characters"
    if not 100 <= entry.status_code <= 599:
        return "status_code must be between 100 and 599"
    try:
        ipaddress.ip_address(entry.ip)
    except ValueError:
        return "ip must be an IPv4 or IPv6 address"
    for key, value in (entry.query_params or {}).items():
        if len(key) > MAX_QUERY_KEY:
            return f"query_params keys must be at most {MAX_QUERY_KEY} characters"
        if not isinstance(value, str) and value is not None:
            value = msgspec.json.encode(value).decode()
        if value is not None and len(value) > MAX_QUERY_VALUE:
            return f"query_params values must be at most {MAX_QUERY_VALUE} characters"
    if entry.bytes_sent is not None and entry.bytes_sent < 0:
        return "bytes_sent must be >= 0"
    if entry.duration_ms is not None and entry.duration_ms < 0:
        return "duration_ms must be >= 0"
    return None
