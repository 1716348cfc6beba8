"""The commit order of a batch (workers/pipeline.Pipeline.commit): rows, dead letters, slow lane,
the range marked stored, then acknowledgement; a step that fails stops the ones after it, so nothing
is acknowledged early. A fenced batch stops at its rows; a batch over a stored range is only acknowledged."""

from __future__ import annotations

import asyncio

import pytest

from sluice import metrics
from workers.batches import Batch, BatchPlanner, Pending
from workers.claims import Claims, Fenced
from workers.consumed import Consumed, headers_of
from workers.deadletter import DeadLetter
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine


class Journal:
    """Fakes of the three systems a batch goes to, writing one shared journal of what happened."""

    def __init__(self, refuse: frozenset[int] = frozenset(), fail_letters: bool = False, fenced: bool = False):
        self.events: list[tuple] = []
        self.refuse, self.fail_letters, self.fenced = refuse, fail_letters, fenced

    async def write(self, batch: Batch):
        self.events.append(("insert", batch.first, batch.last))
        if self.fenced:
            raise Fenced("t:0 claimed by another worker")
        return [(item, "refused by the engine") for item in batch.items if item.offset in self.refuse]

    async def mark_stored(self, batch: Batch):
        self.events.append(("stored", batch.first, batch.last))

    async def send(self, letters):
        if self.fail_letters:
            raise ConnectionError("dead-letter topic unavailable")
        self.events.append(("dead_letters", sorted((x.offset, x.reason) for x in letters)))

    async def move(self, record, tenant, topic_key=""):
        self.events.append(("slow_lane", record.offset, tenant))

    async def acknowledge(self, handle):
        self.events.append(("ack", handle))


def _record(offset: int) -> Consumed:
    return Consumed("t", 0, offset, None, b"{}", headers_of({"sluice-tenant": b"acme"}), 0, f"h{offset}")


def _pipeline(journal: Journal, planner: BatchPlanner | None = None, claims: Claims | None = None) -> Pipeline:
    class Sink:
        write = journal.write
        mark_stored = journal.mark_stored

    class Letters:
        send = journal.send

    class Slow:
        send = journal.move

    return Pipeline(Sink(), planner, Letters(), Quarantine(0.5, 100, 10, 60), None, Slow(), claims)


def _batch(records: list[Consumed], dead_at: int, divert_at: int, **fields) -> Batch:
    items = []
    for r in records:
        dead = (DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, r.headers, "malformed_json", "x"),) \
            if r.offset == dead_at else ()
        items.append(Pending(r.offset, [], r.handle, dead, None, r if r.offset == divert_at else None))
    return Batch("t", 0, records[0].offset, records[-1].offset, items, replay=False, **fields)


def test_rows_then_dead_letters_then_slow_lane_then_every_acknowledgement():
    records = [_record(o) for o in range(4)]
    journal = Journal(refuse=frozenset({2}))
    by_offset = {(r.topic, r.partition, r.offset): r for r in records}
    asyncio.run(_pipeline(journal).commit(_batch(records, dead_at=1, divert_at=3), by_offset, journal.acknowledge))
    assert journal.events == [
        ("insert", 0, 3),
        ("dead_letters", [(1, "malformed_json"), (2, "insert_refused")]),
        ("slow_lane", 3, "acme"),
        ("stored", 0, 3),
        ("ack", "h0"), ("ack", "h1"), ("ack", "h2"), ("ack", "h3"),
    ]


def test_nothing_is_acknowledged_when_the_dead_letters_are_not():
    records = [_record(o) for o in range(3)]
    journal = Journal(fail_letters=True)
    by_offset = {(r.topic, r.partition, r.offset): r for r in records}
    with pytest.raises(ConnectionError):
        asyncio.run(_pipeline(journal).commit(_batch(records, dead_at=1, divert_at=-1), by_offset,
                                              journal.acknowledge))
    assert journal.events == [("insert", 0, 2)]


def test_headers_take_one_shape_whatever_the_client_gave():
    assert headers_of(None) == ()
    assert headers_of({"a": b"1"}) == (("a", b"1"),)
    assert headers_of([("a", b"1"), ("a", b"2")]) == (("a", b"1"), ("a", b"2"))
    record = Consumed("t", 0, 0, None, None, headers_of({"sluice-tenant": b"acme", "sluice-idempotency-key": b"k",
                                                         "sluice-replay-of": b"t:0:9"}), 0, None)
    assert (record.tenant, record.idempotency, record.replay_of) == ("acme", "acme/k", "t:0:9")
    assert _record(0).idempotency == "" and _record(0).replay_of is None


def test_a_fenced_batch_is_neither_acknowledged_nor_planned_further_and_the_claim_is_released():
    records = [_record(o) for o in range(3)]
    journal = Journal(fenced=True)
    planner, claims = BatchPlanner(max_rows=100), Claims()
    claims.assigned([("t", 0)])
    claim = claims.held(("t", 0))
    planner.load(("t", 0), 0, [], claim)
    by_offset = {(r.topic, r.partition, r.offset): r for r in records}
    before = metrics.WORKER_FENCED_BATCHES._value.get()
    done = asyncio.run(_pipeline(journal, planner, claims).commit(
        _batch(records, dead_at=1, divert_at=-1, claim=claim), by_offset, journal.acknowledge))
    assert done is False
    assert journal.events == [("insert", 0, 2)]  # no dead letter, no mark, no acknowledgement
    assert metrics.WORKER_FENCED_BATCHES._value.get() == before + 1
    assert claims.held(("t", 0)) is None and planner.needs_intents(("t", 0), 3)


def test_a_batch_over_a_stored_range_is_only_acknowledged():
    records = [_record(o) for o in range(3)]
    journal = Journal()
    by_offset = {(r.topic, r.partition, r.offset): r for r in records}
    before = metrics.WORKER_SKIPPED_STORED_BATCHES._value.get()
    done = asyncio.run(_pipeline(journal).commit(_batch(records, dead_at=1, divert_at=2, stored=True), by_offset,
                                                 journal.acknowledge))
    assert done is True
    assert journal.events == [("ack", "h0"), ("ack", "h1"), ("ack", "h2")]
    assert metrics.WORKER_SKIPPED_STORED_BATCHES._value.get() == before + 1
