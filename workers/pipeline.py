"""The worker's chain, free of Faust: records → rows → batches → ClickHouse (+ dead letters).

The Faust agent (workers/app.py) feeds ``process`` chunks of consumed
records and acknowledges each batch's records after ``process`` returned it
as stored. Everything here runs and is tested without Faust.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, NamedTuple

from workers.batches import Batch, BatchPlanner, Pending, TopicPartition
from schemas.envelope import IDEMPOTENCY_KEY, TENANT
from workers.deadletter import DeadLetter, DeadLetters, replay_origin
from workers.quarantine import REASON as QUARANTINED, Quarantine
from workers.records import Context, Outcome, Rejected, rows_of
from workers.sink import ClickHouseSink
from workers.slowlane import SlowLane


class Consumed(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp_ns: int  # the Kafka record's timestamp
    handle: Any  # passed back untouched for acknowledgement


class Pipeline:
    def __init__(self, sink: ClickHouseSink, planner: BatchPlanner, dead_letters: DeadLetters,
                 quarantine: Quarantine, context: Context, slow_lane: SlowLane | None = None):
        self.sink = sink
        self.planner = planner
        self.dead_letters = dead_letters
        self.quarantine = quarantine
        self.context = context
        self.slow_lane = slow_lane  # None for the slow lane's own pipeline
        # Decoding, decrypting and normalizing run off the event loop: a key
        # derivation takes a tenth of a second, and the consumer's heartbeats
        # and the web server share that loop.
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="normalize")

    async def process(self, records: Iterable[Consumed]) -> list[Batch]:
        """Store every batch the records complete, in offset order per partition,
        dead-letter the batch's unstorable records, and return the batches once
        ClickHouse and the dead-letter topic accepted all of it. Records held
        back for an incomplete replay range are not in the result.

        The commit order per batch: rows into ClickHouse (records it refuses
        for their data become dead letters), then the dead letters, then the
        slow lane; the caller acknowledges the batch's records only after that.
        """
        stored: list[Batch] = []
        for run in runs_of(list(records)):
            stored += await self._process_run(run)
        return stored

    async def _process_run(self, records: list[Consumed]) -> list[Batch]:
        firsts: dict[TopicPartition, int] = {}
        for r in records:
            firsts.setdefault((r.topic, r.partition), r.offset)
        for tp, offset in firsts.items():
            if self.planner.needs_intents(tp, offset):
                self.planner.load(tp, offset, await self.sink.load_intents(tp[0], tp[1], offset))
        # A replay moves to the slow lane exactly what its first life moved.
        moved = {tp: self.planner.diverted(tp) for tp in firsts}
        groups = await asyncio.get_running_loop().run_in_executor(self._cpu, self._group, records, moved)
        by_offset = {(r.topic, r.partition, r.offset): r for r in records}
        stored: list[Batch] = []
        for tp, items in groups.items():
            for batch in self.planner.plan(tp, items):
                refused = await self.sink.write(batch)  # records the moved offsets with the intent
                letters = [letter for item in batch.items for letter in item.dead]
                for item, message in refused:
                    record = by_offset[(batch.topic, batch.partition, item.offset)]
                    letters.append(_refused(record, message))
                    self.quarantine.refused(_tenant(record.headers))
                await self.dead_letters.send(letters)
                for item in batch.items:
                    if item.divert is not None:
                        await self.slow_lane.send(item.divert, _tenant(item.divert.headers))
                stored.append(batch)
        return stored

    def forget(self, tps: list[TopicPartition]) -> None:
        self.planner.forget(tps)

    def _group(self, records: list[Consumed],
               moved: dict[TopicPartition, frozenset[int]]) -> dict[TopicPartition, list[Pending]]:
        groups: dict[TopicPartition, list[Pending]] = {}
        for r in records:
            tp = (r.topic, r.partition)
            tenant = _tenant(r.headers)
            held = self.quarantine.held(tenant)
            if r.offset in moved[tp]:
                outcome = Outcome([], [], divert_for=tenant)
            elif held is not None:
                outcome = Outcome([], [(r.value, Rejected(QUARANTINED, held))])
            else:
                outcome = rows_of(r.value, r.headers, r.timestamp_ns, self.context)
                self.quarantine.record(tenant, not outcome.rows and bool(outcome.rejected))
            rows, rejected, divert_for = outcome
            dead = tuple(DeadLetter(r.topic, r.partition, r.offset, r.key, value, r.headers, *why)
                         for value, why in rejected)
            divert = r if divert_for is not None and self.slow_lane is not None else None
            groups.setdefault(tp, []).append(Pending(r.offset, rows, r.handle, dead, replay_origin(r.headers), divert,
                                                     _idempotency(r.headers)))
        return groups


def _refused(record: Consumed, message: str) -> DeadLetter:
    """The dead letter of a record ClickHouse refused: the whole record, with the engine's message."""
    return DeadLetter(record.topic, record.partition, record.offset, record.key, record.value, record.headers,
                      "insert_refused", message)


def _header(headers: Any, name: str) -> str:
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    return next((v.decode(errors="replace") for k, v in items if k == name), "")


def _tenant(headers: Any) -> str:
    return _header(headers, TENANT)


def _idempotency(headers: Any) -> str:
    key = _header(headers, IDEMPOTENCY_KEY)
    return f"{_tenant(headers)}/{key}" if key else ""


def runs_of(records: list[Consumed]) -> list[list[Consumed]]:
    """Cut a chunk wherever a partition's offsets go backwards.

    A consumer whose position was reset (a broker that came back with a shorter
    log, a seek) delivers offsets it delivered before, possibly in the same
    chunk. Each run then starts again from the recorded intents, so re-read
    records replay under their first batch's token instead of forming a new one.
    """
    runs: list[list[Consumed]] = [[]]
    last: dict[TopicPartition, int] = {}
    for r in records:
        tp = (r.topic, r.partition)
        if tp in last and r.offset <= last[tp]:
            runs.append([])
            last = {}
        runs[-1].append(r)
        last[tp] = r.offset
    return [run for run in runs if run]
