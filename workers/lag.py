"""Consumer lag per partition: what Kafka holds that the workers have not yet stored.

Lag is the partition's end offset minus the group's committed offset, read
from Kafka itself (the group coordinator and the partition leaders) rather
than from the consumer's memory, so it keeps rising while a worker is stuck
on a failing ClickHouse, and it is the same figure whichever worker reports
it: aggregate with ``max by (topic, partition)``.

A backlog also has an age: how long ago the oldest record not yet stored was
accepted (its Kafka timestamp, the gateway's clock), read by fetching the one
record at the committed offset of each lagging partition. Beside it, each
topic's ``retention.ms``: a record older than that is deleted by Kafka whether
it was stored or not, so the alert rules (deploy/prometheus/rules.yml) fire
while the oldest backlog is well inside the retention.
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from sluice import metrics
from sluice.settings import Settings

log = logging.getLogger(__name__)


def lags(ends: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Records not yet committed, per partition; a partition without a commit lags by its whole length."""
    return {tp: max(0, end - max(0, committed.get(tp, 0))) for tp, end in ends.items()}


class LagMonitor:
    def __init__(self, settings: Settings, topics: tuple[str, ...]):
        self.settings, self.topics = settings, topics
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def _start(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap, client_id="sluice-lag")
        await self._admin.start()
        # Reads one record per lagging partition: small fetches, though a larger record still comes whole.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                          client_id="sluice-lag", enable_auto_commit=False,
                                          max_partition_fetch_bytes=64 * 1024, fetch_max_bytes=1024 * 1024)
        await self._consumer.start()

    async def sample(self) -> dict[TopicPartition, int]:
        """Read end and committed offsets from Kafka and set the lag gauge; the lags."""
        if self._consumer is None:
            await self._start()
        assert self._admin is not None and self._consumer is not None
        described = await self._admin.describe_topics(list(self.topics))
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
                      for p in t["partitions"]]
        if not partitions:
            return {}
        ends = await self._consumer.end_offsets(partitions)
        offsets = await self._admin.list_consumer_group_offsets(self.settings.worker_group, partitions=partitions)
        committed = {tp: meta.offset for tp, meta in offsets.items()}
        result = lags(ends, committed)
        for tp, lag in result.items():
            metrics.WORKER_CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        ages = await self._ages({tp: max(0, committed.get(tp, 0)) for tp, lag in result.items() if lag})
        for tp in result:
            metrics.WORKER_CONSUMER_LAG_SECONDS.labels(tp.topic, str(tp.partition)).set(ages.get(tp, 0.0))
        for topic, seconds in (await self._retention()).items():
            metrics.TOPIC_RETENTION_SECONDS.labels(topic).set(seconds)
        return result

    async def _ages(self, first: dict[TopicPartition, int]) -> dict[TopicPartition, float]:
        """Seconds since the record at ``first[tp]`` was written, for each partition; a partition whose
        record is gone (deleted by retention meanwhile) is left out and reads as 0 until the next sample."""
        if not first:
            return {}
        assert self._consumer is not None
        self._consumer.assign(list(first))
        for tp, offset in first.items():
            self._consumer.seek(tp, offset)
        found: dict[TopicPartition, float] = {}
        deadline = time.monotonic() + 5.0
        while len(found) < len(first) and time.monotonic() < deadline:
            batches = await self._consumer.getmany(*[tp for tp in first if tp not in found], timeout_ms=500)
            for tp, records in batches.items():
                if records and tp not in found:
                    found[tp] = max(0.0, time.time() - records[0].timestamp / 1000)
        return found

    async def _retention(self) -> dict[str, float]:
        """Each topic's ``retention.ms`` in seconds (a topic kept forever, -1, is left out)."""
        assert self._admin is not None
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": None}) for t in self.topics]
        retention = {}
        for response in await self._admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                for entry in resource["config_entries"]:
                    if entry["config_names"] == "retention.ms" and int(entry["config_value"]) > 0:
                        retention[resource["resource_name"]] = int(entry["config_value"]) / 1000
        return retention

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
