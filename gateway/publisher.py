"""Publishing to Kafka with a deadline: acknowledged, or a 503.

A body larger than one Kafka record (``max_record_bytes``) goes out as
several records when its format can be split (``Decoding.split``: a full
LogFlux batch); they are sent one after the other, each with its own
deadline, and the request is acknowledged once all are. Should one fail,
the ones before it were stored: a retry with the same ``Idempotency-Key``
stores each part once (each part carries the key with its index), one
without it may store them twice, as for any request that timed out.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.errors import ApiError, body_too_large, overloaded, unavailable
from schemas.dialects import DECODINGS
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format
from sluice import metrics
from sluice.kafka.clients import partitioner, producer
from sluice.settings import Settings

log = logging.getLogger(__name__)
# Room left in a Kafka request beside a record's value: its headers, key and the batch framing.
_RECORD_OVERHEAD = 64 * 1024


class Publisher:
    """Sends one request body as one Kafka record (or as its format's parts, when larger than
    one record holds) and waits for ``acks=all``.

    At most ``gateway_max_inflight_bytes`` wait for acknowledgements at a time;
    a body that would go beyond is refused before it is handed to the producer.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self.inflight_bytes = 0
        # Told the size of each keyless record sent, so a partition's turn ends at a batch's worth.
        self.partitioner = partitioner(settings)

    async def start(self) -> None:
        # aiokafka binds a client to the running loop, so it is made here.
        self._producer = producer(self.settings, partitioner=self.partitioner)
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
        limit = self.settings.max_record_bytes - _RECORD_OVERHEAD
        if len(body) <= limit:
            await self._publish_one(body, envelope, topic)
            return
        split = DECODINGS[Format(envelope.format)].split
        if split is None:
            raise body_too_large(limit)
        parts = split(body, limit)
        for index, part in enumerate(parts):
            # A space cannot be in a client's key (visible ASCII only): no part's key is another request's.
            key = f"{envelope.idempotency_key} {index + 1}/{len(parts)}" if envelope.idempotency_key else ""
            await self._publish_one(part, envelope._replace(idempotency_key=key), topic)

    async def _publish_one(self, body: bytes, envelope: Envelope, topic: str | None) -> None:
        # One body alone always goes: the bound is on waiting, not on size (max_body_bytes is).
        if self.inflight_bytes and self.inflight_bytes + len(body) > self.settings.gateway_max_inflight_bytes:
            raise overloaded(self.settings.retry_after_s)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._send(topic or self.settings.ingest_topic, body, envelope),
                                   timeout=self.settings.publish_timeout_s)
        except (asyncio.TimeoutError, KafkaError) as exc:
            log.warning("publish failed: %r", exc, extra={"request_id": envelope.request_id})
            raise unavailable(self.settings.retry_after_s) from None
        metrics.GATEWAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def _send(self, topic: str, body: bytes, envelope: Envelope) -> None:
        # The bytes count until Kafka answers for the record, even after its request
        # timed out: the producer still holds and sends it.
        self.inflight_bytes += len(body)
        key = _key(envelope)
        try:
            delivered = await self._producer.send(topic, body, key=key, headers=to_headers(envelope))
        except BaseException:
            self.inflight_bytes -= len(body)
            raise
        if key is None:
            self.partitioner.charge(len(body))
        delivered.add_done_callback(lambda done: self._release(done, len(body)))
        await asyncio.shield(delivered)

    def _release(self, done: asyncio.Future, n: int) -> None:
        self.inflight_bytes -= n
        if not done.cancelled():
            done.exception()  # seen here, so a failure after the deadline is not reported as unretrieved

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
