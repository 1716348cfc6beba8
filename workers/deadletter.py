"""The dead-letter topic: records a worker cannot store, kept byte for byte with the reason.

A dead-lettered record keeps its key, value and headers and gains
``sluice-dlq-*`` headers: reason, detail, source topic, partition, offset and
time. It is acknowledged at the source only after the dead-letter topic
acknowledged it, so nothing is dropped on the floor.

``DeadLetterLimit`` stops a worker that dead-letters most of what it reads:
that is a misconfiguration (wrong topic, unknown tenant everywhere, a bad
deploy), and filling the dead-letter topic would only hide it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, NamedTuple

from schemas.deadletter import (
    DETAIL, DLQ_HEADERS, REASON, REPLAY_OF, SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC, TIME,
)
from sluice import metrics
from sluice.settings import Settings
from workers.forward import Forwarder

log = logging.getLogger(__name__)


def replay_origin(headers: Any) -> str | None:
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    for key, value in items:
        if key == REPLAY_OF:
            return value.decode(errors="replace")
    return None


class DeadLetter(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any  # the original headers, as consumed
    reason: str
    detail: str


class DeadLetterLimitExceeded(RuntimeError):
    pass


class DeadLetterLimit:
    """Raises once more than ``max_ratio`` of the last ``window`` records were dead-lettered."""

    def __init__(self, max_ratio: float, window: int, min_records: int):
        self.max_ratio = max_ratio
        self.min_records = min_records
        self._recent: deque[bool] = deque(maxlen=window)
        self._invalid = 0

    def record(self, invalid: bool) -> None:
        if len(self._recent) == self._recent.maxlen and self._recent[0]:
            self._invalid -= 1
        self._recent.append(invalid)
        self._invalid += invalid
        seen = len(self._recent)
        if seen >= self.min_records and self._invalid > self.max_ratio * seen:
            metrics.WORKER_DLQ_LIMIT_EXCEEDED.inc()
            raise DeadLetterLimitExceeded(
                f"{self._invalid} of the last {seen} records could not be stored (limit {self.max_ratio:.0%}); "
                "stopping instead of dead-lettering everything. Check the producers' tenant and format headers "
                "and the worker's configuration, then restart."
            )


def dlq_headers(letter: DeadLetter, now: float | None = None) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier dead-letter headers) plus why and where from."""
    items = letter.headers.items() if isinstance(letter.headers, dict) else (letter.headers or ())
    kept = [(k, v) for k, v in items if k not in DLQ_HEADERS and k != REPLAY_OF]
    stamp = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc).isoformat()
    return kept + [
        (REASON, letter.reason.encode()),
        (DETAIL, letter.detail.encode()[:1024]),
        (SOURCE_TOPIC, letter.topic.encode()),
        (SOURCE_PARTITION, str(letter.partition).encode()),
        (SOURCE_OFFSET, str(letter.offset).encode()),
        (TIME, stamp.encode()),
    ]


class DeadLetters:
    """Produces dead letters and waits for Kafka's acknowledgement."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._forwarder = Forwarder(settings)

    async def send(self, letter: DeadLetter) -> None:
        await self._forwarder.send(self.settings.dlq_topic, letter.value, letter.key, dlq_headers(letter))
        metrics.WORKER_DEAD_LETTERS.labels(letter.reason).inc()
        log.warning("dead-lettered %s/%d@%d: %s", letter.topic, letter.partition, letter.offset, letter.detail,
                    extra={"reason": letter.reason})

    async def stop(self) -> None:
        await self._forwarder.stop()
