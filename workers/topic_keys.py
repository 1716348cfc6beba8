"""The key a partition's bookkeeping is written under, chosen when the partition starts.

Intents, stored marks, claims, idempotency-key offsets and insert tokens name a
topic ``name@<Kafka topic id>`` (workers/batches.py), so a topic deleted and
created again under its name starts clean. The id is read from Kafka
(sluice/kafka/topic_ids.py) when a partition starts, the moment a worker can
first meet a recreated topic's records: its claim is recorded (``for_claims``)
and its intents loaded (``for_load``) under the same key, with one read.

A topic Kafka gives no id for, and never gave one before to this worker (it did
not answer since the worker started), goes on under the key its newest intent
was recorded under (``recorded_key``): under the bare name a replay would miss
its intents and regroup its records under other tokens. A topic never keyed
(brokers before Kafka 3.1, tools and tests without a broker) keeps its name.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from clickhouse_connect.driver.client import Client

from sluice.kafka.topic_ids import TopicKeys

log = logging.getLogger(__name__)

#: Runs a function with a ClickHouse client on the ClickHouse thread (``Storage.run``).
Run = Callable[..., Awaitable]


def recorded_key(client: Client, db: str, topic: str, settings: dict | None = None) -> str | None:
    """The key ``topic``'s newest intent was recorded under (``topic@<id>``), None when there is none.
    Kafka topic names cannot hold an ``@``, so the prefix is the topic's own."""
    rows = client.query(
        f"SELECT Topic FROM {db}.ingest_batches WHERE startsWith(Topic, {{p:String}}) "
        "ORDER BY CreatedAt DESC, LastOffset DESC LIMIT 1",
        parameters={"p": f"{topic}@"}, settings=settings or {}).result_rows
    return rows[0][0] if rows else None


class StartKeys:
    """Keys for partitions as they start; plain state around ``TopicKeys``, run on the event loop."""

    def __init__(self, topic_keys: TopicKeys, run: Run, db: str, read_settings: dict):
        self.topic_keys = topic_keys
        self._run, self._db, self._read_settings = run, db, read_settings
        self._keyed_by_claim: set[tuple[str, int]] = set()  # partitions ``for_claims`` read a key for

    async def for_claims(self, tps: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """{partition: key} for partitions whose claims are about to be recorded; their loads that
        follow (``for_load``) take the same keys without reading again."""
        await self._refresh({topic for topic, _ in tps})
        self._keyed_by_claim.update(tps)
        return {tp: self.topic_keys.key(tp[0]) for tp in tps}

    async def for_load(self, tp: tuple[str, int]) -> str:
        """The key to load ``tp``'s intents under: the one its claim was just recorded under, else read now
        (a partition that jumps, e.g. a recreated topic read from offset 0 again, starts here too)."""
        if tp in self._keyed_by_claim:
            self._keyed_by_claim.discard(tp)
        else:
            await self._refresh({tp[0]})
        return self.topic_keys.key(tp[0])

    async def _refresh(self, topics: set[str]) -> None:
        await self.topic_keys.refresh(topics)
        for topic in sorted(topics):
            if not self.topic_keys.resolved(topic):
                recorded = await self._run(recorded_key, self._db, topic, self._read_settings)
                if recorded:
                    log.warning("topic %s: no id from Kafka, its bookkeeping goes on under %s", topic, recorded)
                    self.topic_keys.adopt(topic, recorded)
