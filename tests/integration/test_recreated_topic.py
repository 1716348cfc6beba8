"""A topic deleted and created again under its name starts clean (workers/batches.py, sluice/kafka/topic_ids.py).

Its offsets start at 0 again. Bookkeeping keyed by the name alone took the new
records for replays of the old topic's, marked stored, and acknowledged them
without storing them. Keyed by ``name@<topic id>``, nothing of the old topic
matches them.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from schemas.envelope import IDEMPOTENCY_KEY, Envelope, to_headers
from sluice.kafka.clients import ensure_topics
from sluice.kafka.topic_ids import TopicKeys
from tests.integration.test_faults import Load, audit, report
from tests.integration.test_sink import RecordingDeadLetters
from tests.integration.test_topic_ids import id_of
from tests.support import Process, sql, wait_for
from workers.batches import BatchPlanner
from workers.claims import Claims
from workers.consumed import Consumed
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink

pytestmark = pytest.mark.integration


def incarnation(topic: str, life: str, offsets, retried: dict[int, str] | None = None,
                keyed: bool = True) -> list[Consumed]:
    """Records of one life of ``topic`` at ``offsets``, each with its own message and Idempotency-Key
    (none unless ``keyed``), but for those in ``retried``: {offset: the Idempotency-Key a client sends again}."""
    env = Envelope("loginformant.batch.v1", "acme", "req", time.time_ns())
    out = []
    for o in offsets:
        body = ('{"logs": [%s]}' % ",".join(
            '{"level": "Error", "message": "%s-%s-%d-%d"}' % (topic, life, o, i) for i in range(3))).encode()
        key = (retried or {}).get(o, f"{topic}-{life}-{o}")
        headers = to_headers(env) + ([(IDEMPOTENCY_KEY, key.encode())] if keyed else [])
        out.append(Consumed(topic, 0, o, None, body, headers, env.received_ns, f"{life}{o}"))
    return out


def stored(storage, prefix: str) -> tuple[int, int]:
    return storage.run_sync(lambda c: c.query(
        "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE startsWith(Body, {p:String})",
        parameters={"p": prefix}).result_rows[0])


def worker(storage, topic: str, topic_id: str | None | Exception) -> Pipeline:
    """A worker's lane over partition 0 of ``topic``, to which Kafka answers ``topic_id`` for the
    topic's id (None: no id, as before ids were read; an exception: Kafka does not answer)."""
    async def lookup(bootstrap, names):
        if isinstance(topic_id, Exception):
            raise topic_id
        return {topic: topic_id} if topic_id else {}

    claims = Claims()
    claims.assigned([(topic, 0)])
    return Pipeline(ClickHouseSink(storage, storage.settings, TopicKeys("kafka:9092", lookup)),
                    BatchPlanner(max_rows=30), RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60),
                    Context(), None, claims)


async def _second_life_after_a_recreation(storage, ids: tuple[str | None, str | None]) -> tuple[int, int, int]:
    """A worker stores records 0-19 of a topic, the topic is recreated, a restarted worker reads
    records 0-14 of the new one, whose record 8 is a client's retry of the old record 12. ``ids``:
    what Kafka answers each worker for the topic's id (``worker``). The new life's records
    acknowledged, and its (rows, distinct rows) stored."""
    topic = f"reborn-{uuid.uuid4().hex[:6]}"

    first = worker(storage, topic, ids[0])
    for chunk in (range(0, 10), range(10, 20)):
        await first.process(incarnation(topic, "old", chunk))
    await first.sink.flush_marks()
    assert stored(storage, f"{topic}-old-") == (60, 60)
    second = worker(storage, topic, ids[1])  # restarted after the topic was recreated: its offsets start at 0 again
    acknowledged: list = []

    async def ack(handle):
        acknowledged.append(handle)

    for chunk in (range(0, 7), range(7, 15)):
        await second.process(incarnation(topic, "new", chunk, {8: f"{topic}-old-12"}), ack)
    return (len(acknowledged), *stored(storage, f"{topic}-new-"))


async def test_a_recreated_topic_is_stored_not_taken_for_replays_of_the_old_one(storage):
    # The retry (record 8) is one of its key's repeats: its key's first record is stored. Keyed by
    # the name, the old record 12's key would be taken for record 8's own, in its batch's range.
    assert await _second_life_after_a_recreation(storage, ("AAAA", "BBBB")) == (15, 42, 42)
    # Keyed by the name alone: records 0-9 acknowledged as a replay of the old stored batch 0-9, and
    # 10-14 held back for the rest of the old batch 10-19. Nothing stored.
    assert await _second_life_after_a_recreation(storage, (None, None)) == (10, 0, 0)


async def test_a_worker_restarted_while_kafka_does_not_answer_goes_on_under_the_key_last_recorded(storage):
    # A worker stores 0-9 of records sent without an Idempotency-Key and dies before committing; its
    # successor cannot read the topic's id. Under the bare name it would miss the intent, regroup
    # the records under another token and store them again.
    topic = f"unanswered-{uuid.uuid4().hex[:6]}"
    await worker(storage, topic, "AAAA").process(incarnation(topic, "one", range(0, 10), keyed=False))
    successor = worker(storage, topic, OSError("no broker"))
    replayed, *_ = await successor.process(incarnation(topic, "one", range(3, 12), keyed=False))
    assert (replayed.first, replayed.last, replayed.replay, replayed.key) == (0, 9, True, f"{topic}@AAAA")
    assert stored(storage, f"{topic}-one-") == (36, 36)


async def _delete(bootstrap: str, name: str, timeout_s: float = 60.0) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-delete")
    await admin.start()
    try:
        await admin.delete_topics([name])
        deadline = time.monotonic() + timeout_s
        while (await admin.describe_topics([name]))[0]["error_code"] == 0:
            assert time.monotonic() < deadline, f"{name} still exists"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def test_topic_deleted_and_recreated_under_load_stores_every_record_once(sluice):
    s = sluice.settings
    before = Load(s.gateway_url, sluice.key, requests=300, per_request=20, threads=4).start()
    before.join(120)
    expected = len(before.acknowledged) * before.per
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= expected, 120, 0.5,
             what="the first topic's records")
    old_id = asyncio.run(id_of(s.kafka_bootstrap, s.ingest_topic))
    started = time.monotonic()
    sluice.gateway.stop()
    sluice.worker.stop()
    asyncio.run(_delete(s.kafka_bootstrap, s.ingest_topic))
    asyncio.run(ensure_topics(s))  # created again with the configured partitions and durability
    new_id = asyncio.run(id_of(s.kafka_bootstrap, s.ingest_topic))
    assert new_id != old_id
    sluice.worker = Process(s, "worker", sluice.worker.log_path.parent).start()
    sluice.gateway = Process(s, "gateway", sluice.gateway.log_path.parent).start()
    # Fewer records than the old topic had: every new one lands at an offset an old batch covered.
    after = Load(s.gateway_url, sluice.key, requests=200, per_request=20, threads=4)
    after.todo = list(range(10_000, 10_200))
    after.start().join(120)
    after.acknowledged |= before.acknowledged
    after.retried |= before.retried
    figures = audit(s, after, 180)
    keys = {topic for (topic,) in sql(s, "SELECT DISTINCT Topic FROM sluice.ingest_batches")
            if topic.startswith(s.ingest_topic)}
    report("topic deleted and recreated with the same name", sent=500 * 20, refused_requests=after.refused,
           seconds_from_stop_to_audit=round(time.monotonic() - started, 1), **figures)
    assert keys == {f"{s.ingest_topic}@{old_id}", f"{s.ingest_topic}@{new_id}"}
    assert figures["acknowledged"] == 500 * 20
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
