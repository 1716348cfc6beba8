"""A publisher that records instead of producing: the gateway's test double, shared by the tests and the
benchmarks (bench/limiter.py times the handler alone with it)."""

from __future__ import annotations

from gateway.errors import unavailable
from schemas.envelope import Envelope


class RecordingPublisher:
    """Keeps every ``publish`` as (body, envelope) and its topic; with ``fail`` set, refuses as a publisher whose
    broker is down does (``kafka_unavailable``, 503 with Retry-After: 7)."""

    def __init__(self):
        self.published: list[tuple[bytes, Envelope]] = []
        self.topics: list[str | None] = []
        self.fail = False

    async def publish(self, body: bytes, envelope: Envelope, topic: str | None = None) -> None:
        if self.fail:
            raise unavailable(7)
        self.published.append((body, envelope))
        self.topics.append(topic)
