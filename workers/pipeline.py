"""The worker's chain, free of Faust: records → rows → batches → ClickHouse (+ dead letters).

The Faust agent (workers/app.py) feeds ``process`` chunks of consumed records
and the function that acknowledges one; ``Pipeline.commit`` is the one place
that says in which order a batch is stored, dead-lettered, moved and
acknowledged. Everything here runs and is tested without Faust.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, Iterable

from sluice import metrics
from workers.batches import Batch, BatchPlanner, Pending, TopicPartition
from workers import groups
from workers.claims import Claims, Fenced
from workers.consumed import Consumed
from workers.deadletter import DeadLetter, DeadLetters
from workers.quarantine import REASON as QUARANTINED, Quarantine
from workers.records import Context, Outcome, Rejected, hot_outcomes, rows_of
from workers.sink import ClickHouseSink
from workers.slowlane import SlowLane

log = logging.getLogger(__name__)

#: Acknowledges one consumed record's handle to the consumer (the Faust shell's ``stream.ack``).
Acknowledge = Callable[[object], Awaitable[object]]
#: Per record, in order: its rows from the hot path, or None for ``rows_of`` to judge (``Pipeline.premap``).
Premapped = list["Outcome | None"]


async def _nothing_to_acknowledge(handle: object) -> None:
    return None


class Pipeline:
    def __init__(self, sink: ClickHouseSink, planner: BatchPlanner, dead_letters: DeadLetters,
                 quarantine: Quarantine, context: Context, slow_lane: SlowLane | None = None,
                 claims: Claims | None = None, group_max_rows: int = 0):
        self.sink = sink
        self.planner = planner
        self.dead_letters = dead_letters
        self.quarantine = quarantine
        self.context = context
        self.slow_lane = slow_lane  # None for the slow lane's own pipeline
        # This worker's claims, shared by its lanes (workers/claims.py); None when the pipeline
        # is its partitions' only writer (tests, tools), which then plans them unfenced.
        self.claims = claims
        # Rows a group insert may hold (workers/groups.py); 0: none is formed.
        self.group_max_rows = group_max_rows
        # Decoding, decrypting and normalizing run off the event loop: a key
        # derivation takes a tenth of a second, and the consumer's heartbeats
        # and the web server share that loop.
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="normalize")

    async def premap(self, records: list[Consumed]) -> Premapped:
        """The hot path's outcomes for ``records`` (``hot_outcomes``), off the event loop. Pure: the worker's
        shell maps the next chunk with it while the one before is being stored, then hands both to ``process``."""
        return await asyncio.get_running_loop().run_in_executor(
            self._cpu, hot_outcomes, [(r.value, r.headers, r.timestamp_ns) for r in records], self.context)

    async def process(self, records: Iterable[Consumed], acknowledge: Acknowledge = _nothing_to_acknowledge,
                      premapped: Premapped | None = None) -> list[Batch]:
        """Store every batch the records complete, in offset order per partition, each
        committed in the order ``commit`` states; return the committed batches. Records
        held back for an incomplete replay range are neither in the result nor acknowledged.
        ``premapped``: what ``premap`` gave for exactly these records, when it ran already."""
        records = list(records)
        stored: list[Batch] = []
        start = 0
        for run in runs_of(records):
            part = premapped[start:start + len(run)] if premapped is not None else None
            start += len(run)
            stored += await self._process_run(run, acknowledge, part)
        return stored

    async def _process_run(self, records: list[Consumed], acknowledge: Acknowledge,
                           premapped: Premapped | None) -> list[Batch]:
        firsts: dict[TopicPartition, int] = {}
        for r in records:
            firsts.setdefault((r.topic, r.partition), r.offset)
        for tp, offset in firsts.items():
            if self.planner.needs_intents(tp, offset):
                await self._start(tp, offset)
        # A replay moves to the slow lane exactly what its first life moved.
        moved = {tp: self.planner.diverted(tp) for tp in firsts}
        by_partition = await asyncio.get_running_loop().run_in_executor(self._cpu, self._group, records, moved,
                                                                        premapped)
        by_offset = {(r.topic, r.partition, r.offset): r for r in records}
        planned = [self.planner.plan(tp, items) for tp, items in by_partition.items()]
        every = [batch for batches in planned for batch in batches]
        # Several partitions' batches as one insert, when the worker is their only writer (workers/groups.py):
        # the group is named in their intents, so it is chosen before they are recorded.
        group = groups.plan(every, self.group_max_rows)
        if group:
            token = groups.token(group)
            for batch in group:
                batch.group = token
        # Every batch's intent and claim check in two calls rather than two each (workers/claims.py).
        await self.sink.prepare(every)
        written = {id(b) for b in group} if group and await self.sink.write_group(group) else set()

        async def in_order(batches: list[Batch]) -> list[Batch]:
            done = []
            for batch in batches:
                if not await self.commit(batch, by_offset, acknowledge, id(batch) in written):
                    break  # fenced: the partition's later batches are its new owner's too
                done.append(batch)
            return done

        try:
            # One partition's batches one after the other; partitions side by side (the sink's writing threads).
            async with asyncio.TaskGroup() as tasks:
                committing = [tasks.create_task(in_order(batches)) for batches in planned if batches]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0]  # the caller stops on the first failure as it would without the group
        finally:
            self.sink.unprepare(every)
        return [batch for task in committing for batch in task.result()]

    async def _start(self, tp: TopicPartition, offset: int) -> None:
        """Plan ``tp`` from ``offset`` over its recorded intents, under this worker's claim, which
        is recorded first (workers/claims.py). Without a claim the partition is not this worker's
        (revoked, or fenced): it plans nothing, and the records are left to their owner."""
        claim = None
        if self.claims is not None:
            if self.claims.held(tp) is None:
                self.planner.forget([tp])
                return
            async with self.claims.recording:
                if unrecorded := self.claims.unrecorded():
                    self.claims.recorded(await self.sink.claim(unrecorded))
            claim = self.claims.held(tp)
            if claim is None:  # revoked while its claim was being written
                self.planner.forget([tp])
                return
        self.planner.load(tp, offset, await self.sink.load_intents(tp[0], tp[1], offset), claim)

    async def commit(self, batch: Batch, by_offset: dict[tuple[str, int, int], Consumed],
                     acknowledge: Acknowledge, written: bool = False) -> bool:
        """The commit order of one batch, written once. Each step starts only after the
        previous one was acknowledged by its system, so a crash anywhere re-reads the batch
        and the replay stores, dead-letters and moves nothing twice (workers/batches.py).
        ``written``: its rows are in already, with its group's (``Pipeline._process_run``): step 1 is done.
        False when the batch was fenced: nothing of it stored or acknowledged."""
        if batch.stored:
            # Rebuilt over a range marked stored: steps 1-4 are done, only the acknowledgement was lost.
            metrics.WORKER_SKIPPED_STORED_BATCHES.inc()
            await self._acknowledge(batch, acknowledge)
            return True
        # 1. Rows into ClickHouse, under the batch's deduplication token (its intent first,
        #    with the offsets moved to the slow lane). Records refused for their data come back.
        #    Another owner claimed the partition since: drop the batch, forget the partition.
        try:
            refused = [] if written else await self.sink.write(batch)
        except Fenced as exc:
            log.warning("batch %s dropped unacknowledged, its owner re-reads it: %s", batch.token, exc)
            metrics.WORKER_FENCED_BATCHES.inc()
            self.forget([(batch.topic, batch.partition)])
            if self.claims is not None and batch.claim is not None:
                self.claims.fenced((batch.topic, batch.partition), batch.claim)
            return False
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
                await self.slow_lane.send(item.divert, item.divert.tenant, batch.bookkeeping)
        # 4. The range is stored: a replay acknowledges it without storing (workers/batches.py).
        await self.sink.mark_stored(batch)
        # 5. Acknowledge every record of the batch: Faust commits only acknowledged offsets.
        await self._acknowledge(batch, acknowledge)
        return True

    @staticmethod
    async def _acknowledge(batch: Batch, acknowledge: Acknowledge) -> None:
        for handle in batch.handles:
            await acknowledge(handle)

    def forget(self, tps: list[TopicPartition]) -> None:
        self.planner.forget(tps)

    def _group(self, records: list[Consumed], moved: dict[TopicPartition, frozenset[int]],
               premapped: Premapped | None = None) -> dict[TopicPartition, list[Pending]]:
        out: dict[TopicPartition, list[Pending]] = {}
        # The hot path maps the run's JSON records in one call per format; the rest are judged one by one.
        mapped = premapped if premapped is not None else hot_outcomes(
            [(r.value, r.headers, r.timestamp_ns) for r in records], self.context)
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
            out.setdefault(tp, []).append(Pending(r.offset, rows, r.handle, dead, r.replay_of, divert,
                                                  r.idempotency))
        return out


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
