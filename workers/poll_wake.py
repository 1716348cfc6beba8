"""A consumer poll woken as soon as a lane's stream buffer drains, not at the end of its wait.

Faust reads every lane's records in one loop: it polls the aiokafka consumer, in the consumer's
own thread, for the partitions whose stream buffer has room, and such a poll waits up to a second
for records of those partitions. A partition whose buffer fills is left out of the polls until the
buffer drains (Faust's flow control: ``Consumer.on_buffer_full`` and ``on_buffer_drop``). Under a
backlog the main lane's buffer fills at every chunk, so all its partitions are left out, and the
poll then waits on the other lanes' idle partitions (the slow lane, the overflow lane). When the
main buffer drains, Faust puts its partitions back in the set the poll was given, but the poll does
not look at it again until its second ends or a fetch brings new records. The worker waited idle up
to a second at a time: a backlog of LogFlux records drained at 67,000-88,000 entries/s with every
thread of the worker idle four fifths of the time, and at 145,000-200,000 entries/s once the poll
was woken (docs/performance.md, "A poll woken when a buffer drains").

When every lane's buffer is full at once no poll is made: Faust sleeps a second instead, and nothing
here shortens that sleep. The idle lanes' buffers are not full, so a backlog on the main lane alone
does not get there.

``PollWake.wake`` is the stream queue's ``on_pressure_drop`` hook, which mode's ``FlowControlQueue``
calls right after Faust's callbacks put the drained partitions back. It resolves the waiters of
aiokafka's fetcher in the consumer thread's loop, and the fetcher then looks at the partition set
again: Faust passes its own live set, which holds the partitions just put back.

Neither Faust nor aiokafka offers this; ``bind_queue`` and ``bind_consumer`` check that the hook and
the waiters are where this module expects (faust-streaming 0.15, aiokafka 0.14, as pinned) and
refuse otherwise, so an upgrade that moves them stops the worker at start.
"""

from __future__ import annotations

import asyncio
from typing import Any


class PollWake:
    """Wakes the consumer thread's pending poll when any bound stream buffer drains."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fetcher: Any = None

    def bind_queue(self, queue: Any) -> None:
        """Wake the poll whenever ``queue`` (a lane's stream buffer) drains below its pressure mark."""
        if not callable(getattr(type(queue), "on_pressure_drop", None)) or not hasattr(
                queue, "_pending_pressure_drop_callbacks"):
            raise RuntimeError(f"{type(queue).__name__} has no on_pressure_drop hook: the consumer's polls "
                               "cannot be woken when this Faust version's stream buffer drains")
        queue.on_pressure_drop = self.wake

    def bind_consumer(self, loop: asyncio.AbstractEventLoop, consumer: Any) -> None:
        """Wake the polls of the started aiokafka ``consumer``, whose fetcher runs in ``loop``."""
        fetcher = getattr(consumer, "_fetcher", None)
        if not isinstance(getattr(fetcher, "_fetch_waiters", None), set):
            raise RuntimeError(f"{type(consumer).__name__} keeps no fetcher waiters: its polls cannot be woken "
                               "when a stream buffer drains")
        self._loop, self._fetcher = loop, fetcher

    def wake(self) -> None:
        """Have the poll in flight, if any, look at its partitions again (from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._notify)

    def _notify(self) -> None:
        for waiter in list(self._fetcher._fetch_waiters):
            if not waiter.done():
                waiter.set_result(None)


def consumer_thread(app: Any) -> tuple[asyncio.AbstractEventLoop, Any]:
    """The event loop of a started Faust app's consumer thread, and the aiokafka consumer in it."""
    thread = getattr(app.consumer, "_thread", None)
    loop, consumer = getattr(thread, "thread_loop", None), getattr(thread, "_consumer", None)
    if loop is None or consumer is None:
        raise RuntimeError("no started aiokafka consumer thread behind this Faust app: its polls cannot be woken")
    return loop, consumer
