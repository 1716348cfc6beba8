"""Kafka client construction and topic set-up, shared by the gateway, workers and CLI."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from sluice.kafka import durability
from sluice.kafka.sticky import StickyPartitioner
from sluice.settings import Settings

log = logging.getLogger(__name__)


# Record batches are compressed once, by the producer; the broker keeps them as sent
# (the topic's compression.type is "producer") but reads each batch once to validate it,
# and every consumer inflates it again. snappy is the default because the CPU is the
# scarce resource: for a batch of 100 LogFlux entries (31 KB) it takes 38 us to
# compress and 8 us to inflate, zstd 190-250 us and 70 us, for 16.6 KB against 11.6 KB.
# aiokafka's lz4 is at level 9 (380 us). zstd suits links where bytes cost more than cores.
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")

# aiokafka sends a broker one request at a time, with at most one batch per partition in it. With
# its default batches of 16 KiB every request body (a record of tens of KB) was a batch alone, so
# a request carried one record per partition, and records kept to one partition for a while
# (sluice/kafka/sticky.py) would carry one in all: the producer's ceiling halved (498k against
# 920k records/s of 500-entry bodies, medians of three). Batches of up to 1 MiB carry every record
# that waited for the partition: 1.32M records/s sticky, 1.02M spread.
BATCH_BYTES = 1 << 20


def partitioner(settings: Settings) -> StickyPartitioner:
    """Keyless records' partitions as the settings say. The byte bound counts only what a sender charges
    (gateway/publisher.py does, holding its own); other senders turn by the clock."""
    return StickyPartitioner(settings.kafka_sticky_partition_s, settings.kafka_sticky_partition_bytes)


def producer(settings: Settings, **overrides) -> AIOKafkaProducer:
    """An idempotent producer whose acknowledgement means the write is on every in-sync replica."""
    if settings.kafka_compression not in CODECS:
        raise ValueError(f"setting kafka_compression: expected one of {', '.join(CODECS)}, "
                         f"got {settings.kafka_compression!r}")
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type=None if settings.kafka_compression == "none" else settings.kafka_compression,
        linger_ms=2,
        max_batch_size=BATCH_BYTES,
        max_request_size=settings.max_record_bytes,
        request_timeout_ms=int(settings.publish_timeout_s * 1000) + 1000,
        client_id="sluice",
        partitioner=partitioner(settings),
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: Settings) -> None:
    """Create Sluice's topics when missing, with the configured partitions, replication factor and
    min.insync.replicas (sluice/kafka/durability.py). An existing topic weaker than configured, or one
    Kafka refuses to create so, raises ``TopicDurabilityError``: its one-line message says which and why."""
    wants = durability.wanted(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="sluice-admin")
    await admin.start()
    try:
        big_records = {"max.message.bytes": str(settings.max_record_bytes)}
        compacted = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
        special = {settings.registry_topic: compacted, settings.secrets_topic: compacted}
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=want.partitions, replication_factor=want.replication,
                     topic_configs={**special.get(name, big_records), durability.MIN_INSYNC: str(want.min_insync)})
            for name, want in wants.items() if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            # A topic the metadata did not list yet, or another process created meanwhile, is checked too.
            existing |= _raise_creation_errors(response.to_object())
            log.info("created topics %s", [t.name for t in missing if t.name not in existing])
        present = [name for name in wants if name in existing]
        if present:
            await _check(admin, settings, {name: wants[name] for name in present})
    finally:
        await admin.close()


def _raise_creation_errors(response: dict) -> set[str]:
    """The topics a CreateTopics response says exist already; raise for any other error."""
    already = set()
    for entry in response.get("topic_errors", ()):
        code = entry["error_code"]
        if code == TopicAlreadyExistsError.errno:
            already.add(entry["topic"])
        elif code:
            reason = entry.get("error_message") or for_code(code).__name__
            raise durability.TopicDurabilityError(f"Kafka refused to create topic {entry['topic']}: {reason}")
    return already


async def _check(admin: AIOKafkaAdminClient, settings: Settings, wants: dict[str, durability.Durability]) -> None:
    """Raise TopicDurabilityError for the first topic of ``wants`` weaker than wanted; warn of narrower ones."""
    found = await _describe(admin, list(wants))
    for name, want in wants.items():
        have = found[name]
        if have is None:
            log.warning("topic %s could not be described; its durability is not checked", name)
            continue
        problem = durability.weakness(name, have, want, settings.kafka_bootstrap)
        if problem:
            raise durability.TopicDurabilityError(problem)
        narrow = durability.narrower(name, have, want, settings.kafka_bootstrap)
        if narrow:
            log.warning("%s", narrow)


async def _describe(admin: AIOKafkaAdminClient, names: list[str],
                    timeout_s: float = 10.0) -> dict[str, durability.Durability | None]:
    """The durability of each topic, None for one still unknown after ``timeout_s``: a topic just
    created elsewhere reaches every broker's metadata a moment later, and a broker that does not know
    it yet answers without partitions or with an error instead of its configs."""
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = {t["topic"]: t for t in await admin.describe_topics(names)}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name, configs={durability.MIN_INSYNC: None})
                     for name in names]
        configs: dict[str, dict[str, str]] = {}
        for response in await admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                if resource["error_code"] == 0:
                    configs[resource["resource_name"]] = {
                        entry.get("config_names", entry.get("config_name")): entry["config_value"]
                        for entry in resource["config_entries"]}
        found = {name: durability.found(metadata[name], configs[name])
                 if name in metadata and name in configs else None for name in names}
        if all(have is not None for have in found.values()) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition ids of ``topic`` (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="sluice-admin")
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"]:
        return []
    return sorted(p["partition"] for p in described["partitions"])
