"""The Profound dialect (profound.txt): HTTP access-log entries, accepted one by one.

A request is a JSON array of entries; each is checked on its own and the
valid ones go on. ``problem`` names what is wrong with an entry in the words
of Profound's documented errors, storability (schemas/storable.py) included.
The gateway publishes the valid entries, as sent, with a visit id each
(``Published``).

``ip`` is taken as senders fill it from a proxy's header: the first address
of an ``X-Forwarded-For`` list (``"10.0.0.1, 10.0.0.2"``) is the client; a
value that names no address (``"unknown"``) leaves the entry without one.
Either way the text as sent is kept (``client_ip``; the workers store it as
the ``forwarded_for`` attribute).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import Any, NamedTuple

import msgspec

from schemas import storable
from schemas.storable import HTTP_LOGS

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
    bytes_sent: int | float | None = None  # a float only when integral (10.0), see ``unstorable``
    duration_ms: float | None = None


class Published(msgspec.Struct):
    """What the gateway publishes: the accepted entries and their visit ids, in order."""

    visit_ids: list[str]
    entries: list[AccessLog]


class BadTimestamp(ValueError):
    pass


_NOT_A_TIME = "timestamp must be a Unix timestamp or an ISO 8601 string"
_OUT_OF_RANGE = "timestamp out of reasonable range"
_DAY_S = 86400


def _days(seconds: float) -> str:
    return f"{seconds / _DAY_S:g} day" + ("" if seconds == _DAY_S else "s")


def client_ip(ip: str) -> tuple[str, str]:
    """(the client's address, or "" when ``ip`` names none; the original text when it is not that address).

    The first entry of a comma-separated list is the client (``X-Forwarded-For``
    order). A zone id (``fe80::1%eth0``) is an address all the same: ``unstorable``
    refuses it, since the column cannot hold it."""
    first = ip.split(",", 1)[0].strip()
    try:
        ipaddress.ip_address(first)
    except ValueError:
        return "", ip
    return first, "" if first == ip else ip


def timestamp_s(value: int | float | str) -> float:
    """Seconds since the epoch, from Unix seconds, Unix milliseconds or ISO 8601 (no offset: UTC)."""
    if isinstance(value, bool):
        raise BadTimestamp(_NOT_A_TIME)
    try:
        if isinstance(value, (int, float)):
            return value / 1000 if abs(value) >= _MILLIS_FROM else float(value)
        ts = datetime.fromisoformat(value)
    except OverflowError:  # an integer no float holds
        raise BadTimestamp(_OUT_OF_RANGE) from None
    except ValueError:
        raise BadTimestamp(_NOT_A_TIME) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    try:
        return ts.timestamp()
    except (OverflowError, ValueError):  # year 1 a zone east of UTC
        raise BadTimestamp(_OUT_OF_RANGE) from None


class Problem(NamedTuple):
    reason: str  # the field at fault: a metric label
    message: str  # Profound's words, after "Invalid log format: "


def problem(entry: AccessLog, now_s: float, max_age_s: float, max_ahead_s: float) -> Problem | None:
    """What is wrong with ``entry``, or None when it is valid and storable."""
    try:
        ts = timestamp_s(entry.timestamp)
    except BadTimestamp as exc:
        return Problem("timestamp", str(exc))
    # Profound's words first, then which bound and the setting an operator can change.
    if ts < now_s - max_age_s:
        return Problem("timestamp", f"{_OUT_OF_RANGE}: more than {_days(max_age_s)} old "
                                    "(the gateway's profound_max_age_days)")
    if ts > now_s + max_ahead_s:
        return Problem("timestamp", f"{_OUT_OF_RANGE}: more than {_days(max_ahead_s)} ahead "
                                    "(the gateway's profound_max_ahead_s)")
    for field, limit in LIMITS.items():
        value = getattr(entry, field)
        if value is not None and len(value) > limit:
            return Problem(field, f"{field} must be at most {limit} characters")
    if not 100 <= entry.status_code <= 599:
        return Problem("status_code", "status_code must be between 100 and 599")
    for key, value in (entry.query_params or {}).items():
        if len(key) > MAX_QUERY_KEY:
            return Problem("query_params", f"query_params keys must be at most {MAX_QUERY_KEY} characters")
        if not isinstance(value, str) and value is not None:
            value = msgspec.json.encode(value).decode()
        if value is not None and len(value) > MAX_QUERY_VALUE:
            return Problem("query_params", f"query_params values must be at most {MAX_QUERY_VALUE} characters")
    if entry.bytes_sent is not None and entry.bytes_sent < 0:
        return Problem("bytes_sent", "bytes_sent must be >= 0")
    if entry.duration_ms is not None and entry.duration_ms < 0:
        return Problem("duration_ms", "duration_ms must be >= 0")
    return unstorable(entry, ts)


_BYTES, _STATUS, _IP = HTTP_LOGS["Bytes"], HTTP_LOGS["Status"], HTTP_LOGS["ClientIP"]


def unstorable(entry: AccessLog, ts: float | None = None) -> Problem | None:
    """What of ``entry`` the ``http_logs`` columns cannot hold (schemas/storable.py), or None.

    The worker's check of a published entry (no clock): ``ts`` is its time in
    seconds when the caller has it."""
    try:
        ns = (timestamp_s(entry.timestamp) if ts is None else ts) * 1e9  # a float: compared before rounding
    except BadTimestamp as exc:
        return Problem("timestamp", str(exc))
    if not storable.TIMESTAMP.low <= ns <= storable.TIMESTAMP.high:
        return Problem("timestamp", f"timestamp must be within {storable.TIMESTAMP}")
    if not _STATUS.holds(entry.status_code):
        return Problem("status_code", f"status_code must be within {_STATUS}")
    address, _ = client_ip(entry.ip)
    try:
        if address:
            storable.ipv6_bytes(address)
    except ValueError:  # an address with a zone id
        return Problem("ip", f"ip must be {_IP.range}: the {_IP.column} column ({_IP.type}) cannot store a zone id")
    if entry.query_params:
        try:
            storable.check_tree(entry.query_params, "query parameters")
        except storable.Unstorable as exc:
            return Problem("query_params", f"query_params: {exc.message}")
    if isinstance(entry.bytes_sent, float) and not entry.bytes_sent.is_integer():
        return Problem("bytes_sent", f"bytes_sent must be a whole number of bytes, got {entry.bytes_sent!r}")
    if entry.bytes_sent is not None and not _BYTES.holds(entry.bytes_sent):
        return Problem("bytes_sent", f"bytes_sent must be within {_BYTES}")
    return None
