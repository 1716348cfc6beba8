"""Kafka client construction and topic set-up, shared by the gateway, workers and CLI."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sluice.settings import Settings

log = logging.getLogger(__name__)


# Record batches are compressed once, by the producer; the broker keeps them as sent
# (the topic's compression.type is "producer") but reads each batch once to validate it,
# and every consumer inflates it again. snappy is the default because the CPU is the
# scarce resource: for a batch of 100 LogFlux entries (31 KB) it takes 38 us to
# compress and 8 us to inflate, zstd 190-250 us and 70 us, for 16.6 KB against 11.6 KB.
# aiokafka's lz4 is at level 9 (380 us). zstd suits links where bytes cost more than cores.
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


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
        max_request_size=settings.max_record_bytes,
        request_timeout_ms=int(settings.publish_timeout_s * 1000) + 1000,
        client_id="sluice",
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: Settings) -> None:
    """Create Sluice's topics when missing. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="sluice-admin")
    await admin.start()
    try:
        big_records = {"max.message.bytes": str(settings.max_record_bytes)}
        wanted = [
            NewTopic(name, num_partitions=settings.topic_partitions,
                     replication_factor=settings.topic_replication, topic_configs=big_records)
            for name in (settings.ingest_topic, settings.native_topic, settings.dlq_topic, settings.slow_topic,
                         settings.overflow_topic)
        ] + [
            NewTopic(name, num_partitions=1, replication_factor=settings.topic_replication,
                     topic_configs={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"})
            for name in (settings.registry_topic, settings.secrets_topic)
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()


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
