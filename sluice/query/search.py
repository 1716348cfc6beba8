"""A search request to one tenant-scoped, keyset-paginated SQL query, and its rows back to JSON.

Results are newest first. The cursor is the last row's (Timestamp, row key):
the next page continues strictly below it, so rows arriving meanwhile never
shift a page (they are newer than the first page). The row key is a hash of
the row's content, so identical rows at the same nanosecond are one position.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

import msgspec

from dataclasses import dataclass
from typing import Callable

from sluice.query.errors import QueryError
from sluice.query.kql import KqlError, parse
from sluice.query.limits import FilterLimits
from sluice.query.sql import ACCESS, LOGS, Compiled, Fields, where
from sluice.query.times import instant_ns

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
# Per query, so one search cannot take the engine down (see QueryError codes).
LIMITS = {"max_execution_time": 10, "max_rows_to_read": 200_000_000, "max_memory_usage": 2 << 30,
          "timeout_overflow_mode": "throw", "read_overflow_mode": "throw", "readonly": 2}


def _iso(ns: int) -> str:
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


@dataclass(frozen=True)
class Table:
    """A searchable table: its name, field names, result columns and row key."""

    name: str
    fields: Fields
    columns: str  # the first is the timestamp in ns, as "ts"
    row_key: str  # identifies a row among those of the same nanosecond
    record: Callable[[list], dict]


TABLES = {
    "logs": Table(
        "logs", LOGS,
        "toUnixTimestamp64Nano(Timestamp) AS ts, SeverityText, SeverityNumber, ServiceName, Body, "
        "TraceId, SpanId, RequestId, Source, Environment, ResourceAttributes, LogAttributes",
        "cityHash64(RequestId, Body, ServiceName, SeverityText, toString(LogAttributes))",
        lambda r: {"timestamp": _iso(r[0]), "level": r[1], "severity_number": r[2], "service": r[3],
                   "message": r[4], "trace_id": r[5], "span_id": r[6], "request_id": r[7], "dialect": r[8],
                   "environment": r[9], "resource": r[10], "attributes": r[11]},
    ),
    "access": Table(
        "http_logs", ACCESS,
        "toUnixTimestamp64Nano(Timestamp) AS ts, SeverityText, Method, Host, Path, Status, toString(ClientIP), "
        "UserAgent, Referer, QueryParams, Bytes, DurationMs, toString(VisitId), Browser, OS, Device, BotName, "
        "BotKind, ReferralSource, ReferralName, RequestId",
        "cityHash64(VisitId)",
        lambda r: {"timestamp": _iso(r[0]), "level": r[1], "method": r[2], "host": r[3], "path": r[4],
                   "status_code": r[5], "ip": r[6], "user_agent": r[7], "referer": r[8], "query_params": r[9],
                   "bytes_sent": r[10], "duration_ms": r[11], "visit_id": r[12], "browser": r[13], "os": r[14],
                   "device": r[15], "bot_name": r[16], "bot_kind": r[17], "referral_source": r[18],
                   "referral_name": r[19], "request_id": r[20]},
    ),
}


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    filter: str = ""
    #: "logs" (every dialect), or "access" (Profound's access logs in sluice.http_logs)
    table: str = "logs"
    from_: str = msgspec.field(name="from", default="-24h")
    to: str = "now"
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _cursor(value: str) -> tuple[int, int]:
    try:
        ts, key = msgspec.json.decode(base64.urlsafe_b64decode(value.encode() + b"=="), type=tuple[int, int])
        return ts, key
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise QueryError(400, "invalid_cursor", "The cursor is not one this API returned.") from None


def build(request: SearchRequest, tenant: str, database: str, now_ns: int,
          environment: str | None = None, limits: FilterLimits | None = None) -> tuple[str, dict]:
    """The SQL and parameters for one page of ``tenant``'s rows (and only ``environment``'s,
    when given); raises QueryError for a bad request or a filter over ``limits``."""
    table = TABLES.get(request.table)
    if table is None:
        raise QueryError(400, "invalid_table", f"table must be one of {', '.join(TABLES)}")
    if not 1 <= request.limit <= MAX_LIMIT:
        raise QueryError(400, "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}")
    try:
        start, end = instant_ns(request.from_, now_ns), instant_ns(request.to, now_ns)
    except ValueError as exc:
        raise QueryError(400, "invalid_time", str(exc)) from None
    if start > end:
        raise QueryError(400, "invalid_time_range", "`from` is after `to`")
    condition, filter_params = compile_filter(request.filter, table.fields, limits)
    params = {**filter_params, "tenant": tenant, "start": start, "end": end, "limit": request.limit + 1}
    scope = "TenantId = {tenant:String}"
    if environment is not None:
        scope += " AND Environment = {environment:String}"
        params["environment"] = environment
    page = ""
    if request.cursor:
        params["cts"], params["ckey"] = _cursor(request.cursor)
        page = " AND (toUnixTimestamp64Nano(Timestamp), row_key) < ({cts:Int64}, {ckey:UInt64})"
    sql = (
        f"SELECT {table.columns}, {table.row_key} AS row_key FROM {database}.{table.name} "
        f"WHERE {scope} "
        "AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64}) "
        f"AND ({condition}){page} "
        "ORDER BY Timestamp DESC, row_key DESC LIMIT {limit:UInt32}"
    )
    return sql, params


def compile_filter(text: str, fields: Fields = LOGS, limits: FilterLimits | None = None) -> tuple[str, dict]:
    """The WHERE fragment and its parameters; a filter over ``limits`` is refused before it is parsed."""
    if limits is not None:
        limits.check(text)
    try:
        c = Compiled(fields)
        return where(parse(text), c), c.params
    except KqlError as exc:
        raise QueryError(400, "invalid_filter", str(exc)) from None


def record(r: list) -> dict:
    """One row of the logs table as the API's JSON object."""
    return TABLES["logs"].record(r)


def page(rows: list[list], limit: int, table: str = "logs") -> tuple[list[dict], bool, str | None]:
    """(records, whether more exist, the cursor of the next page)."""
    more = len(rows) > limit
    rows = rows[:limit]
    records = [TABLES[table].record(r) for r in rows]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = base64.urlsafe_b64encode(msgspec.json.encode([int(last[0]), int(last[-1])])).decode().rstrip("=")
    return records, more, cursor
