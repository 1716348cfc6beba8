"""Which partition a keyless record goes to: one partition for a while, then the next.

aiokafka's default spreads keyless records at random, record by record, so every
partition of the ingest topic gets a share of every moment's records, and a worker
owning several partitions inserts one part per partition for each chunk it stores:
at a moderate rate, four small parts per chunk, each with the engine's fixed cost
of a part (about 10 ms of CPU for the ``logs`` table's 22 columns, whatever its
rows) and each to be merged again later. Kafka's Java producer stopped spreading
record by record for the same kind of reason (KIP-480, the sticky partitioner;
KIP-794 made it uniform): it keeps to one partition until it has sent a batch's
worth of bytes there. Here a record keeps to one partition for ``stick_s``, or
until ``stick_bytes`` of records went to it (the publisher ``charge``s what it
sends, since aiokafka does not hand a partitioner the record's size), whichever
comes first; then the next partition in turn takes over, so over a few turns the
partitions get alike shares. A chunk a worker stores then holds one or two
partitions' records: fewer, larger parts. Under a heavy load the byte bound
turns first, and that is what keeps the producer fast: aiokafka sends a broker
one request at a time with at most one batch per partition in it, so with the
clock alone a request carried one partition's batch, and with a batch's worth a
turn it carries full batches of several partitions. Keyed records (an
``Idempotency-Key``'s parts and retries, the registry) hash by their key as
before, so a key always lands in one partition.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Sequence

from aiokafka.partitioner import DefaultPartitioner


class StickyPartitioner:
    """An aiokafka ``partitioner``: keyed records by the key's murmur2 hash (aiokafka's default), keyless
    ones to the same partition for ``stick_s`` or until ``stick_bytes`` were ``charge``d to it (0: no
    byte bound), then to the next one; ``stick_s`` 0 takes turns record by record. A process starts at
    a random turn, so gateway replicas do not all start on one partition."""

    def __init__(self, stick_s: float, stick_bytes: int = 0, clock: Callable[[], float] = time.monotonic,
                 turn: int | None = None):
        if stick_s < 0:
            raise ValueError(f"setting kafka_sticky_partition_s: expected 0 or more seconds, got {stick_s}")
        if stick_bytes < 0:
            raise ValueError(f"setting kafka_sticky_partition_bytes: expected 0 or more bytes, got {stick_bytes}")
        self.stick_s = stick_s
        self.stick_bytes = stick_bytes or float("inf")
        self._clock = clock
        self._keyed = DefaultPartitioner()
        self._turn = random.randrange(1 << 30) if turn is None else turn
        self._until = float("-inf")
        self._charged = 0

    def charge(self, size: int) -> None:
        """Count ``size`` bytes of a keyless record just handed to the producer against the current turn."""
        self._charged += size

    def __call__(self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
        if key is not None:
            return self._keyed(key, all_partitions, available)
        now = self._clock()
        if now >= self._until or self._charged >= self.stick_bytes:
            self._turn += 1
            self._until = now + self.stick_s
            self._charged = 0
        # A partition without a leader is left out while it has none.
        candidates = available or all_partitions
        return candidates[self._turn % len(candidates)]
