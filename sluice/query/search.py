"""A search request to one tenant-scoped, keyset-paginated SQL query, and its rows back to JSON.

Results are newest first (``sort: "desc"``) or oldest first (``"asc"``), in
(Timestamp, Seq) order: ``Seq`` is the number the engine gave the row when it
stored it (schemas/tables.SEQ), so the order is total and costs no work per
row, and the tables' sort key lets the engine read it in order and stop after
the page. The cursor is the last row's (Timestamp, Seq) and its direction: the
next page continues strictly beyond it, so rows arriving meanwhile never shift
a newest-first page (they are newer than its first page).
``offset`` skips rows instead (up to ``MAX_OFFSET_ROWS`` deep, as LIMIT/OFFSET
reads every skipped row again); a request gives a cursor or an offset, not both.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

import msgspec

from dataclasses import dataclass
from typing import Callable, Literal

from sluice.query.errors import QueryError
from sluice.query.kql import KqlError, parse
from sluice.query.limits import FilterLimits
from sluice.query.sql import ACCESS, LOGS, Compiled, Fields, where
from sluice.query.times import time_range

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_OFFSET_ROWS = 10_000  # offset + limit: how deep offset paging reaches (the cursor reaches any depth)
# Per query, so one search cannot take the engine down (see QueryError codes).
LIMITS = {"max_execution_time": 10, "max_rows_to_read": 200_000_000, "max_memory_usage": 2 << 30,
          "timeout_overflow_mode": "throw", "read_overflow_mode": "throw", "readonly": 2}


def _iso(ns: int) -> str:
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


@dataclass(frozen=True)
class Table:
    """A searchable table: its name, field names and result columns."""

    name: str
    fields: Fields
    columns: str  # the first is the timestamp in ns, as "ts"
    record: Callable[[list], dict]


TABLES = {
    "logs": Table(
        "logs", LOGS,
        "toUnixTimestamp64Nano(Timestamp) AS ts, SeverityText, SeverityNumber, ServiceName, Body, "
        "TraceId, SpanId, RequestId, Source, Environment, ResourceAttributes, LogAttributes",
        lambda r: {"timestamp": _iso(r[0]), "level": r[1], "severity_number": r[2], "service": r[3],
                   "message": r[4], "trace_id": r[5], "span_id": r[6], "request_id": r[7], "dialect": r[8],
                   "environment": r[9], "resource": r[10], "attributes": r[11]},
    ),
    "access": Table(
        "http_logs", ACCESS,
        "toUnixTimestamp64Nano(Timestamp) AS ts, SeverityText, Method, Host, Path, Status, toString(ClientIP), "
        "UserAgent, Referer, QueryParams, Bytes, DurationMs, toString(VisitId), Browser, OS, Device, BotName, "
        "BotKind, ReferralSource, ReferralName, RequestId",
        lambda r: {"timestamp": _iso(r[0]), "level": r[1], "method": r[2], "host": r[3], "path": r[4],
                   "status_code": r[5], "ip": r[6], "user_agent": r[7], "referer": r[8], "query_params": r[9],
                   "bytes_sent": r[10], "duration_ms": r[11], "visit_id": r[12], "browser": r[13], "os": r[14],
                   "device": r[15], "bot_name": r[16], "bot_kind": r[17], "referral_source": r[18],
                   "referral_name": r[19], "request_id": r[20]},
    ),
}


class Selection(msgspec.Struct):
    """What a search and a stats request both select: a filter over one table in a time window."""

    filter: str = ""
    #: "logs" (every dialect), or "access" (Profound's access logs in sluice.http_logs)
    table: str = "logs"
    from_: str = msgspec.field(name="from", default="-24h")
    to: str = "now"


class SearchRequest(Selection):
    """Fields a client may send; any other is ignored (and reported by the API in ``meta.ignored``)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    #: rows to skip, with offset + limit at most MAX_OFFSET_ROWS; not with a cursor
    offset: int = 0
    #: "desc": newest first; "asc": oldest first
    sort: Literal["desc", "asc"] = "desc"


#: The names a request's fields have on the wire (``from``, not ``from_``).
FIELDS = frozenset(f.encode_name for f in msgspec.structs.fields(SearchRequest))


def _encode_cursor(ts: int, key: int, sort: str) -> str:
    position = [ts, key] if sort == "desc" else [ts, key, 1]  # a desc cursor keeps its old two-number form
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def _cursor(value: str, sort: str) -> tuple[int, int]:
    try:
        position = msgspec.json.decode(base64.urlsafe_b64decode(value.encode() + b"=="), type=list[int])
    except (binascii.Error, msgspec.DecodeError, ValueError):
        position = []
    if not (len(position) == 2 or position[2:] == [1]) or not (
            -(1 << 63) <= position[0] < 1 << 63 and 0 <= position[1] < 1 << 64):
        raise QueryError(400, "invalid_cursor", "The cursor is not one this API returned.")
    made_for = "asc" if len(position) == 3 else "desc"
    if made_for != sort:
        raise QueryError(400, "invalid_cursor", f"The cursor continues a sort={made_for} search; "
                         f"send sort={made_for!r} with it, or start again without a cursor.")
    return position[0], position[1]


def _paging(request: SearchRequest) -> None:
    if not 1 <= request.limit <= MAX_LIMIT:
        raise QueryError(400, "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}")
    if request.offset < 0 or request.offset + request.limit > MAX_OFFSET_ROWS:
        raise QueryError(400, "invalid_offset", f"offset must be 0 or more, with offset + limit at most "
                         f"{MAX_OFFSET_ROWS}; page deeper with the cursor (meta.next_cursor).",
                         details=f"max_offset_rows={MAX_OFFSET_ROWS}")
    if request.offset and request.cursor:
        raise QueryError(400, "invalid_paging", "Give either cursor or offset, not both: the cursor already "
                         "says where the page starts.")


def build(request: SearchRequest, tenant: str, database: str, now_ns: int,
          environment: str | None = None, limits: FilterLimits | None = None) -> tuple[str, dict]:
    """The SQL and parameters for one page of ``tenant``'s rows (and only ``environment``'s,
    when given); raises QueryError for a bad request or a filter over ``limits``."""
    table = TABLES.get(request.table)
    if table is None:
        raise QueryError(400, "invalid_table", f"table must be one of {', '.join(TABLES)}")
    _paging(request)
    start, end = time_range(request.from_, request.to, now_ns)
    condition, filter_params = compile_filter(request.filter, table.fields, limits)
    params = {**filter_params, "tenant": tenant, "start": start, "end": end, "limit": request.limit + 1}
    scope = "TenantId = {tenant:String}"
    if environment is not None:
        scope += " AND Environment = {environment:String}"
        params["environment"] = environment
    page, order, beyond = "", ("DESC" if request.sort == "desc" else "ASC"), ("<" if request.sort == "desc" else ">")
    if request.cursor:
        params["cts"], params["ckey"] = _cursor(request.cursor, request.sort)
        # Spelled out rather than as a tuple comparison, so the time bound reaches the primary key.
        at = "fromUnixTimestamp64Nano({cts:Int64})"
        page = f" AND Timestamp {beyond}= {at} AND (Timestamp {beyond} {at} OR Seq {beyond} {{ckey:UInt64}})"
    skip = ""
    if request.offset:
        params["offset"] = request.offset
        skip = " OFFSET {offset:UInt32}"
    sql = (
        f"SELECT {table.columns}, Seq FROM {database}.{table.name} "
        f"WHERE {scope} "
        "AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64}) "
        f"AND ({condition}){page} "
        f"ORDER BY Timestamp {order}, Seq {order} LIMIT {{limit:UInt32}}{skip}"
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


def page(rows: list[list], limit: int, table: str = "logs",
         sort: str = "desc") -> tuple[list[dict], bool, str | None]:
    """(records, whether more exist, the cursor of the next page in the same ``sort``)."""
    more = len(rows) > limit
    rows = rows[:limit]
    records = [TABLES[table].record(r) for r in rows]
    cursor = None
    if more and rows:
        cursor = _encode_cursor(int(rows[-1][0]), int(rows[-1][-1]), sort)
    return records, more, cursor
