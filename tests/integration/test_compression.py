"""Every codec ``kafka_compression`` accepts goes through the real broker and back.

The broker reads each compressed batch to validate it, so a codec missing from its
classpath (snappy-java, lz4-java, zstd-jni) fails here, not in production.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from sluice.kafka.clients import CODECS, ensure_topics, producer
from sluice.settings import load_settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("codec", CODECS)
async def test_records_round_trip_with_each_codec(broker, codec):
    settings = load_settings({}, kafka_bootstrap=broker.config.bootstrap, ingest_topic=f"codec-{uuid.uuid4().hex[:8]}",
                             topic_partitions=1, kafka_compression=codec)
    await ensure_topics(settings)
    sent = [b'{"entries":[' + b'{"node":"web-1","payload":"AAAA"},' * i + b"{}]}" for i in range(1, 50)]
    p = producer(settings)
    await p.start()
    try:
        for value in sent:
            await p.send(settings.ingest_topic, value)
        await p.flush()
    finally:
        await p.stop()
    consumer = AIOKafkaConsumer(settings.ingest_topic, bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        got: list[bytes] = []
        for _ in range(10):  # at most 10 s
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                got += [r.value for r in records]
            if len(got) >= len(sent):
                break
    finally:
        await consumer.stop()
    assert got == sent
