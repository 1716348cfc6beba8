"""The worker chain against the real ClickHouse engine, in this process: retries and replays."""

from __future__ import annotations

import asyncio
import time

import pytest

from schemas.envelope import Envelope, to_headers
from sluice import metrics
from sluice.storage import migrate
from workers.batches import BatchPlanner
from workers.quarantine import Quarantine
from workers.consumed import Consumed
from workers.pipeline import Pipeline
from workers.records import Context
from workers.sink import ClickHouseSink

pytestmark = pytest.mark.integration


def records(topic: str, offsets, per_record: int = 3) -> list[Consumed]:
    env = Envelope("loginformant.batch.v1", "acme", "req", time.time_ns())
    out = []
    for o in offsets:
        body = ('{"logs": [%s]}' % ",".join(
            '{"level": "Error", "message": "%s-%d-%d"}' % (topic, o, i) for i in range(per_record))).encode()
        out.append(Consumed(topic, 0, o, None, body, to_headers(env), env.received_ns, f"h{o}"))
    return out


def count(storage, topic: str) -> tuple[int, int]:
    return storage.run_sync(lambda c: c.query(
        "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE startsWith(Body, {t:String})",
        parameters={"t": topic + "-"}).result_rows[0])


class RecordingDeadLetters:
    def __init__(self):
        self.sent = []

    async def send(self, letters):
        self.sent.extend(letters)


def pipeline(storage, dead_letters=None) -> Pipeline:
    return Pipeline(ClickHouseSink(storage, storage.settings), BatchPlanner(max_rows=1000),
                    dead_letters or RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60), Context())


async def test_replay_after_crash_inserts_nothing_twice(storage):
    first_life = pipeline(storage)
    stored = await first_life.process(records("replay", range(0, 10)))
    stored += await first_life.process(records("replay", range(10, 16)))
    assert [(b.first, b.last) for b in stored] == [(0, 9), (10, 15)]
    # Crash before the commit of offset 16: the next life starts at the committed
    # offset 4 and gets the records in different chunks, plus new ones.
    second_life = pipeline(storage)
    replayed = []
    for chunk in (range(4, 7), range(7, 13), range(13, 20)):
        replayed += await second_life.process(records("replay", chunk))
    assert [(b.first, b.last, b.replay) for b in replayed] == [(0, 9, True), (10, 15, True), (16, 19, False)]
    assert count(storage, "replay") == (60, 60)


async def test_failed_insert_is_retried_and_nothing_returns_until_stored(storage):
    class Flaky:
        """Storage whose first inserts fail, as during a ClickHouse outage."""

        def __init__(self, inner, failures):
            self.inner, self.failures, self.settings = inner, failures, inner.settings

        async def run(self, fn, *args):
            if fn.__name__ == "insert" and self.failures:
                self.failures -= 1
                raise ConnectionError("ClickHouse is down")
            return await self.inner.run(fn, *args)

    flaky = Flaky(storage, failures=4)
    retries_before = metrics.WORKER_INSERT_RETRIES._value.get()
    task = asyncio.create_task(pipeline(flaky).process(records("flaky", range(0, 5))))
    await asyncio.sleep(0.05)
    assert not task.done()  # nothing handed back for acknowledgement while failing
    stored = await asyncio.wait_for(task, 30)
    assert [b.handles for b in stored] == [["h0", "h1", "h2", "h3", "h4"]]
    assert metrics.WORKER_INSERT_RETRIES._value.get() - retries_before == 4
    assert count(storage, "flaky") == (15, 15)


async def test_rejected_record_is_dead_lettered_and_acknowledged_with_its_batch(storage):
    headers = to_headers(Envelope("logtrace.ingest.v1", "acme", "r", 1))
    bad = Consumed("rejects", 0, 1, b"k", b"not json", headers, 5, "bad")
    dead_letters = RecordingDeadLetters()
    stored = await pipeline(storage, dead_letters).process([*records("rejects", [0]), bad, *records("rejects", [2])])
    assert [h for b in stored for h in b.handles] == ["h0", "bad", "h2"]
    assert count(storage, "rejects") == (6, 6)
    (letter,) = dead_letters.sent
    assert (letter.reason, letter.offset, letter.key, letter.value, letter.headers) == (
        "malformed_json", 1, b"k", b"not json", headers)


def test_migrations_are_idempotent_and_retention_follows_settings(storage):
    assert storage.run_sync(migrate, storage.settings) == []
    shorter = storage.settings.replace(retention_days=3)
    storage.run_sync(migrate, shorter)
    ddl = storage.run_sync(lambda c: c.command("SHOW CREATE TABLE sluice.logs"))
    assert "toIntervalDay(3)" in ddl
    storage.run_sync(migrate, storage.settings)


def test_log_tables_merge_ten_parts_at_a_time_and_the_migration_reverses(storage):
    from schemas.clickhouse import MIGRATIONS

    def bases() -> list[str]:
        return [storage.run_sync(lambda c: c.command(f"SHOW CREATE TABLE sluice.{t}")) for t in ("logs", "http_logs")]

    assert all("merge_selector_base = 10" in ddl for ddl in bases())
    (migration,) = [m for m in MIGRATIONS if m.name == "log_merge_base"]
    for statement in migration.backwards:
        storage.run_sync(lambda c: c.command(statement.format(db="sluice")))
    assert not any("merge_selector_base" in ddl for ddl in bases())
    for statement in migration.forwards:
        storage.run_sync(lambda c: c.command(statement.format(db="sluice")))
    assert all("merge_selector_base = 10" in ddl for ddl in bases())


class RecordingSlowLane:
    def __init__(self):
        self.moved = []

    async def send(self, record, tenant, topic_key=""):
        self.moved.append((record.offset, tenant))


async def test_moved_records_are_moved_again_on_replay(storage):
    from workers.budget import TokenBuckets
    from workers.decrypt import Decryptor
    from tests.unit.test_logflux import fast_cache, fast_entry
    import json

    def logflux_records(offsets):
        env = Envelope("logflux.ingest.v1", "acme", "req", time.time_ns())
        return [Consumed("lf", 0, o, None, json.dumps(fast_entry(f"lf-{o}", "s")).encode(), to_headers(env),
                         env.received_ns, f"h{o}") for o in offsets]

    class DiesBeforeTheMark(ClickHouseSink):
        async def mark_stored(self, batch):
            pass

    def lane(budget, sink=ClickHouseSink):
        context = Context(decryptor=Decryptor(lambda t: [(1, b"s")], fast_cache()), kdf_budget=budget)
        slow = RecordingSlowLane()
        return Pipeline(sink(storage, storage.settings), BatchPlanner(max_rows=1000),
                        RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60), context, slow), slow

    # One derivation allowed: the first record is decrypted, the second moved; the
    # process dies after the move, before the range is marked stored.
    first, moved = lane(TokenBuckets(rate=0.0001, burst=1), DiesBeforeTheMark)
    # (all fast_entry records share one salt: the first derivation warms the cache for later ones)
    stored = await first.process(logflux_records([0]))
    assert [b.handles for b in stored] == [["h0"]]
    rows = [Consumed("lf", 0, 1, None, json.dumps({**fast_entry("lf-1", "s"), "salt": "A" * 43 + "="}).encode(),
                     logflux_records([1])[0].headers, 0, "h1")]
    stored = await first.process(rows)
    assert moved.moved == [(1, "acme")] and [b.handles for b in stored] == [["h1"]]
    # Second life, generous budget: the recorded intent still moves offset 1.
    second, moved_again = lane(TokenBuckets(rate=1000, burst=1000))
    await second.process(rows)
    assert moved_again.moved == [(1, "acme")]
    assert count(storage, "lf") == (1, 1)
    # Third life: the second one marked the range stored (written when it stopped), so nothing is
    # moved a third time.
    await second.sink.flush_marks()
    third, moved_once_more = lane(TokenBuckets(rate=1000, burst=1000))
    assert [b.stored for b in await third.process(rows)] == [True]
    assert moved_once_more.moved == []


def keyed(topic: str, partition: int, offset: int, key: str, attempt: int) -> Consumed:
    """One request as the gateway publishes it: same body and key on every attempt."""
    env = Envelope("loginformant.batch.v1", "acme", f"req-{attempt}", time.time_ns(), idempotency_key=key)
    body = ('{"logs": [%s]}' % ",".join('{"level": "Information", "message": "%s-%s-%d"}' % (topic, key, i)
                                        for i in range(2))).encode()
    return Consumed(topic, partition, offset, None, body, to_headers(env), env.received_ns, f"h{partition}:{offset}")


async def test_retries_under_one_idempotency_key_are_stored_once(storage):
    repeats_before = metrics.WORKER_IDEMPOTENT_REPEATS._value.get()
    stored_before = metrics.WORKER_ROWS_STORED._value.get()
    first_life = pipeline(storage)
    # k1 retried in the same chunk, k2 retried on another partition later, k3 sent once.
    await first_life.process([keyed("idem", 0, 0, "k1", 1), keyed("idem", 0, 1, "k1", 2), keyed("idem", 0, 2, "k2", 1)])
    await first_life.process([keyed("idem", 1, 0, "k2", 2), keyed("idem", 1, 1, "k3", 1)])
    assert count(storage, "idem") == (6, 6)  # k1, k2, k3: two rows each
    assert metrics.WORKER_IDEMPOTENT_REPEATS._value.get() - repeats_before == 2
    assert metrics.WORKER_ROWS_STORED._value.get() - stored_before == 6  # the repeats are not counted stored
    # A replay of partition 0 after a crash decides as the first time: nothing stored twice, nothing lost.
    second_life = pipeline(storage)
    await second_life.process([keyed("idem", 0, 0, "k1", 1), keyed("idem", 0, 1, "k1", 2), keyed("idem", 0, 2, "k2", 1)])
    assert count(storage, "idem") == (6, 6)
    assert storage.run_sync(lambda c: c.query(
        "SELECT Key, Partition, Offset FROM sluice.idempotency_keys WHERE startsWith(Key, 'acme/k') ORDER BY Key"
    ).result_rows) == [("acme/k1", 0, 0), ("acme/k2", 0, 2), ("acme/k3", 1, 1)]


def native_records(topic: str, offsets, received_ns) -> list[Consumed]:
    out = []
    for o in offsets:
        env = Envelope("sluice.record.v1", "acme", "req", received_ns(o))
        body = ('{"body": "%s-%d", "timestamp": "2026-01-01T00:00:00Z"}' % (topic, o)).encode()
        out.append(Consumed(topic, 0, o, None, body, to_headers(env), env.received_ns, f"h{o}"))
    return out


async def test_a_batch_spanning_too_many_partitions_is_split_and_stored_whole(storage):
    # ReceivedAt partitions by day; a native producer sets it. 150 days in one insert is over
    # ClickHouse's max_partitions_per_insert_block (100): refused for its data, so split.
    day = 86_400 * 10**9
    start = time.time_ns() + day
    dead_letters = RecordingDeadLetters()
    before = metrics.WORKER_INSERT_REFUSALS.labels("split")._value.get()
    stored = await pipeline(storage, dead_letters).process(native_records("wide", range(150), lambda o: start + o * day))
    assert [h for b in stored for h in b.handles] == [f"h{o}" for o in range(150)]
    assert dead_letters.sent == []
    assert count(storage, "wide") == (150, 150)
    assert metrics.WORKER_INSERT_REFUSALS.labels("split")._value.get() - before == 1
    # A replay of the same range splits the same way, and every part is deduplicated.
    again = await pipeline(storage, dead_letters).process(native_records("wide", range(150), lambda o: start + o * day))
    assert [b.replay for b in again] == [True] and count(storage, "wide") == (150, 150)


async def test_a_record_the_engine_refuses_is_dead_lettered_alone_and_the_rest_stored(storage):
    import pyarrow as pa
    from workers.batches import Batch, Pending
    from schemas.rows.columnar import ArrowRows
    from workers.records import rows_of

    def item(offset: int) -> Pending:
        (r,) = native_records("refused", [offset], lambda o: time.time_ns())
        return Pending(offset, rows_of(r.value, r.headers, r.timestamp_ns).rows, f"h{offset}")

    items = [item(o) for o in range(7)]
    table = items[3].rows.table
    # A value Arrow holds and ClickHouse cannot store: the engine's own refusal, at insert.
    poison = table.set_column(table.schema.get_field_index("Timestamp"), "Timestamp", pa.array(["never"]))
    items[3] = items[3]._replace(rows=ArrowRows(poison))
    sink = ClickHouseSink(storage, storage.settings)
    batch = Batch("refused", 0, 0, 6, items, replay=False)
    refused = await sink.write(batch)
    assert [(i.offset, "Code:" in message) for i, message in refused] == [(3, True)]
    assert count(storage, "refused") == (6, 6)
    # The split is deterministic: writing the batch again stores nothing twice.
    assert [i.offset for i, _ in await sink.write(batch)] == [3]
    assert count(storage, "refused") == (6, 6)


async def test_a_poison_header_dead_letters_its_record_and_the_chunk_is_stored(storage):
    chunk = native_records("header", range(5), lambda o: time.time_ns())
    year_9999 = [(k, b"253402300800000000000" if k == "sluice-received-at" else v) for k, v in chunk[2].headers]
    chunk[2] = chunk[2]._replace(headers=year_9999)
    dead_letters = RecordingDeadLetters()
    stored = await pipeline(storage, dead_letters).process(chunk)
    assert [h for b in stored for h in b.handles] == [f"h{o}" for o in range(5)]
    (letter,) = dead_letters.sent
    assert (letter.offset, letter.reason) == (2, "bad_envelope") and "sluice-received-at" in letter.detail
    assert count(storage, "header") == (4, 4)


async def test_failed_calls_neither_poison_the_next_one_nor_leak_engine_threads(storage):
    import os

    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    await storage.read("SELECT 1", None, {})
    before = threads()
    for _ in range(30):
        with pytest.raises(Exception, match="Timeout exceeded"):
            await storage.read("SELECT sleepEachRow(0.01) FROM numbers(1000)", None,
                               {"max_execution_time": 0.05, "max_block_size": 1})
        # The very next query gets its own answer, not the failure's leftovers.
        assert (await storage.read("SELECT 41 + 1", None, {}))[1] == [[42]]
    # A new chDB client per failure left about six engine threads behind each time.
    assert threads() - before < 10
