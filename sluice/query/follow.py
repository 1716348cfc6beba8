"""Following a filter live: rows as they arrive, for the SSE tail and ``sluice tail``.

Polls once a second for rows received since the last poll. A row may become
visible a little after rows received later (batches from other partitions
land first), so each poll looks ``LOOKBACK_S`` further back and skips rows
already yielded.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

from sluice.query.backend import QueryBackend
from sluice.query.search import compile_filter, record, tail_query

LOOKBACK_S = 5
POLL_S = 1.0


async def follow(backend: QueryBackend, tenant: str, filter_text: str, database: str,
                 stop: asyncio.Event, poll_s: float = POLL_S,
                 environment: str | None = None) -> AsyncIterator[dict | None]:
    """Yield matching records as they arrive, and None after a poll that found
    nothing (so callers can send keepalives), until ``stop`` is set.
    A bad filter raises QueryError before the first yield."""
    condition, params = compile_filter(filter_text)
    after = time.time_ns()
    sent: set[tuple[int, int]] = set()  # (received, row key) within the lookback window
    while not stop.is_set():
        since = after - LOOKBACK_S * 1_000_000_000
        sql, query_params = tail_query(condition, params, tenant, database, since, environment=environment)
        found = False
        for row in await backend.rows(sql, query_params):
            key = (int(row[-1]), int(row[-2]))
            if key not in sent:
                sent.add(key)
                after = max(after, key[0])
                found = True
                yield record(row)
        sent = {k for k in sent if k[0] >= since}
        if not found:
            yield None
        try:
            await asyncio.wait_for(stop.wait(), poll_s)
        except asyncio.TimeoutError:
            pass
