"""``GET /v1/logs/tail?filter=...``: matching records as Server-Sent Events, as they arrive."""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

import msgspec

from sluice.query.backend import QueryBackend
from sluice.query.follow import follow
from sluice.query.search import compile_filter
from sluice.settings import Settings

KEEPALIVE_S = 15.0


async def stream(settings: Settings, backend: QueryBackend, tenant: str, environment: str, filter_text: str,
                 send: Callable[[dict], Awaitable[None]], receive: Callable[[], Awaitable[dict]],
                 extra_headers: tuple = ()) -> None:
    """Stream until the client disconnects. A bad filter raises QueryError before anything is sent."""
    compile_filter(filter_text)  # fail with a 400 before the 200 goes out
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), *extra_headers]})
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    quiet_since = time.monotonic()
    try:
        async for item in follow(backend, tenant, filter_text, settings.clickhouse_database, gone,
                                      environment=environment):
            if item is not None:
                body = b"data: " + msgspec.json.encode(item) + b"\n\n"
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                body = b": keepalive\n\n"
                quiet_since = time.monotonic()
            else:
                continue
            await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        watcher.cancel()
    await send({"type": "http.response.body", "body": b"", "more_body": False})
