"""Compacted topics kept in memory (the registry of keys, the tenants' secrets), and writing to them."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from sluice.kafka.clients import producer
from sluice.settings import Settings

log = logging.getLogger(__name__)


class CompactedFollower:
    """Reads partition 0 of ``topic`` from the beginning, hands every value to
    ``apply`` and keeps following. ``start`` returns once everything written
    before the call has been applied."""

    def __init__(self, settings: Settings, topic: str, apply: Callable[[bytes], None]):
        self.settings = settings
        self.topic = topic
        self.apply = apply
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=200,
            client_id=f"sluice-follow-{self.topic}",
        )
        await self._consumer.start()
        tp = TopicPartition(self.topic, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_beginning(tp)
        end = (await self._consumer.end_offsets([tp]))[tp]
        while await self._consumer.position(tp) < end:
            await self._poll_once(timeout_ms=500)
        self._task = asyncio.create_task(self._follow(), name=f"follow-{self.topic}")

    async def _poll_once(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        for messages in batches.values():
            for message in messages:
                if message.value is None:
                    continue
                try:
                    self.apply(message.value)
                except Exception:  # one bad record must not stop the others
                    log.exception("skipping unreadable record at %s@%d", self.topic, message.offset)

    async def _follow(self) -> None:
        while True:
            try:
                await self._poll_once(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("error following %s; retrying", self.topic)
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._consumer is not None:
            await self._consumer.stop()


async def publish_to(settings: Settings, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    """Write (key, value) records to a compacted topic, waiting for every acknowledgement."""
    p = producer(settings, compression_type=None)
    await p.start()
    try:
        for key, value in items:
            await p.send_and_wait(topic, value, key=key)
    finally:
        await p.stop()
