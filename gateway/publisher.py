"""Publishing to Kafka with a deadline: acknowledged, or a 503."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.errors import ApiError, unavailable
from schemas.envelope import Envelope, to_headers
from sluice import metrics
from sluice.kafka.clients import producer
from sluice.settings import Settings

log = logging.getLogger(__name__)


class Publisher:
    """Sends one request body as one Kafka record and waits for ``acks=all``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # aiokafka binds a client to the running loop, so it is made here.
        self._producer = producer(self.settings)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, body: bytes, envelope: Envelope, topic: str | None = None) -> None:
        """Return only once Kafka acknowledged the record (on the ingest topic unless
        ``topic`` names another); otherwise raise a 503 ``ApiError``.

        A timed-out send may still land later; the client is told to retry, so
        a retry under the same Idempotency-Key is stored once, and none is ever lost
        or falsely acknowledged.
        """
        assert self._producer is not None, "Publisher.start() was not awaited"
        started = time.perf_counter()
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic or self.settings.ingest_topic, body, key=_key(envelope),
                                             headers=to_headers(envelope)),
                timeout=self.settings.publish_timeout_s,
            )
        except (asyncio.TimeoutError, KafkaError) as exc:
            log.warning("publish failed: %r", exc, extra={"request_id": envelope.request_id})
            raise unavailable(self.settings.retry_after_s) from None
        metrics.GATEWAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def put(self, topic: str, key: bytes, value: bytes) -> None:
        """Write one keyed record (registry changes) with the same deadline and 503."""
        assert self._producer is not None, "Publisher.start() was not awaited"
        try:
            await asyncio.wait_for(self._producer.send_and_wait(topic, value, key=key),
                                   timeout=self.settings.publish_timeout_s)
        except (asyncio.TimeoutError, KafkaError) as exc:
            log.warning("registry write failed: %r", exc)
            raise unavailable(self.settings.retry_after_s) from None


def _key(envelope: Envelope) -> bytes | None:
    # Retries of one idempotent request land in one partition, in order; the rest spread.
    return f"{envelope.tenant}/{envelope.idempotency_key}".encode() if envelope.idempotency_key else None


__all__ = ["Publisher", "ApiError"]
