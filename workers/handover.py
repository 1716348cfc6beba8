"""Between reading and storing: chunks mapped while the one before them is stored, taken all at once.

The worker's shell (workers/app.py) runs two tasks per lane. The reader takes
chunks from the stream, maps them with the hot path (``Pipeline.premap``) and
``put``s them here; the storer ``take``s everything waiting as one chunk and
stores it (``Pipeline.process``). So the engine's insert of one chunk and the
mapping of the next run at the same time, on two cores, and what arrives during
a long store is stored together afterwards, as one large insert, as it would
have been had it waited in the consumer.

Bounds: the chunks waiting here hold at most ``max_records`` records and
``max_bytes`` of record values (or one chunk, when a single chunk is larger);
past that ``put`` waits for the storer, and the records wait in the consumer
instead. The reader reads no more than ``room`` leaves, and only once what
waits is at most half the bounds (``half_empty``): so what waits and what is
being read together stay within the bounds, and with the chunk being stored a
lane holds about two chunks' bounds of records and their rows, not three (each
is held as Kafka values and as mapped rows: docs/performance.md, "worker
memory"), while chunks that arrive during a long store still wait together.
Order is kept: ``take`` returns the waiting records in the order they were put.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

R = TypeVar("R")
M = TypeVar("M")


class Handover(Generic[R, M]):
    """Records and their per-record mapping, from one reader to one storer."""

    def __init__(self, max_bytes: int, max_records: int):
        if max_bytes < 1 or max_records < 1:
            raise ValueError(f"bounds must be positive: max_bytes={max_bytes}, max_records={max_records}")
        self.max_bytes, self.max_records = max_bytes, max_records
        self._records: list[R] = []
        self._mapped: list[M] = []
        self._bytes = 0
        self._ended = False
        self._changed = asyncio.Condition()

    async def put(self, records: list[R], mapped: list[M], nbytes: int) -> None:
        """Add a chunk (``mapped[i]`` belongs to ``records[i]``; ``nbytes`` its values' size), waiting
        while what is already waiting would go past ``max_bytes`` or ``max_records`` with it."""
        if len(records) != len(mapped):
            raise ValueError(f"{len(records)} records with {len(mapped)} mappings")
        if not records:
            return
        async with self._changed:
            await self._changed.wait_for(lambda: not self._records or (
                self._bytes + nbytes <= self.max_bytes and len(self._records) + len(records) <= self.max_records))
            self._records += records
            self._mapped += mapped
            self._bytes += nbytes
            self._changed.notify_all()

    def room(self) -> tuple[int, int]:
        """What may still be put without waiting, (records, bytes), each at least 1 (a put of one chunk
        larger than the bounds waits until nothing else does)."""
        return max(1, self.max_records - len(self._records)), max(1, self.max_bytes - self._bytes)

    async def half_empty(self) -> None:
        """Wait until what waits holds at most half of each bound (or nothing more will be put)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._ended or (
                2 * self._bytes <= self.max_bytes and 2 * len(self._records) <= self.max_records))

    async def end(self) -> None:
        """No more chunks: ``take`` returns what waits, then None."""
        async with self._changed:
            self._ended = True
            self._changed.notify_all()

    async def take(self) -> tuple[list[R], list[M]] | None:
        """Everything waiting, as one chunk, once there is something; None once ended and empty."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._records or self._ended)
            if not self._records:
                return None
            taken = self._records, self._mapped
            self._records, self._mapped, self._bytes = [], [], 0
            self._changed.notify_all()
            return taken
