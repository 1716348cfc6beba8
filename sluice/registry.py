"""The tenant and key registry, kept in a compacted Kafka topic.

Every gateway follows the topic and folds it into an in-memory ``Registry``,
so a key created or revoked from the CLI takes effect within about a second,
on every gateway, without a restart or a shared database.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import registry as records
from sluice.kafka.clients import producer
from sluice.keys import Registry
from sluice.settings import Settings

log = logging.getLogger(__name__)


class RegistryFollower:
    """Reads the registry topic from the beginning and keeps following it."""

    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or Registry()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Return once everything written before the call has been applied."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=200,
            client_id="sluice-registry",
        )
        await self._consumer.start()
        tp = TopicPartition(self.settings.registry_topic, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_beginning(tp)
        end = (await self._consumer.end_offsets([tp]))[tp]
        while await self._consumer.position(tp) < end:
            await self._poll_once(timeout_ms=500)
        self._task = asyncio.create_task(self._follow(), name="registry-follower")

    async def _poll_once(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        for messages in batches.values():
            for message in messages:
                if message.value is None:
                    continue
                try:
                    self.registry.apply(records.decode(message.value))
                except Exception:  # one bad record must not stop authentication
                    log.exception("skipping unreadable registry record at offset %d", message.offset)

    async def _follow(self) -> None:
        while True:
            try:
                await self._poll_once(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("registry follower error; retrying")
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


async def load_registry(settings: Settings) -> Registry:
    """A snapshot of the registry as of now."""
    follower = RegistryFollower(settings)
    await follower.start()
    await follower.stop()
    return follower.registry


async def publish(settings: Settings, *items: records.RegistryRecord) -> None:
    """Write registry records and wait until Kafka acknowledged all of them."""
    p = producer(settings, compression_type=None)
    await p.start()
    try:
        for item in items:
            await p.send_and_wait(settings.registry_topic, records.encode(item), key=records.record_key(item))
    finally:
        await p.stop()
