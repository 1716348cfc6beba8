"""A poll for idle partitions returns a drained partition's records once woken (workers/poll_wake.py), on a
real broker, with aiokafka's own fetcher called as Faust's consumer thread calls it."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sluice.kafka.clients import ensure_topics
from sluice.settings import load_settings
from workers.poll_wake import PollWake

pytestmark = pytest.mark.integration


async def waiting(fetcher, poll: asyncio.Task, timeout_s: float = 30) -> None:
    """Until ``poll`` waits on the fetcher for new records."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not fetcher._fetch_waiters:
        assert not poll.done(), poll.result()
        assert loop.time() < deadline, "the poll never waited for records"
        await asyncio.sleep(0.01)


async def test_a_poll_for_idle_partitions_returns_a_drained_lanes_records_once_woken(broker):
    uid = uuid.uuid4().hex[:8]
    # The main lane's topic with a backlog, and an idle lane's topic, as a worker consumes both.
    settings = load_settings({}, kafka_bootstrap=broker.config.bootstrap, ingest_topic=f"busy-{uid}",
                             slow_topic=f"idle-{uid}")
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for i in range(40):
            await producer.send(settings.ingest_topic, b"%d" % i, partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    busy, idle = TopicPartition(settings.ingest_topic, 0), TopicPartition(settings.slow_topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([busy, idle])
        fetcher = consumer._fetcher
        # The first poll leaves the rest of the busy partition's fetch buffered, as a full stream buffer does.
        first = await fetcher.fetched_records({busy, idle}, timeout=30, max_records=1)
        assert [r.offset for r in first[busy]] == [0]

        # Faust's live set of partitions with room: the busy one is left out while its buffer is full.
        active = {idle}
        unwoken = asyncio.create_task(fetcher.fetched_records(active, timeout=2, max_records=16))
        await waiting(fetcher, unwoken)
        active.add(busy)  # its buffer drained: Faust puts it back, but nothing tells the poll in flight
        assert await unwoken == {}  # the poll waited out its timeout with 39 records buffered

        wake = PollWake()
        wake.bind_consumer(asyncio.get_running_loop(), consumer)
        active.discard(busy)
        woken = asyncio.create_task(fetcher.fetched_records(active, timeout=600, max_records=16))
        await waiting(fetcher, woken)
        active.add(busy)
        wake.wake()
        got = await asyncio.wait_for(woken, 60)  # long before the poll's own 600 s
        assert [r.offset for r in got[busy]] == list(range(1, 17))
    finally:
        await consumer.stop()
