"""Producing from a worker to another topic (dead letters, the slow lane), acknowledged before the source is."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from sluice import metrics
from sluice.kafka.clients import producer
from sluice.settings import Settings

log = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """True when the same send can succeed later: the broker unreachable, a leader moving, a timeout.
    A refusal of the record itself (too large, not authorized) is not, and stops the worker."""
    return isinstance(exc, (KafkaTimeoutError, asyncio.TimeoutError)) or (
        isinstance(exc, KafkaError) and exc.retriable)


class Forwarder:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def send(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        """Return once Kafka acknowledged the record; concurrent calls share one producer's batches.

        A transient failure is retried with capped backoff, without end, as a ClickHouse outage is
        (workers/sink.py): the source's offset waits behind this send, so giving up would either lose
        the record or stop the worker for an outage it cannot fix. Cancelling (the worker stopping)
        leaves the record uncommitted, to be forwarded again after the restart.
        """
        attempt = 0
        while True:
            try:
                started = await self._started()
                await started.send_and_wait(topic, value, key=key, headers=headers)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                attempt += 1
                metrics.WORKER_FORWARD_RETRIES.labels(topic).inc()
                delay = self.settings.retry_delay_s(attempt)
                log.warning("forwarding to %s failed (attempt %d), retrying in %.2fs: %r", topic, attempt, delay, exc)
                await asyncio.sleep(delay)

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:  # made lazily: aiokafka binds to the running loop
            async with self._starting:
                if self._producer is None:
                    made = producer(self.settings, request_timeout_ms=30_000)
                    try:
                        await made.start()
                    except BaseException:
                        await made.stop()  # a failed start leaves its connections and tasks behind
                        raise
                    self._producer = made
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
