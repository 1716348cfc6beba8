"""Chunks for the worker: closed as soon as it is caught up, else at a byte, count or time bound.

``take(source, ...)`` reads events from ``source`` and yields them in chunks,
in the order read, never empty, never acknowledging anything (the caller
acknowledges what it stored, like Faust's ``noack_take``). A chunk closes,
checked as each event is added, when

1. nothing more is buffered after its last event (``more_buffered(event)`` is
   false): a record arriving at idle is yielded alone at once, and chunks grow
   only while records wait, under backlog, which is when large inserts pay;
2. it holds ``max_records`` events;
3. its events' ``size`` reaches ``max_bytes``; an event that would take it past
   ``max_bytes`` starts the next chunk instead, so a chunk holds at most
   ``max_bytes``, or one event larger than that alone;
4. ``max_wait_s`` (by ``clock``) after its first event was read, though more keep coming.

While the caller works on a chunk at most one event is read ahead. Where the
records stay buffered meanwhile, and how many, is the source's business
(Faust's stream buffer, the Kafka fetcher). ``stream_chunks`` is this for a
Faust stream: sizes are Kafka value bytes, and "buffered" means the stream's
queue holds more or the broker had more of the partition at the last fetch.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable, TypeVar

E = TypeVar("E")


Bound = int | Callable[[], int]


def _bounds(max_records: Bound, max_bytes: Bound, max_wait_s: float) -> tuple[int, int]:
    """This chunk's (records, bytes) bounds: a callable bound is asked as each chunk starts."""
    records = max_records() if callable(max_records) else max_records
    nbytes = max_bytes() if callable(max_bytes) else max_bytes
    if records < 1 or nbytes < 1 or max_wait_s < 0:
        raise ValueError(f"chunk bounds must be positive: max_records={records}, "
                         f"max_bytes={nbytes}, max_wait_s={max_wait_s}")
    return records, nbytes


async def take(source: AsyncIterator[E], *, size: Callable[[E], int], more_buffered: Callable[[E], bool],
               max_records: Bound, max_bytes: Bound, max_wait_s: float,
               clock: Callable[[], float] = time.monotonic) -> AsyncIterator[list[E]]:
    """Chunks of ``source``'s events, closed by the rules in the module's docstring. A bound given as a
    callable is asked as each chunk starts (the worker's: what its handover still has room for)."""
    pending: asyncio.Future | None = None  # the next event being read: survives a yield
    carried: E | None = None  # read, but too big for the chunk it came to
    has_carried = False
    try:
        while True:
            chunk: list[E] = []
            nbytes = 0
            deadline = 0.0
            most_records, most_bytes = _bounds(max_records, max_bytes, max_wait_s)  # before anything is read
            while True:
                if has_carried:
                    event, carried, has_carried = carried, None, False  # type: ignore[assignment]
                else:
                    if pending is None:
                        pending = asyncio.ensure_future(_next(source))
                    if chunk:
                        # Never wait past the deadline; an event already read still waits for the next chunk.
                        remaining = deadline - clock()
                        if remaining <= 0:
                            break
                        if not pending.done():
                            await asyncio.wait((pending,), timeout=remaining)
                            if not pending.done():
                                break
                    try:
                        event = await pending
                    except StopAsyncIteration:
                        pending = None
                        if chunk:
                            yield chunk
                        return
                    pending = None
                n = size(event)
                if chunk and nbytes + n > most_bytes:
                    carried, has_carried = event, True
                    break
                if not chunk:
                    deadline = clock() + max_wait_s
                chunk.append(event)
                nbytes += n
                if len(chunk) >= most_records or nbytes >= most_bytes or not more_buffered(event):
                    break
            yield chunk
    finally:
        if pending is not None and not pending.done():
            pending.cancel()


async def _next(source: AsyncIterator[E]) -> E:
    return await anext(source)


def stream_chunks(stream: Any, max_records: Bound, max_bytes: Bound, max_wait_s: float) -> AsyncIterator[list[Any]]:
    """``take`` over a Faust stream's events, with the stream's own acknowledgement off.

    More is buffered after an event while the stream's queue is not empty or,
    at the last fetch, the partition's high watermark was past the event.
    """
    queue = getattr(stream.channel, "queue", None)
    consumer = stream.app.consumer

    def more_buffered(event: Any) -> bool:
        if queue is not None and not queue.empty():
            return True
        message = event.message
        try:
            highwater = consumer.highwater(message.tp)
        except Exception:  # the partition was revoked meanwhile: nothing more is coming here
            return False
        return highwater is not None and message.offset + 1 < highwater

    def size(event: Any) -> int:
        return len(event.message.value or b"")

    async def chunks() -> AsyncIterator[list[Any]]:
        acks = stream.enable_acks
        stream.enable_acks = False  # the caller acknowledges once its chunk is stored
        try:
            async for chunk in take(aiter(stream.events()), size=size, more_buffered=more_buffered,
                                    max_records=max_records, max_bytes=max_bytes, max_wait_s=max_wait_s):
                yield chunk
        finally:
            stream.enable_acks = acks

    return chunks()
