"""Group inserts (workers/groups.py) against the real engine: one insert for a chunk's partitions, its
marker row in the same part, and replays that store every row once whether the group insert landed or not."""

from __future__ import annotations

import time

import pytest

from schemas.envelope import Envelope, to_headers
from sluice import metrics
from workers.batches import BatchPlanner
from workers.consumed import Consumed
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink

from tests.integration.test_sink import RecordingDeadLetters

pytestmark = pytest.mark.integration

PER_RECORD = 3


class Crash(BaseException):
    """The process dying: no retry catches it, nothing after it runs."""


def records(topic: str, partitions: int, offsets, received_ns: int | None = None) -> list[Consumed]:
    """LogInformant batches of ``PER_RECORD`` entries, at ``offsets`` of each partition, partition by partition.
    A replay reads the same records again: a test keeps the list (each call is received anew)."""
    env = Envelope("loginformant.batch.v1", "acme", "req", received_ns or time.time_ns())
    out = []
    for p in range(partitions):
        for o in offsets:
            body = ('{"logs": [%s]}' % ",".join(
                '{"level": "Error", "message": "%s-%d-%d-%d"}' % (topic, p, o, i) for i in range(PER_RECORD))).encode()
            out.append(Consumed(topic, p, o, None, body, to_headers(env), env.received_ns, f"h{p}:{o}"))
    return out


def count(storage, topic: str) -> tuple[int, int]:
    """(rows, distinct bodies) of ``topic``'s records."""
    return storage.run_sync(lambda c: c.query(
        "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE startsWith(Body, {t:String})",
        parameters={"t": topic + "-"}).result_rows[0])


def pipeline(storage, sink: ClickHouseSink | None = None, group_max_rows: int = 10_000) -> Pipeline:
    return Pipeline(sink or ClickHouseSink(storage, storage.settings), BatchPlanner(max_rows=1000),
                    RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60), Context(), group_max_rows=group_max_rows)


def groups_inserted() -> float:
    return metrics.WORKER_GROUP_INSERTS._value.get()


def found_by_group() -> float:
    return metrics.WORKER_UNHEARD_COMMITS.labels("group")._value.get()


async def test_a_chunk_of_three_partitions_is_one_insert_and_its_intents_name_it(storage):
    before = groups_inserted()
    stored = await pipeline(storage).process(records("trio", 3, range(4)))
    assert sorted((b.partition, b.first, b.last) for b in stored) == [(0, 0, 3), (1, 0, 3), (2, 0, 3)]
    assert groups_inserted() - before == 1
    assert count(storage, "trio") == (3 * 4 * PER_RECORD, 3 * 4 * PER_RECORD)
    parts = storage.run_sync(lambda c: c.query(
        "SELECT uniqExact(_part) FROM sluice.logs WHERE startsWith(Body, 'trio-')").result_rows[0][0])
    assert parts == 1
    (token,) = {b.group for b in stored}
    assert token == "group:trio:0:0-3+1:0-3+2:0-3"
    markers = storage.run_sync(lambda c: c.query(
        "SELECT count(), any(_part) = (SELECT any(_part) FROM sluice.logs WHERE startsWith(Body, 'trio-')) "
        "FROM sluice.logs WHERE TenantId = '' AND Body = {t:String}", parameters={"t": token}).result_rows[0])
    assert markers == (1, True)  # one marker, in the rows' part
    recorded = storage.run_sync(lambda c: c.query(
        "SELECT Partition, InsertGroup FROM sluice.ingest_batches WHERE Topic = 'trio' ORDER BY Partition").result_rows)
    assert recorded == [(0, token), (1, token), (2, token)]


async def test_without_a_row_bound_each_partition_is_its_own_insert(storage):
    before = groups_inserted()
    stored = await pipeline(storage, group_max_rows=0).process(records("alone", 3, range(4)))
    assert groups_inserted() == before and {b.group for b in stored} == {""}
    assert count(storage, "alone") == (36, 36)


async def test_a_replay_after_the_group_landed_stores_nothing_twice(storage):
    class DiesAfterTheGroup(ClickHouseSink):
        def insert_group(self, client, members):
            super().insert_group(client, members)
            raise Crash

    sent = records("landed", 3, range(5))
    with pytest.raises(Crash):
        await pipeline(storage, DiesAfterTheGroup(storage, storage.settings)).process(sent)
    assert count(storage, "landed") == (45, 45)  # the rows are in; nothing was acknowledged
    found = found_by_group()
    # The next life reads the records again, in other chunks: each batch is rebuilt over its intent.
    second = pipeline(storage)
    replayed = await second.process([r for r in sent if r.offset < 2])
    replayed += await second.process([r for r in sent if r.offset >= 2])
    assert sorted((b.partition, b.first, b.last, b.replay) for b in replayed) == [
        (0, 0, 4, True), (1, 0, 4, True), (2, 0, 4, True)]
    assert found_by_group() - found == 3
    assert count(storage, "landed") == (45, 45)


async def test_a_replay_after_the_group_did_not_land_stores_each_batch_alone_once(storage):
    class DiesBeforeTheGroup(ClickHouseSink):
        def insert_group(self, client, members):
            raise Crash

    sent = records("lost", 3, range(5))
    with pytest.raises(Crash):
        await pipeline(storage, DiesBeforeTheGroup(storage, storage.settings)).process(sent)
    assert count(storage, "lost") == (0, 0)
    before = groups_inserted()
    replayed = await pipeline(storage).process(sent)
    assert sorted((b.partition, b.replay) for b in replayed) == [(0, True), (1, True), (2, True)]
    assert groups_inserted() == before  # a replay is never grouped again
    assert count(storage, "lost") == (45, 45)
    # A third life, the marks lost with a crash: the group is still not in, each batch is inserted alone again
    # under the same token of its own, and ClickHouse drops the copies.
    storage.run_sync(lambda c: c.command("DELETE FROM sluice.stored_batches WHERE Topic = 'lost'"))
    found = found_by_group()
    again = await pipeline(storage).process(sent)
    assert [b.stored for b in again] == [False, False, False] and found_by_group() == found
    assert count(storage, "lost") == (45, 45)


async def test_members_stored_alone_after_a_failure_past_the_group_insert_are_not_stored_twice(storage):
    class FailsAfterTheGroup(ClickHouseSink):
        def insert_group(self, client, members):
            super().insert_group(client, members)
            raise ValueError("a failure after the rows went in, taken for the rows' fault")

    found = found_by_group()
    stored = await pipeline(storage, FailsAfterTheGroup(storage, storage.settings)).process(records("after", 2, range(3)))
    assert len(stored) == 2 and found_by_group() - found == 2  # each member alone found its group's marker
    assert count(storage, "after") == (18, 18)


async def test_rows_received_on_two_days_are_stored_partition_by_partition(storage):
    day = 86_400 * 10**9
    early, late = records("days", 1, range(3), time.time_ns()), records("days", 2, range(3), time.time_ns() + day)
    chunk = early + [r for r in late if r.partition == 1]
    before = groups_inserted()
    stored = await pipeline(storage).process(chunk)
    assert groups_inserted() == before
    assert sorted((b.partition, bool(b.group)) for b in stored) == [(0, True), (1, True)]  # planned, then alone
    assert count(storage, "days") == (18, 18)
    found = found_by_group()
    again = await pipeline(storage).process(chunk)  # a replay (its marks not written yet): alone again, dropped
    assert [b.replay for b in again] == [True, True] and found_by_group() == found
    assert count(storage, "days") == (18, 18)


async def test_a_group_whose_rows_are_refused_is_stored_batch_by_batch_and_only_the_bad_record_refused(storage):
    import pyarrow as pa

    from schemas.rows.columnar import ArrowRows
    from tests.integration.test_sink import native_records
    from workers import groups
    from workers.batches import Batch, Pending
    from workers.records import rows_of

    now = time.time_ns()

    def item(partition: int, offset: int) -> Pending:
        (r,) = native_records(f"refusal{partition}", [offset], lambda o: now)
        return Pending(offset, rows_of(r.value, r.headers, r.timestamp_ns).rows, f"h{partition}:{offset}")

    members = [Batch("refusal", p, 0, 3, [item(p, o) for o in range(4)], replay=False) for p in range(2)]
    table = members[1].items[2].rows.table
    # A value of the wrong type: the group's rows cannot go in together, nor the batch's; alone, the engine refuses it.
    poison = table.set_column(table.schema.get_field_index("Timestamp"), "Timestamp", pa.array(["never"]))
    members[1].items[2] = members[1].items[2]._replace(rows=ArrowRows(poison))
    token = groups.token(members)
    for batch in members:
        batch.group = token
    sink = ClickHouseSink(storage, storage.settings)
    before = metrics.WORKER_INSERT_REFUSALS.labels("group")._value.get()
    await sink.prepare(members)
    assert await sink.write_group(members) is False
    assert metrics.WORKER_INSERT_REFUSALS.labels("group")._value.get() - before == 1
    refused = [await sink.write(batch) for batch in members]
    assert refused[0] == [] and [item.offset for item, _ in refused[1]] == [2]
    stored = storage.run_sync(lambda c: c.query(
        "SELECT count() FROM sluice.logs WHERE startsWith(Body, 'refusal')").result_rows[0][0])
    assert stored == 7


def test_a_group_is_planned_over_fresh_batches_one_a_partition_within_the_row_bound():
    from workers import groups
    from workers.batches import Batch, Pending

    def batch(partition: int, rows: int, **kw) -> Batch:
        return Batch("t", partition, 10, 12, [Pending(10, [None] * rows, "h")], kw.pop("replay", False), **kw)

    fresh = [batch(2, 5), batch(0, 5), batch(1, 5)]
    assert groups.plan(fresh, 15) == fresh
    assert groups.token(fresh) == "group:t:0:10-12+1:10-12+2:10-12"  # partition order, whatever the chunk's
    assert groups.plan(fresh, 14) == []  # over the bound: each alone, side by side
    assert groups.plan(fresh, 0) == [] and groups.plan(fresh[:1], 15) == []
    assert groups.plan([batch(0, 5), batch(0, 5)], 15) == []  # two of a partition: a backlog
    assert groups.plan([batch(0, 5), batch(1, 5, replay=True)], 15) == []
    assert groups.plan([batch(0, 5), batch(1, 5, stored=True)], 15) == []
    assert groups.plan([batch(0, 5), batch(1, 0)], 15) == []
    assert groups.plan([batch(0, 5), Batch("u", 1, 10, 12, [Pending(10, [None], "h")], False)], 15) == []
    replayed_letter = Batch("t", 1, 10, 10, [Pending(10, [None], "h", replay_of="t:1:3")], False)
    assert groups.plan([batch(0, 5), replayed_letter], 15) == []  # keeps its own "replay:" token
    # A member stored alone has a token of its own, named after its group; its parts, after a refusal, after it.
    member = batch(1, 5, group="group:t:0:10-12+1:10-12")
    assert member.token == "group:t:0:10-12+1:10-12/1:10-12"
    part = member.part(member.items)
    assert (part.token, part.group) == ("group:t:0:10-12+1:10-12/1:10-12/10-10", member.group)


async def test_a_group_insert_heard_to_fail_after_it_committed_is_not_inserted_again(storage):
    class UnheardOnce(ClickHouseSink):
        told = False

        def insert_group(self, client, members):
            stored = super().insert_group(client, members)
            if not UnheardOnce.told:
                UnheardOnce.told = True
                raise ConnectionError("the answer was lost")  # retried: the rows are in already
            return stored

    unheard = metrics.WORKER_UNHEARD_COMMITS.labels("retry")._value.get()
    before = groups_inserted()
    stored = await pipeline(storage, UnheardOnce(storage, storage.settings)).process(records("unheard", 3, range(2)))
    assert len(stored) == 3 and groups_inserted() - before == 1
    assert metrics.WORKER_UNHEARD_COMMITS.labels("retry")._value.get() - unheard == 1
    assert count(storage, "unheard") == (18, 18)
