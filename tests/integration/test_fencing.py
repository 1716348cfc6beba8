"""Claims and stored ranges against the real ClickHouse engine, in this process (workers/claims.py).

An old owner that planned a batch before its partition moved, and records and
inserts it after the new owner regrouped the same records, is fenced; a range
marked stored is acknowledged on replay without inserting, even once the
deduplication window has forgotten its token.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from sluice import metrics
from sluice.settings import load_settings
from sluice.storage import migrate
from tests.integration.test_sink import RecordingDeadLetters, count, records
from workers import claims as claims_sql
from workers.batches import BatchPlanner
from workers.claims import Claim, Claims
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink

pytestmark = pytest.mark.integration


class GatedSink(ClickHouseSink):
    """A sink whose writes wait while ``gate`` is closed (``waiting`` says one does): the old owner
    paused between planning a batch and recording its intent."""

    def __init__(self, storage, settings):
        super().__init__(storage, settings)
        self.gate, self.waiting = asyncio.Event(), asyncio.Event()
        self.gate.set()

    async def prepare(self, batches):
        # A chunk's intents are recorded here first (``ClickHouseSink.prepare``), before any write.
        if not self.gate.is_set():
            self.waiting.set()
        await self.gate.wait()
        return await super().prepare(batches)


def pipeline(sink: ClickHouseSink, claims: Claims | None) -> Pipeline:
    return Pipeline(sink, BatchPlanner(max_rows=1000), RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60),
                    Context(), None, claims)


def owner_of(topic: str) -> Claims:
    claims = Claims()
    claims.assigned([(topic, 0)])
    return claims


async def _old_owner_resumes_after_the_new_owner_regrouped(storage, topic: str, fence: bool) -> list:
    """Old owner stores 0-4, plans 5-9 and pauses; the new owner claims the partition and stores
    5-12 from the committed offset 5 in one batch; the old owner resumes. What the old owner acknowledged."""
    gated = GatedSink(storage, storage.settings)
    old = pipeline(gated, owner_of(topic) if fence else None)
    acknowledged: list = []

    async def ack(handle):
        acknowledged.append(handle)

    await old.process(records(topic, range(0, 5)), ack)
    gated.gate.clear()
    paused = asyncio.ensure_future(old.process(records(topic, range(5, 10)), ack))
    await asyncio.wait_for(gated.waiting.wait(), 30)  # batch 5-9 planned, its intent not recorded
    new = pipeline(ClickHouseSink(storage, storage.settings), owner_of(topic))
    (regrouped,) = await new.process(records(topic, range(5, 13)))
    assert (regrouped.first, regrouped.last, regrouped.replay) == (5, 12, False)
    gated.gate.set()
    await paused
    return acknowledged


async def test_an_old_owner_that_resumes_after_the_new_owner_claimed_stores_nothing(storage):
    topic = f"fence-{uuid.uuid4().hex[:6]}"
    fenced = metrics.WORKER_FENCED_BATCHES._value.get()
    acknowledged = await _old_owner_resumes_after_the_new_owner_regrouped(storage, topic, fence=True)
    assert count(storage, topic) == (39, 39)  # offsets 0-12, three rows each, once
    assert acknowledged == [f"h{o}" for o in range(5)]  # the fenced batch 5-9 is not acknowledged
    assert metrics.WORKER_FENCED_BATCHES._value.get() == fenced + 1


async def test_without_claims_the_same_race_stores_the_regrouped_records_twice(storage):
    # The control: what the fence prevents (issue 26's duplicates).
    topic = f"nofence-{uuid.uuid4().hex[:6]}"
    await _old_owner_resumes_after_the_new_owner_regrouped(storage, topic, fence=False)
    assert count(storage, topic) == (39 + 15, 39)


async def test_a_claim_is_fenced_only_by_a_newer_claim_of_its_partition(storage):
    db, tp = storage.settings.clickhouse_database, (f"claims-{uuid.uuid4().hex[:6]}", 3)
    a, b = Claim("old", 1_000), Claim("new", 2_000)
    storage.run_sync(claims_sql.record, db, [(tp, a)], {})
    assert storage.run_sync(claims_sql.newer_owner, db, tp, a, {}) is None
    storage.run_sync(claims_sql.record, db, [(tp, b)], {})
    assert storage.run_sync(claims_sql.newer_owner, db, tp, a, {}) == b.owner
    assert storage.run_sync(claims_sql.newer_owner, db, tp, b, {}) is None
    assert storage.run_sync(claims_sql.newer_owner, db, (tp[0], 4), a, {}) is None  # another partition


async def test_a_claim_written_twice_by_its_owner_does_not_fence_that_owner(storage):
    # ``record`` writes a second copy of a claim just after the first: the same assignment, whose
    # batches under the first copy must still be stored (nobody else would re-read them).
    db, tp = storage.settings.clickhouse_database, (f"twice-{uuid.uuid4().hex[:6]}", 0)
    claims = Claims()
    claims.assigned([tp])
    ((_, first),) = storage.run_sync(claims_sql.record, db, claims.unrecorded(), {})
    ((_, second),) = storage.run_sync(claims_sql.record, db, claims.unrecorded(), {})
    assert second.owner == first.owner and second.at_ns == first.at_ns + 1
    assert storage.run_sync(claims_sql.newer_owner, db, tp, first, {}) is None
    other = Claim("other", second.at_ns + 1)
    storage.run_sync(claims_sql.record, db, [(tp, other)], {})
    assert storage.run_sync(claims_sql.newer_owner, db, tp, first, {}) == "other"


async def test_a_new_claim_from_a_clock_behind_the_old_owners_is_written_after_it(storage):
    # The old owner's clock ran an hour ahead: a new claim at its own time would be fenced for good.
    db, tp = storage.settings.clickhouse_database, (f"skew-{uuid.uuid4().hex[:6]}", 0)
    old = Claim("ahead", time.time_ns() + 3600 * 10**9)
    storage.run_sync(claims_sql.record, db, [(tp, old)], {})
    claims = Claims()
    claims.assigned([tp])
    ((_, written),) = storage.run_sync(claims_sql.record, db, claims.unrecorded(), {})
    assert written.owner == claims.held(tp).owner and written.at_ns == old.at_ns + 1
    claims.recorded([(tp, written)])
    assert claims.held(tp) == written and claims.unrecorded() == []
    assert storage.run_sync(claims_sql.newer_owner, db, tp, written, {}) is None  # the new owner stores
    assert storage.run_sync(claims_sql.newer_owner, db, tp, old, {}) == written.owner  # the old one is fenced


async def test_a_stored_range_replayed_after_the_dedup_window_forgot_its_token_stores_nothing(storage):
    # A database of its own whose tables remember two insert tokens only.
    settings = load_settings(environ={}, state_dir=storage.settings.state_dir, insert_retry_max_backoff_s=0.05,
                             clickhouse_database=f"tiny_{uuid.uuid4().hex[:6]}", dedup_window=2)
    storage.run_sync(migrate, settings)
    sink = ClickHouseSink(storage, settings)
    topic, db = "window", settings.clickhouse_database

    def stored() -> tuple[int, int]:
        return storage.run_sync(lambda c: c.query(
            f"SELECT count(), uniqExact(Body) FROM {db}.logs WHERE startsWith(Body, 'window-')").result_rows[0])

    first_life = pipeline(sink, owner_of(topic))
    (batch,) = await first_life.process(records(topic, range(0, 10)))
    for offset in range(10, 15):  # five more inserts push the first token out of the window
        await first_life.process(records(topic, [offset]))
    assert stored() == (45, 45)
    await sink.flush_marks()  # the first life stops: its pending marks are written (workers/lanes.py)
    skipped = metrics.WORKER_SKIPPED_STORED_BATCHES._value.get()
    second_life, acknowledged = pipeline(sink, owner_of(topic)), []

    async def ack(handle):
        acknowledged.append(handle)

    replayed = []
    for chunk in (range(0, 4), range(4, 10)):  # offsets reset to 0: the range comes back in other chunks
        replayed += await second_life.process(records(topic, chunk), ack)
    assert [(b.first, b.last, b.stored) for b in replayed] == [(0, 9, True)]
    assert acknowledged == [f"h{o}" for o in range(10)]
    assert stored() == (45, 45)
    assert metrics.WORKER_SKIPPED_STORED_BATCHES._value.get() == skipped + 1
    # The control: without the mark the same replay is stored again, the window no longer knowing it.
    storage.run_sync(lambda c: c.command(f"TRUNCATE TABLE {db}.stored_batches"))
    third_life = pipeline(sink, owner_of(topic))
    await third_life.process(records(topic, range(0, 10)))
    assert stored() == (75, 45)


async def test_stored_range_marks_are_written_together(storage):
    settings = load_settings(environ={}, state_dir=storage.settings.state_dir, insert_retry_max_backoff_s=0.05,
                             stored_marks_per_insert=3, stored_marks_max_delay_s=3600)
    sink, topic, db = ClickHouseSink(storage, settings), f"marks-{uuid.uuid4().hex[:6]}", settings.clickhouse_database

    def marks() -> list[tuple[int, int]]:
        return storage.run_sync(lambda c: c.query(
            f"SELECT FirstOffset, LastOffset FROM {db}.stored_batches WHERE Topic = {{t:String}} ORDER BY FirstOffset",
            parameters={"t": topic}).result_rows)

    lane = pipeline(sink, owner_of(topic))
    for offset in range(2):
        await lane.process(records(topic, [offset]))
    assert marks() == []  # two pending
    await lane.process(records(topic, [2]))
    assert marks() == [(0, 0), (1, 1), (2, 2)]  # the third wrote all three in one insert
    await lane.process(records(topic, [3]))
    await sink.flush_marks(retry=False)
    assert marks()[-1] == (3, 3)


async def test_newer_owners_of_several_partitions_in_one_query_agree_with_newer_owner_for_each(storage):
    db, topic = storage.settings.clickhouse_database, f"owners-{uuid.uuid4().hex[:6]}"
    mine = {p: Claim("me", 1_000 + p) for p in range(3)}
    storage.run_sync(claims_sql.record, db, [((topic, p), claim) for p, claim in mine.items()], {})
    storage.run_sync(claims_sql.record, db, [((topic, 1), Claim("other", 5_000))], {})
    storage.run_sync(claims_sql.record, db, [((topic, 2), Claim("me", 6_000))], {})  # my own later copy
    held = [((topic, p), claim) for p, claim in mine.items()]
    assert storage.run_sync(claims_sql.newer_owners, db, held, {}) == {(topic, 1): "other"}
    for tp, claim in held:
        assert storage.run_sync(claims_sql.newer_owner, db, tp, claim, {}) == (
            "other" if tp == (topic, 1) else None)


class CountingSink(ClickHouseSink):
    """Counts the sink's bookkeeping calls: intents inserted and claims checked, each with how many batches."""

    def __init__(self, storage, settings):
        super().__init__(storage, settings)
        self.calls: list[tuple[str, int]] = []

    def record_intents(self, client, batches):
        self.calls.append(("intents", len(batches)))
        return super().record_intents(client, batches)


def across(topic: str, partitions: int, offsets) -> list:
    """``records`` on each of ``partitions`` partitions, told apart by their bodies and handles."""
    return [r._replace(partition=p, handle=f"p{p}-{r.handle}", value=r.value.replace(
        f'"{topic}-'.encode(), f'"{topic}-p{p}-'.encode())) for p in range(partitions) for r in records(topic, offsets)]


async def test_a_chunk_records_its_batches_intents_in_one_insert_and_checks_their_claims_in_one_query(
        storage, monkeypatch):
    topic = f"prepared-{uuid.uuid4().hex[:6]}"
    sink = CountingSink(storage, storage.settings)
    checks: list[int] = []
    real = claims_sql.newer_owners
    monkeypatch.setattr(claims_sql, "newer_owners", lambda c, db, held, s: checks.append(len(held)) or real(
        c, db, held, s))
    claims = Claims()
    claims.assigned([(topic, p) for p in range(3)])
    lane = pipeline(sink, claims)
    stored = await lane.process(across(topic, 3, range(0, 4)))
    assert sorted((b.partition, b.first, b.last) for b in stored) == [(p, 0, 3) for p in range(3)]
    assert sink.calls == [("intents", 3)] and checks == [3]  # not three of each
    assert count(storage, topic) == (36, 36)
    intents = storage.run_sync(lambda c: c.query(
        "SELECT Partition, FirstOffset, LastOffset FROM sluice.ingest_batches WHERE Topic = {t:String} "
        "ORDER BY Partition", parameters={"t": topic}).result_rows)
    assert intents == [(p, 0, 3) for p in range(3)]
    assert sink._prepared == set()


async def test_a_fenced_partition_in_a_prepared_chunk_stores_nothing_and_the_others_store(storage):
    topic, db = f"mixed-{uuid.uuid4().hex[:6]}", storage.settings.clickhouse_database
    claims = Claims()
    claims.assigned([(topic, 0), (topic, 1)])
    lane, acknowledged = pipeline(ClickHouseSink(storage, storage.settings), claims), []

    async def ack(handle):
        acknowledged.append(handle)

    await lane.process(across(topic, 2, [0]), ack)  # both claims recorded, both partitions stored
    newer = Claim("new-owner", time.time_ns() + 10**9)
    storage.run_sync(claims_sql.record, db, [((topic, 1), newer)], {})
    stored = await lane.process(across(topic, 2, range(1, 5)), ack)
    assert [(b.partition, b.first, b.last) for b in stored] == [(0, 1, 4)]
    # The first chunk's partitions were committed side by side, in either order; then partition 0 alone.
    assert set(acknowledged[:2]) == {"p0-h0", "p1-h0"} and acknowledged[2:] == [f"p0-h{o}" for o in range(1, 5)]
    assert count(storage, topic) == (18, 18)  # partition 0's five records and partition 1's first, three rows each
    assert lane.sink._prepared == set()  # the fenced batch's mark does not outlive its chunk
