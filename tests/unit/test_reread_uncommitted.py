"""After a rebalance, partitions with nothing committed are read again from their start
(workers.app.reread_uncommitted): aiokafka's seek to the committed offset skips them, and the
records dropped in flight at the revocation would otherwise be passed over and committed unstored."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from workers.app import reread_uncommitted


class Consumer:
    """The two calls of Faust's consumer that the hook makes, recorded."""

    def __init__(self, committed: dict):
        self.committed = committed
        self.seeks: list[dict] = []

    async def seek_to_committed(self) -> dict:
        return dict(self.committed)

    async def seek_wait(self, partitions: dict) -> None:
        self.seeks.append(dict(partitions))


def test_partitions_without_a_commit_are_read_from_their_start_and_the_others_are_left_alone():
    p0, p1, p2, p3 = (TopicPartition("sluice-ingest", n) for n in range(4))
    p4 = TopicPartition("sluice-records", 0)
    consumer = Consumer({p0: None, p1: 0, p2: 41, p3: -1, p4: None})
    asyncio.run(reread_uncommitted(consumer, {p0, p1, p2, p3}))
    # p2 was sought to 41 by seek_to_committed itself; p4 is not assigned to this worker
    assert consumer.seeks == [{p0: 0, p1: 0, p3: 0}]


def test_nothing_is_sought_when_every_partition_has_a_commit_or_none_is_assigned():
    p0 = TopicPartition("sluice-ingest", 0)
    consumer = Consumer({p0: 7})
    asyncio.run(reread_uncommitted(consumer, {p0}))
    asyncio.run(reread_uncommitted(consumer, set()))
    assert consumer.seeks == []
