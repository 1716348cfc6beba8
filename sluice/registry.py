"""The tenant and key registry, kept in a compacted Kafka topic.

Every gateway follows the topic and folds it into an in-memory ``Registry``,
so a key created or revoked from the CLI takes effect within about a second,
on every gateway, without a restart or a shared database.
"""

from __future__ import annotations

from schemas import registry as records
from sluice.follower import CompactedFollower, publish_to
from sluice.keys import Registry
from sluice.settings import Settings


class RegistryFollower(CompactedFollower):
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.registry = registry or Registry()
        super().__init__(settings, settings.registry_topic, lambda value: self.registry.apply(records.decode(value)))


async def load_registry(settings: Settings) -> Registry:
    """A snapshot of the registry as of now."""
    follower = RegistryFollower(settings)
    await follower.start()
    await follower.stop()
    return follower.registry


async def publish(settings: Settings, *items: records.RegistryRecord) -> None:
    """Write registry records and wait until Kafka acknowledged all of them."""
    await publish_to(settings, settings.registry_topic, [(records.record_key(i), records.encode(i)) for i in items])
