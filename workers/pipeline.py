"""The worker's chain, free of Faust: records → rows → batches → ClickHouse (+ dead letters).

The Faust agent (workers/app.py) feeds ``process`` chunks of consumed records
and the function that acknowledges one; ``Pipeline.commit`` is the one place
that says in which order a batch is stored, dead-lettered, moved and
acknowledged. Everything here runs and is tested without Faust.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, Iterable

from workers.batches import Batch, BatchPlanner, Pending, TopicPartition
from workers.consumed import Consumed
from workers.deadletter import DeadLetter, DeadLetters
from workers.quarantine import REASON as QUARANTINED, Quarantine
from workers.records import Context, Outcome, Rejected, hot_outcomes, rows_of
from workers.sink import ClickHouseSink
from workers.slowlane import SlowLane


#: Acknowledges one consumed record's handle to the consumer (the Faust shell's ``stream.ack``).
Acknowledge = Callable[[object], Awaitable[object]]


async def _nothing_to_acknowledge(handle: object) -> None:
    return None


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

    async def process(self, records: Iterable[Consumed],
                      acknowledge: Acknowledge = _nothing_to_acknowledge) -> list[Batch]:
        """Store every batch the records complete, in offset order per partition, each
        committed in the order ``commit`` states; return the committed batches. Records
        held back for an incomplete replay range are neither in the result nor acknowledged."""
        stored: list[Batch] = []
        for run in runs_of(list(records)):
            stored += await self._process_run(run, acknowledge)
        return stored

    async def _process_run(self, records: list[Consumed], acknowledge: Acknowledge) -> list[Batch]:
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
                await self.commit(batch, by_offset, acknowledge)
                stored.append(batch)
        return stored

    async def commit(self, batch: Batch, by_offset: dict[tuple[str, int, int], Consumed],
                     acknowledge: Acknowledge) -> None:
        """The commit order of one batch, written once. Each step starts only after the
        previous one was acknowledged by its system, so a crash anywhere re-reads the batch
        and the replay stores, dead-letters and moves nothing twice (workers/batches.py)."""
        # 1. Rows into ClickHouse, under the batch's deduplication token (its intent first,
        #    with the offsets moved to the slow lane). Records refused for their data come back.
        refused = await self.sink.write(batch)
        # 2. Dead letters: what could not be decoded or stored, and what ClickHouse refused.
        letters = [letter for item in batch.items for letter in item.dead]
        for item, message in refused:
            record = by_offset[(batch.topic, batch.partition, item.offset)]
            letters.append(_refused(record, message))
            self.quarantine.refused(record.tenant)
        await self.dead_letters.send(letters)
        # 3. The slow lane: LogFlux records over their tenant's key-derivation budget.
        for item in batch.items:
            if item.divert is not None:
                await self.slow_lane.send(item.divert, item.divert.tenant)
        # 4. Acknowledge every record of the batch: Faust commits only acknowledged offsets.
        for handle in batch.handles:
            await acknowledge(handle)

    def forget(self, tps: list[TopicPartition]) -> None:
        self.planner.forget(tps)

    def _group(self, records: list[Consumed],
               moved: dict[TopicPartition, frozenset[int]]) -> dict[TopicPartition, list[Pending]]:
        groups: dict[TopicPartition, list[Pending]] = {}
        # The hot path maps the run's JSON records in one call per format; the rest are judged one by one.
        mapped = hot_outcomes([(r.value, r.headers, r.timestamp_ns) for r in records], self.context)
        for r, fast in zip(records, mapped):
            tp = (r.topic, r.partition)
            tenant = r.tenant
            held = self.quarantine.held(tenant)
            if r.offset in moved[tp]:
                outcome = Outcome([], [], divert_for=tenant)
            elif held is not None:
                outcome = Outcome([], [(r.value, Rejected(QUARANTINED, held))])
            else:
                outcome = fast or rows_of(r.value, r.headers, r.timestamp_ns, self.context)
                self.quarantine.record(tenant, not outcome.rows and bool(outcome.rejected))
            rows, rejected, divert_for = outcome
            dead = tuple(DeadLetter(r.topic, r.partition, r.offset, r.key, value, r.headers, *why)
                         for value, why in rejected)
            divert = r if divert_for is not None and self.slow_lane is not None else None
            groups.setdefault(tp, []).append(Pending(r.offset, rows, r.handle, dead, r.replay_of, divert,
                                                     r.idempotency))
        return groups


def _refused(record: Consumed, message: str) -> DeadLetter:
    """The dead letter of a record ClickHouse refused: the whole record, with the engine's message."""
    return DeadLetter(record.topic, record.partition, record.offset, record.key, record.value, record.headers,
                      "insert_refused", message)


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
