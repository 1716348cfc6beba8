"""``GET /v1/logs/tail?filter=...``: matching records as Server-Sent Events, as they arrive.

A tail is one long request, so what a request checks once, a tail keeps checking:

- at most ``tail_max_per_key`` tails per key at once (per gateway process); beyond, 429 ``too_many_tails``;
- the key is authorized again about once a second (the registry is kept current
  by its follower), so a revoked or expired key's tail ends;
- every ``tail_charge_every_s`` of streaming counts one more query against the key's quota.

Records are ``data:`` events. A tail the server ends gets a last event,
``event: close`` with ``{"reason", "message"}`` — key_revoked, key_expired,
another authorization code, rate_limit_exceeded, or a storage error's code —
and then the stream closes. A filter is checked and compiled before the 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Awaitable, Callable, Iterator, NamedTuple

import msgspec

from gateway.errors import ApiError
from schemas.registry import KeyRecord
from sluice import metrics
from sluice.keys import Registry, parse_instant
from sluice.query.backend import QueryBackend
from sluice.query.errors import QueryError
from sluice.query.follow import follow_compiled
from sluice.query.limits import FilterLimits
from sluice.query.search import TABLES, compile_filter
from sluice.settings import Settings

KEEPALIVE_S = 15.0
RECHECK_S = 1.0
Send = Callable[[dict], Awaitable[None]]


class Closing(NamedTuple):
    reason: str
    message: str


class Slots:
    """Tails open per key in this process; the event loop is the only writer."""

    def __init__(self, limit: int, retry_after_s: int):
        self.limit, self.retry_after_s = limit, retry_after_s
        self._open: dict[str, int] = {}

    @contextlib.contextmanager
    def hold(self, key_id: str) -> Iterator[None]:
        """One slot of ``key_id`` while the block runs; a 429 when all are taken."""
        count = self._open.get(key_id, 0)
        if count >= self.limit:
            raise ApiError(429, "too_many_tails",
                           f"This API key already has {count} live tails open, the most allowed at once; "
                           "close one first.", ((b"retry-after", str(self.retry_after_s).encode()),),
                           details=f"tail_max_per_key={self.limit}")
        self._open[key_id] = count + 1
        metrics.GATEWAY_TAILS_OPEN.inc()
        try:
            yield
        finally:
            metrics.GATEWAY_TAILS_OPEN.dec()
            left = self._open[key_id] - 1
            if left:
                self._open[key_id] = left
            else:
                del self._open[key_id]


class Guard:
    """What a streaming tail re-checks: ``check`` answers a Closing when the tail must end.

    ``reauthorize`` raises the ApiError a new request with the same credentials
    would get; ``charge`` counts one query against the key's quota, raising its 429.
    """

    def __init__(self, key: KeyRecord, registry: Registry, reauthorize: Callable[[], object],
                 charge: Callable[[], Awaitable[object]], charge_every_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.key, self.registry = key, registry
        self._reauthorize, self._charge, self._every, self._clock = reauthorize, charge, charge_every_s, clock
        now = clock()
        self._next_check, self._next_charge = now + RECHECK_S, now + charge_every_s

    async def check(self) -> Closing | None:
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + RECHECK_S
            try:
                self._reauthorize()
            except ApiError as err:
                return self._refused(err)
        if now >= self._next_charge:
            self._next_charge += self._every
            try:
                await self._charge()
            except ApiError as err:
                return Closing(err.code, err.message)
        return None

    def _refused(self, err: ApiError) -> Closing:
        record = self.registry.keys.get(self.key.key_id)
        if record is not None and record.revoked_at is not None:
            return Closing("key_revoked", "The API key was revoked; this tail is closed.")
        if record is not None and record.expires_at is not None and parse_instant(record.expires_at) <= time.time():
            return Closing("key_expired", "The API key expired; this tail is closed.")
        return Closing(err.code, err.message)


async def compile_checked(settings: Settings, filter_text: str) -> tuple[str, dict]:
    """The filter's WHERE fragment and parameters, compiled off the event loop; QueryError (400) first."""
    limits = FilterLimits.of(settings)
    limits.check_size(filter_text)
    return await asyncio.to_thread(compile_filter, filter_text, TABLES["logs"].fields, limits)


def _event(data: bytes, name: str = "") -> dict:
    body = (b"event: " + name.encode() + b"\n" if name else b"") + b"data: " + data + b"\n\n"
    return {"type": "http.response.body", "body": body, "more_body": True}


async def stream(settings: Settings, backend: QueryBackend, key: KeyRecord, compiled: tuple[str, dict],
                 guard: Guard, send: Send, receive: Callable[[], Awaitable[dict]], extra_headers: tuple = ()) -> str:
    """Stream until the client goes away or ``guard`` ends the tail; the reason it ended."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), *extra_headers]})
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    quiet_since = time.monotonic()
    closing = None
    try:
        async with contextlib.aclosing(follow_compiled(backend, key.tenant, compiled, settings.clickhouse_database,
                                                       gone, environment=key.environment)) as items:
            async for item in items:
                if item is not None:
                    await send(_event(msgspec.json.encode(item)))
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_S:
                    await send({"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True})
                    quiet_since = time.monotonic()
                closing = await guard.check()
                if closing is not None:
                    break
    except QueryError as exc:
        closing = Closing(exc.code, exc.message)
    finally:
        watcher.cancel()
    if closing is not None and not gone.is_set():
        await send(_event(msgspec.json.encode(closing._asdict()), "close"))
    reason = "client_gone" if closing is None else closing.reason
    metrics.GATEWAY_TAILS_CLOSED.labels(reason).inc()
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return reason
