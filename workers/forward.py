"""Producing from a worker to another topic (dead letters, the slow lane), acknowledged before the source is."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from sluice.kafka.clients import producer
from sluice.settings import Settings


class Forwarder:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def send(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        """Return once Kafka acknowledged the record; concurrent calls share one producer's batches."""
        if self._producer is None:  # made lazily: aiokafka binds to the running loop
            async with self._starting:
                if self._producer is None:
                    started = producer(self.settings, request_timeout_ms=30_000)
                    await started.start()
                    self._producer = started
        await self._producer.send_and_wait(topic, value, key=key, headers=headers)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
