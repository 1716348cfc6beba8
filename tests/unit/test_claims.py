"""A worker's claims (workers/claims.py) and how the planner and the pipeline use them: a partition is
planned only under a claim, the claim is recorded before the partition's intents are read, and every
batch carries the claim it was planned under; a range marked stored comes back as a stored batch."""

from __future__ import annotations

import asyncio

from workers.batches import BatchPlanner, Intent, Pending
from workers.claims import Claims
from workers.consumed import Consumed, headers_of
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine

TP = ("t", 0)


def test_each_assignment_claims_anew_later_than_the_last_and_a_release_drops_the_claim():
    claims = Claims()
    claims.assigned([TP, ("t", 1)])
    first = claims.held(TP)
    assert claims.held(("t", 1)) == first  # one claim per assignment
    claims.assigned([TP])
    second = claims.held(TP)
    assert second.owner != first.owner and second.at_ns > first.at_ns
    claims.release([TP])
    assert claims.held(TP) is None and claims.held(("t", 1)) == first
    assert claims.unrecorded() == [(("t", 1), first)]


def test_a_fenced_claim_is_released_but_a_newer_claim_of_the_same_worker_is_kept():
    claims = Claims()
    claims.assigned([TP])
    old = claims.held(TP)
    claims.assigned([TP])  # revoked and assigned here again while a batch under ``old`` was in flight
    claims.fenced(TP, old)
    assert claims.held(TP) is not None and claims.held(TP) != old
    claims.fenced(TP, claims.held(TP))
    assert claims.held(TP) is None


def test_a_claim_replaced_while_it_was_being_recorded_stays_unrecorded():
    claims = Claims()
    claims.assigned([TP])
    writing = claims.unrecorded()
    claims.assigned([TP])  # a rebalance during the write
    claims.recorded(writing)
    assert claims.unrecorded() == [(TP, claims.held(TP))]
    claims.recorded(claims.unrecorded())
    assert claims.unrecorded() == []


def test_batches_carry_the_claim_they_were_planned_under_and_a_stored_intent_comes_back_stored():
    claims = Claims()
    claims.assigned([TP])
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [Intent(0, 2, (), stored=True), Intent(3, 4)], claims.held(TP))
    batches = planner.plan(TP, [Pending(o, [o], f"h{o}") for o in range(7)])
    assert [(b.first, b.last, b.replay, b.stored) for b in batches] == [
        (0, 2, True, True), (3, 4, True, False), (5, 6, False, False)]
    assert {b.claim for b in batches} == {claims.held(TP)}
    assert batches[2].part(batches[2].items[:1]).claim == claims.held(TP)


class JournalSink:
    """The sink calls the pipeline makes before a partition's first batch, in order."""

    def __init__(self):
        self.events: list[tuple] = []

    async def claim(self, held):
        self.events.append(("claim", sorted(tp for tp, _ in held)))
        return held

    async def load_intents(self, topic, partition, offset):
        self.events.append(("intents", (topic, partition), offset))
        return []

    async def prepare(self, batches):
        self.events.append(("prepare", [((b.topic, b.partition), b.first, b.last) for b in batches]))

    def unprepare(self, batches):
        pass

    async def write(self, batch):
        self.events.append(("insert", (batch.topic, batch.partition), batch.first, batch.last, batch.claim))
        return []

    async def mark_stored(self, batch):
        pass


def _records(partition: int, offsets) -> list[Consumed]:
    return [Consumed("t", partition, o, None, b"not json", headers_of({"sluice-tenant": b"acme"}), 0, f"h{partition}-{o}")
            for o in offsets]


def _pipeline(sink: JournalSink, claims: Claims) -> Pipeline:
    class Letters:
        async def send(self, letters):
            pass

    return Pipeline(sink, BatchPlanner(max_rows=100), Letters(), Quarantine(0.99, 100, 100, 60), None, None, claims)


def test_claims_are_recorded_once_before_any_intent_is_read_and_unclaimed_partitions_plan_nothing():
    sink, claims = JournalSink(), Claims()
    claims.assigned([TP, ("t", 1)])
    pipeline, acknowledged = _pipeline(sink, claims), []

    async def ack(handle):
        acknowledged.append(handle)

    async def run():
        await pipeline.process(_records(0, [5, 6]) + _records(1, [0]) + _records(2, [9]), ack)
        await pipeline.process(_records(0, [7]), ack)

    asyncio.run(run())
    claim = claims.held(TP)
    assert sink.events[:4] == [("claim", [TP, ("t", 1)]), ("intents", TP, 5), ("intents", ("t", 1), 0),
                               ("prepare", [(TP, 5, 6), (("t", 1), 0, 0)])]  # the chunk's batches together, first
    assert ("intents", ("t", 2), 9) not in sink.events  # partition 2 was never assigned here
    assert ("insert", TP, 5, 6, claim) in sink.events and ("insert", TP, 7, 7, claim) in sink.events
    assert "h2-9" not in acknowledged and {"h0-5", "h0-6", "h0-7", "h1-0"} <= set(acknowledged)
    assert claims.unrecorded() == []


class SlowClaimSink(JournalSink):
    """Recording a claim takes a while, as a ClickHouse insert does: the other lane runs meanwhile."""

    async def claim(self, held):
        for _ in range(5):
            await asyncio.sleep(0)
        return await super().claim(held)


def test_two_lanes_starting_at_once_record_each_claim_once_and_both_store_under_it():
    # The main and overflow lanes share the worker's claims; when both needed them at the same
    # moment, each wrote the same claim, and the second copy fenced the first lane's batches.
    sink, claims = SlowClaimSink(), Claims()
    claims.assigned([TP, ("t", 1)])
    main, overflow, acknowledged = _pipeline(sink, claims), _pipeline(sink, claims), []

    async def ack(handle):
        acknowledged.append(handle)

    async def run():
        await asyncio.gather(main.process(_records(0, [0, 1]), ack), overflow.process(_records(1, [0]), ack))

    asyncio.run(run())
    assert [e for e in sink.events if e[0] == "claim"] == [("claim", [TP, ("t", 1)])]
    claim = claims.held(TP)
    assert ("insert", TP, 0, 1, claim) in sink.events and ("insert", ("t", 1), 0, 0, claim) in sink.events
    assert set(acknowledged) == {"h0-0", "h0-1", "h1-0"}


class RendezvousSink(JournalSink):
    """Each partition's insert waits until the other partition's insert has started: only partitions
    committed side by side get through."""

    def __init__(self):
        super().__init__()
        self.started = {0: asyncio.Event(), 1: asyncio.Event()}

    async def write(self, batch):
        self.started[batch.partition].set()
        await self.started[1 - batch.partition].wait()
        return await super().write(batch)


def test_partitions_of_a_chunk_are_committed_side_by_side_each_in_its_own_order():
    sink, claims = RendezvousSink(), Claims()
    claims.assigned([TP, ("t", 1)])
    pipeline, acknowledged = _pipeline(sink, claims), []

    async def ack(handle):
        acknowledged.append(handle)

    stored = asyncio.run(asyncio.wait_for(pipeline.process(_records(0, [0, 1]) + _records(1, [0]), ack), 5))
    assert [(b.partition, b.first, b.last) for b in stored] == [(0, 0, 1), (1, 0, 0)]
    assert acknowledged.index("h0-0") < acknowledged.index("h0-1")
    assert set(acknowledged) == {"h0-0", "h0-1", "h1-0"}
