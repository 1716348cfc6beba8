"""Following a filter live: rows as they arrive, for the SSE tail and ``sluice tail``.

Each poll (once a second, at once again while a flood is being paged) asks
the engine one question first: how many matching rows lie at or beyond the
cursor's position, and how many in its look-back window before it
(sluice/query/cursor.py). Only when those counts exceed what was delivered
does it fetch rows: pages of ``PAGE`` from the position on, in
(ReceivedAt, row key) order, and the few late positions of the window by key.
A quiet tail costs one small query per poll; a busy one never re-reads what it
sent, so it cannot stall behind its own old rows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator

from sluice.query.backend import QueryBackend
from sluice.query.cursor import Cursor, Position
from sluice.query.limits import FilterLimits
from sluice.query.search import TABLES, compile_filter, record

POLL_S = 1.0
PAGE = 500
PAGES_PER_POLL = 20  # then the caller gets control back (keepalives, key checks) before the next poll
LATE_KEYS = 2000  # late positions fetched per poll
# Everything a tail shows of a row: rows at one ReceivedAt with the same key look the same.
ROW_KEY = ("cityHash64(RequestId, Timestamp, Body, ServiceName, SeverityText, SeverityNumber, TraceId, SpanId, "
           "Source, Environment, toString(ResourceAttributes), toString(LogAttributes))")
_AT = f"(toUnixTimestamp64Nano(ReceivedAt), {ROW_KEY})"
_POSITION = "({r:Int64}, {k:UInt64})"


@dataclass(frozen=True)
class Scope:
    """The rows a tail may see: one tenant (and environment), those matching the compiled filter."""

    tenant: str
    environment: str | None
    database: str
    condition: str
    params: dict

    def sql(self, select: str, where: str, tail: str = "") -> str:
        env = "AND Environment = {environment:String} " if self.environment is not None else ""
        return (f"SELECT {select} FROM {self.database}.logs WHERE TenantId = {{tenant:String}} {env}"
                f"AND ReceivedAt >= fromUnixTimestamp64Nano({{lo:Int64}}) AND {where} AND ({self.condition}) {tail}")

    def bind(self, **values: int | list) -> dict:
        scope = {"tenant": self.tenant} if self.environment is None else {"tenant": self.tenant,
                                                                          "environment": self.environment}
        return {**self.params, **scope, **values}


def counts_query(s: Scope, c: Cursor) -> tuple[str, dict]:
    """One row: matching rows in the window before the position, and at or beyond it."""
    sql = s.sql(f"countIf({_AT} < {_POSITION}), countIf({_AT} >= {_POSITION})", "1")
    return sql, s.bind(lo=c.window_start, r=c.position[0], k=c.position[1])


def page_query(s: Scope, c: Cursor) -> tuple[str, dict]:
    """The next rows from the position on, with what was delivered there again (``take`` skips it)."""
    t = TABLES["logs"]
    sql = s.sql(f"{t.columns}, {ROW_KEY} AS tail_key, toUnixTimestamp64Nano(ReceivedAt) AS received",
                f"{_AT} >= {_POSITION}", "ORDER BY ReceivedAt, tail_key LIMIT {limit:UInt32}")
    return sql, s.bind(lo=c.position[0], r=c.position[0], k=c.position[1], limit=PAGE + c.at_position())


def late_counts_query(s: Scope, c: Cursor) -> tuple[str, dict]:
    """(received, key, rows) of each position in the window before the position."""
    sql = s.sql(f"toUnixTimestamp64Nano(ReceivedAt) AS received, {ROW_KEY} AS tail_key, count()",
                f"{_AT} < {_POSITION}", "GROUP BY received, tail_key")
    return sql, s.bind(lo=c.window_start, r=c.position[0], k=c.position[1])


def late_rows_query(s: Scope, c: Cursor, late: list[Position]) -> tuple[str, dict]:
    """Every row at the ``late`` positions (and perhaps others of their keys, which ``take`` skips)."""
    t = TABLES["logs"]
    sql = s.sql(f"{t.columns}, {ROW_KEY} AS tail_key, toUnixTimestamp64Nano(ReceivedAt) AS received",
                f"{_AT} < {_POSITION} AND ReceivedAt <= fromUnixTimestamp64Nano({{hi:Int64}}) "
                "AND tail_key IN {keys:Array(UInt64)}", "ORDER BY ReceivedAt, tail_key")
    return sql, s.bind(lo=min(p[0] for p in late), hi=max(p[0] for p in late), r=c.position[0],
                       k=c.position[1], keys=sorted({p[1] for p in late}))


def _position(row: list) -> Position:
    return int(row[-1]), int(row[-2])


async def poll(backend: QueryBackend, s: Scope, c: Cursor) -> tuple[list[list], bool]:
    """The rows one poll delivers, and whether more wait beyond them (poll again at once)."""
    (behind, ahead), = await backend.rows(*counts_query(s, c))
    delivered_behind = c.behind()
    fresh: list[list] = []
    more = False
    if int(ahead) > c.at_position():
        for _ in range(PAGES_PER_POLL):
            sql, params = page_query(s, c)
            rows = await backend.rows(sql, params)
            fresh += c.take(rows, _position)
            if rows:
                c.advance(_position(rows[-1]))
            if len(rows) < params["limit"]:
                break
        else:
            more = True
    if int(behind) > delivered_behind:
        counts = await backend.rows(*late_counts_query(s, c))
        late = c.missing((int(r), int(k), int(n)) for r, k, n in counts)[:LATE_KEYS]
        if late:
            fresh += c.take(await backend.rows(*late_rows_query(s, c, late)), _position)
    c.prune()
    return fresh, more


async def follow_compiled(backend: QueryBackend, tenant: str, compiled: tuple[str, dict], database: str,
                          stop: asyncio.Event, poll_s: float = POLL_S, environment: str | None = None,
                          start_ns: int | None = None) -> AsyncIterator[dict | None]:
    """Yield every matching record received from ``start_ns`` (default: now) on, once, as it becomes
    visible, and None after a poll that found nothing (so callers can send keepalives), until ``stop``
    is set. Raises QueryError when a poll fails."""
    scope = Scope(tenant, environment, database, *compiled)
    cursor = Cursor(time.time_ns() if start_ns is None else start_ns)
    while not stop.is_set():
        rows, more = await poll(backend, scope, cursor)
        for row in rows:
            yield record(row)
        if not rows:
            yield None
        if more:
            continue
        try:
            await asyncio.wait_for(stop.wait(), poll_s)
        except asyncio.TimeoutError:
            pass


async def follow(backend: QueryBackend, tenant: str, filter_text: str, database: str,
                 stop: asyncio.Event, poll_s: float = POLL_S, environment: str | None = None,
                 limits: FilterLimits | None = None) -> AsyncIterator[dict | None]:
    """``follow_compiled`` for a filter text. A bad filter raises QueryError before the first yield."""
    compiled = await asyncio.to_thread(compile_filter, filter_text, TABLES["logs"].fields, limits)
    async for item in follow_compiled(backend, tenant, compiled, database, stop, poll_s, environment):
        yield item
