"""The dead-letter topic: records a worker cannot store, kept byte for byte with the reason.

A dead-lettered record keeps its key, value and headers and gains
``sluice-dlq-*`` headers: reason, detail, source topic, partition, offset,
entry (for one entry of a batch record) and time. It is acknowledged at the
source only after the dead-letter topic acknowledged it, so nothing is
dropped on the floor. What one tenant sends never stops the worker: a tenant
that sends mostly unstorable records is quarantined (workers/quarantine.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import NamedTuple

from schemas.deadletter import (
    DETAIL, DLQ_HEADERS, REASON, REPLAY_OF, SOURCE_ENTRY, SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC, TIME,
)
from sluice import metrics
from sluice.settings import Settings
from workers.consumed import Headers
from workers.forward import Forwarder

log = logging.getLogger(__name__)


class DeadLetter(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers  # the original headers, as consumed
    reason: str
    detail: str
    entry: int | None = None  # the entry's index when the value is one entry of a batch record


def dlq_headers(letter: DeadLetter, now: float | None = None) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier dead-letter headers) plus why and where from."""
    kept = [(k, v) for k, v in letter.headers if k not in DLQ_HEADERS and k != REPLAY_OF]
    stamp = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc).isoformat()
    return kept + [
        (REASON, letter.reason.encode()),
        (DETAIL, letter.detail.encode()[:1024]),
        (SOURCE_TOPIC, letter.topic.encode()),
        (SOURCE_PARTITION, str(letter.partition).encode()),
        (SOURCE_OFFSET, str(letter.offset).encode()),
        *([(SOURCE_ENTRY, str(letter.entry).encode())] if letter.entry is not None else []),
        (TIME, stamp.encode()),
    ]


class DeadLetters:
    """Produces dead letters and waits for Kafka's acknowledgement."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._forwarder = Forwarder(settings)

    async def send(self, letters: list[DeadLetter]) -> None:
        """Produce ``letters`` together and return once Kafka acknowledged every one."""
        if not letters:
            return
        await asyncio.gather(*(
            self._forwarder.send(self.settings.dlq_topic, x.value, x.key, dlq_headers(x)) for x in letters))
        for x in letters:
            metrics.WORKER_DEAD_LETTERS.labels(x.reason).inc()
        first = letters[0]
        log.warning("dead-lettered %d record(s) from %s/%d@%d (%s): %s", len(letters), first.topic, first.partition,
                    first.offset, first.reason, first.detail, extra={"reason": first.reason})

    async def stop(self) -> None:
        await self._forwarder.stop()
