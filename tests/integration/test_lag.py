"""Consumer lag read from Kafka: end offsets minus the group's committed offsets."""

from __future__ import annotations

import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from sluice import metrics
from sluice.kafka.clients import ensure_topics
from sluice.settings import load_settings
from workers.lag import LagMonitor, lags

pytestmark = pytest.mark.integration


def test_lag_arithmetic():
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    assert lags({a: 10, b: 5}, {a: 4}) == {a: 6, b: 5}
    assert lags({a: 10}, {a: -1}) == {a: 10}  # Kafka's "no commit" offset


async def test_lag_monitor_reports_uncommitted_records_per_partition(broker):
    uid = uuid.uuid4().hex[:8]
    settings = load_settings({}, kafka_bootstrap=broker.config.bootstrap, ingest_topic=f"lag-{uid}",
                             worker_group=f"lag-group-{uid}")
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    hour_ago_ms = int(time.time() * 1000) - 3600 * 1000
    for i in range(10):  # the i-th record written i minutes after an hour ago
        await producer.send_and_wait(settings.ingest_topic, b"x", partition=i % 2, timestamp_ms=hour_ago_ms + i * 60_000)
    await producer.stop()
    committer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=settings.worker_group,
                                 enable_auto_commit=False)
    await committer.start()
    p0, p1 = TopicPartition(settings.ingest_topic, 0), TopicPartition(settings.ingest_topic, 1)
    committer.assign([p0, p1])
    await committer.commit({p0: OffsetAndMetadata(3, "")})
    await committer.stop()
    monitor = LagMonitor(settings, (settings.ingest_topic,))
    try:
        found = await monitor.sample()
    finally:
        await monitor.stop()
    assert found[p0] == 2 and found[p1] == 5
    assert all(found[TopicPartition(settings.ingest_topic, p)] == 0 for p in (2, 3))
    assert metrics.WORKER_CONSUMER_LAG.labels(settings.ingest_topic, "0")._value.get() == 2
    # The oldest records not stored were written with the backdated timestamps above; a stored-up partition is 0.
    age = lambda p: metrics.WORKER_CONSUMER_LAG_SECONDS.labels(settings.ingest_topic, p)._value.get()  # noqa: E731
    assert 3240 <= age("0") < 3240 + 600  # offset 3 of p0: the 7th record, written 54 minutes before now
    assert 3540 <= age("1") < 3540 + 600 and age("2") == 0  # offset 0 of p1: the 2nd record, 59 minutes before
    assert metrics.TOPIC_RETENTION_SECONDS.labels(settings.ingest_topic)._value.get() == 7 * 86400
