"""Consumer lag per partition: what Kafka holds that the workers have not yet stored.

Lag is the partition's end offset minus the group's committed offset, read
from Kafka itself (the group coordinator and the partition leaders) rather
than from the consumer's memory, so it keeps rising while a worker is stuck
on a failing ClickHouse, and it is the same figure whichever worker reports
it: aggregate with ``max by (topic, partition)``.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                          client_id="sluice-lag", enable_auto_commit=False)
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
        result = lags(ends, {tp: meta.offset for tp, meta in offsets.items()})
        for tp, lag in result.items():
            metrics.WORKER_CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        return result

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
