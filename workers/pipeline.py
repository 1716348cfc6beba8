"""The worker's chain, free of Faust: records → rows → batches → ClickHouse.

The Faust agent (workers/app.py) feeds ``process`` chunks of consumed
records and acknowledges each batch's records after ``process`` returned it
as stored. Everything here runs and is tested without a broker.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from workers.batches import Batch, BatchPlanner, Pending, TopicPartition
from workers.records import rows_or_nothing
from workers.sink import ClickHouseSink


class Consumed(NamedTuple):
    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Any
    handle: Any  # passed back untouched for acknowledgement


class Pipeline:
    def __init__(self, sink: ClickHouseSink, planner: BatchPlanner):
        self.sink = sink
        self.planner = planner

    async def process(self, records: Iterable[Consumed]) -> list[Batch]:
        """Store every batch the records complete, in offset order per partition;
        return them once ClickHouse accepted all. Records held back for an
        incomplete replay range are not in the result."""
        stored: list[Batch] = []
        for tp, items in self._group(records).items():
            if self.planner.needs_intents(tp, items[0].offset):
                intents = await self.sink.load_intents(tp[0], tp[1], items[0].offset)
                self.planner.load(tp, items[0].offset, intents)
            for batch in self.planner.plan(tp, items):
                await self.sink.write(batch)
                stored.append(batch)
        return stored

    def forget(self, tps: list[TopicPartition]) -> None:
        self.planner.forget(tps)

    @staticmethod
    def _group(records: Iterable[Consumed]) -> dict[TopicPartition, list[Pending]]:
        groups: dict[TopicPartition, list[Pending]] = {}
        for r in records:
            where = f"{r.topic}/{r.partition}@{r.offset}"
            rows = rows_or_nothing(r.value, r.headers, where)
            groups.setdefault((r.topic, r.partition), []).append(Pending(r.offset, rows, r.handle))
        return groups
