"""What a worker reads ahead of the chunks it takes, bounded in bytes as well as in records.

Faust holds the records a worker has not taken yet in two places bounded by
record counts: each lane's stream buffer (``stream_buffer_maxsize``; Faust
pauses a partition's fetching as it fills) and each poll of the consumer
(``broker_max_poll_records``), whose records wait in Faust until they fit the
buffer. At 16 records each, 1 MiB records held 32 MiB there and 4 MiB records
128 MiB, which took a worker past 512 MiB (docs/performance.md, "worker memory").

``ReadAhead`` keeps each of the two near ``max_bytes`` whatever the records'
size: it holds ``max_bytes // size`` records, at least 1 and at most
``max_records``, where ``size`` is the largest record of the latest chunk or
half the size before, whichever is more. So one large record lowers the counts
at once, and small records raise them back within a few chunks. It starts from
``start_size`` (the largest record a producer may write): nothing large is read
ahead before the first chunk shows what the records are.

Neither Faust nor aiokafka has a setter for these counts; both read them, on
every put and every poll, where they keep them: the stream queue's ``_maxsize``
(with its pressure marks, cached from it) and the aiokafka consumer's
``_max_poll_records``. ``bind`` checks that each is where this module expects
(faust-streaming 0.15, aiokafka 0.14, as pinned) and refuses otherwise, so an
upgrade that moves them stops the worker at start instead of silently dropping
the bound.
"""

from __future__ import annotations

from typing import Any

# mode's ThrottledQueue caches these from its maxsize on first use.
_PRESSURE_MARKS = ("pressure_high_size", "pressure_drop_size")


class ReadAhead:
    """One worker's read-ahead counts, shared by its lanes' stream queues and its consumer's polls."""

    def __init__(self, max_records: int, max_bytes: int, start_size: int):
        if max_records < 1 or max_bytes < 1 or start_size < 1:
            raise ValueError(f"read-ahead bounds must be positive: max_records={max_records}, "
                             f"max_bytes={max_bytes}, start_size={start_size}")
        self.max_records, self.max_bytes = max_records, max_bytes
        self.size = start_size
        self._queues: list[Any] = []
        self._consumers: list[Any] = []

    @property
    def records(self) -> int:
        """How many records each stream buffer, and each poll, holds now."""
        return max(1, min(self.max_records, self.max_bytes // self.size))

    def bind(self, queue: Any = None, consumer: Any = None) -> None:
        """Apply the counts to a lane's stream queue and/or the aiokafka consumer from now on."""
        if queue is not None:
            if not isinstance(getattr(queue, "_maxsize", None), int) or not all(
                    hasattr(type(queue), mark) for mark in _PRESSURE_MARKS):
                raise RuntimeError(f"{type(queue).__name__} keeps no _maxsize and pressure marks: the read-ahead "
                                   "bound cannot be applied to this Faust version's stream buffer")
            self._queues.append(queue)
        if consumer is not None:
            if not hasattr(consumer, "_max_poll_records"):
                raise RuntimeError(f"{type(consumer).__name__} keeps no _max_poll_records: the read-ahead "
                                   "bound cannot be applied to this aiokafka version's polls")
            if not any(bound is consumer for bound in self._consumers):  # bound again at each rebalance
                self._consumers.append(consumer)
        self._apply()

    def observe(self, largest: int) -> None:
        """A chunk was taken whose largest record value held ``largest`` bytes."""
        size = max(1, largest, self.size // 2)
        if size != self.size:
            self.size = size
            self._apply()

    def _apply(self) -> None:
        records = self.records
        for queue in self._queues:
            if queue._maxsize != records:
                queue._maxsize = records
                for mark in _PRESSURE_MARKS:
                    queue.__dict__.pop(mark, None)
        for consumer in self._consumers:
            consumer._max_poll_records = records

