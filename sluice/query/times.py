"""Instants in queries: relative (``-15m``, ``-24h``, ``-7d``, ``now``) or ISO 8601, to nanoseconds."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from sluice.query.errors import QueryError

_RELATIVE = re.compile(r"^(now)?-(\d+)(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def instant_ns(value: str, now_ns: int | None = None) -> int:
    """Nanoseconds since the epoch; raise ValueError naming the accepted forms.

    An instant beyond what a record's timestamp can hold (an Int64 of nanoseconds,
    1677 to 2262) is clamped to that range: the engine would wrap it around.
    """
    ns = _instant_ns(value, time.time_ns() if now_ns is None else now_ns)
    return min(max(ns, -(1 << 63)), (1 << 63) - 1)


def time_range(from_: str, to: str, now_ns: int | None = None) -> tuple[int, int]:
    """A request's ``from`` and ``to`` as nanoseconds; QueryError 400 (``invalid_time``,
    ``invalid_time_range``) when either is no time or ``from`` is after ``to``."""
    try:
        start, end = instant_ns(from_, now_ns), instant_ns(to, now_ns)
    except ValueError as exc:
        raise QueryError(400, "invalid_time", str(exc)) from None
    if start > end:
        raise QueryError(400, "invalid_time_range", "`from` is after `to`")
    return start, end


def _instant_ns(value: str, now_ns: int) -> int:
    text = value.strip()
    if text.lower() == "now":
        return now_ns
    match = _RELATIVE.match(text.lower())
    if match:
        return now_ns - int(match.group(2)) * _UNIT_S[match.group(3)] * 1_000_000_000
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a time: use now, -15m, -24h, -7d or ISO 8601") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return (ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000
