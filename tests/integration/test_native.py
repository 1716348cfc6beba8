"""Kafka-native producers and the dead-letter topic, against the real broker and a worker process."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, list[tuple[str, bytes]]]]) -> list[int]:
    """Produce (value, headers) pairs; return their offsets."""
    async def go():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await p.start()
        try:
            return [(await p.send_and_wait(topic, value, key=b"k", headers=headers)).offset
                    for value, headers in records]
        finally:
            await p.stop()
    return asyncio.run(go())


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60):
    async def go():
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False)
        await c.start()
        out = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout_s
            while len(out) < expected and asyncio.get_running_loop().time() < deadline:
                for batch in (await c.getmany(timeout_ms=500)).values():
                    out.extend(batch)
        finally:
            await c.stop()
        return out
    return asyncio.run(go())


def native(tenant: str = "acme", fmt: bytes = b"sluice.batch.v1") -> list[tuple[str, bytes]]:
    return [("sluice-format", fmt), ("sluice-tenant", tenant.encode()), ("content-type", b"application/json")]


def test_native_records_are_stored_exactly_once(sluice):
    s = sluice.settings
    batches = [(json.dumps({"records": [
        {"body": f"native-{b}-{i}", "severity_text": "INFO", "service_name": "checkout",
         "timestamp": "2026-11-23T10:00:00.25Z", "attributes": {"cart": {"items": i}}} for i in range(100)]}).encode(),
        native()) for b in range(50)]
    singles = [(json.dumps({"body": f"single-{i}", "severity_number": 17}).encode(),
                native(fmt=b"sluice.record.v1")) for i in range(100)]
    produce(s.kafka_bootstrap, s.native_topic, batches + singles)
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= 5100, 60, what="native rows")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0] == [5100, 5100]
    row = sql(s, "SELECT Source, TenantId, ServiceName, SeverityNumber, toString(Timestamp), "
                 "LogAttributes['cart.items'] FROM sluice.logs WHERE Body = 'native-7-42'")
    assert row == [["native", "acme", "checkout", 9, "2026-11-23 10:00:00.250000000", "42"]]
    assert sql(s, "SELECT SeverityNumber FROM sluice.logs WHERE Body = 'single-3'") == [[17]]


def test_columnar_records_are_stored_and_bad_ones_dead_lettered(sluice):
    import pyarrow as pa
    from schemas.dialects.native.arrow import encode

    s = sluice.settings
    arrow = [("sluice-format", b"sluice.arrow.v1"), ("sluice-tenant", b"acme"),
             ("content-type", b"application/vnd.apache.arrow.stream")]
    good = [(encode(pa.table({
        "body": [f"columnar-{b}-{i}" for i in range(200)],
        "severity_text": ["ERROR"] * 200,
        "service_name": ["ledger"] * 200,
        "attributes": pa.array([[("batch", str(b))]] * 200, pa.map_(pa.string(), pa.string())),
    })), arrow) for b in range(10)]
    bad = (encode(pa.table({"body": ["a"], "severity_number": pa.array([99], pa.int16())})), arrow)
    offsets = produce(s.kafka_bootstrap, s.native_topic, [*good[:5], bad, *good[5:]])
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE ServiceName = 'ledger'")[0][0] >= 2000, 60,
             what="columnar rows")
    assert sql(s, "SELECT count(), uniqExact(Body), min(SeverityNumber), max(SeverityNumber) FROM sluice.logs "
                  "WHERE ServiceName = 'ledger'") == [[2000, 2000, 17, 17]]
    assert sql(s, "SELECT LogAttributes['batch'] FROM sluice.logs WHERE Body = 'columnar-7-3'") == [["7"]]
    (letter,) = consume_all(s.kafka_bootstrap, s.dlq_topic, 1, timeout_s=20)
    h = dict(letter.headers)
    assert (letter.value, h["sluice-dlq-reason"], int(h["sluice-dlq-offset"])) == (bad[0], b"invalid_column", offsets[5])


def test_unstorable_records_land_in_the_dead_letter_topic_untouched(sluice):
    s = sluice.settings
    good = (b'{"records": [{"body": "fine"}]}', native())
    bad = {
        "unknown_tenant": (b'{"records": [{"body": "who"}]}', native(tenant="ghost")),
        "malformed_json": (b'{"records": [', native()),
        "invalid_field": (b'{"records": [{"severity_text": "no body"}]}', native()),
        "unknown_format": (b'{"body": "x"}', native(fmt=b"sluice.record.v9")),
        "bad_envelope": (b'{"body": "x"}', [("sluice-format", b"sluice.record.v1")]),
    }
    offsets = produce(s.kafka_bootstrap, s.native_topic, [good, *bad.values(), good])
    letters = consume_all(s.kafka_bootstrap, s.dlq_topic, len(bad))
    assert len(letters) == len(bad)
    by_reason = {dict(m.headers)["sluice-dlq-reason"].decode(): m for m in letters}
    assert set(by_reason) == set(bad)
    for (reason, (value, headers)), offset in zip(bad.items(), offsets[1:]):
        letter = by_reason[reason]
        h = dict(letter.headers)
        assert letter.value == value and letter.key == b"k"
        assert [(k, v) for k, v in letter.headers if not k.startswith("sluice-dlq-")] == headers
        assert (h["sluice-dlq-topic"].decode(), int(h["sluice-dlq-offset"])) == (s.native_topic, offset)
        assert h["sluice-dlq-detail"] and h["sluice-dlq-time"]
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body = 'fine'")[0][0] == 2, 30, what="good rows")
    assert sql(s, "SELECT count() FROM sluice.logs WHERE Body != 'fine'") == [[0]]


def test_dead_letters_replayed_after_the_fix_are_stored_once(sluice):
    from sluice import dlq
    from sluice import registry as registry_topic
    from schemas.registry import TenantRecord

    s = sluice.settings
    letters = [(json.dumps({"body": f"late-{i}"}).encode(), native(tenant="newco", fmt=b"sluice.record.v1"))
               for i in range(5)]
    produce(s.kafka_bootstrap, s.native_topic, letters)
    wait_for(lambda: len(asyncio.run(dlq.read(s)).letters) == 5, 30, what="dead letters")
    assert "unknown_tenant\t5" in dlq.summary(asyncio.run(dlq.read(s)))
    assert asyncio.run(dlq.replay(s, reason="malformed_json")) == 0

    asyncio.run(registry_topic.publish(s, TenantRecord("newco", "now")))  # the fix
    time.sleep(2)  # the worker follows the registry within about a second
    progress = []
    assert asyncio.run(dlq.replay(s, reason="unknown_tenant", progress=lambda d, t: progress.append((d, t)))) == 5
    assert progress[-1] == (5, 5)
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId = 'newco'")[0][0] == 5, 30,
             what="replayed rows")
    assert asyncio.run(dlq.replay(s)) == 0  # markers: nothing left to replay

    # Even a letter re-published twice (a replay that died before writing its
    # marker) is stored once: its rows carry a token named after its origin.
    first = [m for m in consume_all(s.kafka_bootstrap, s.native_topic, 10)
             if dict(m.headers).get("sluice-replay-of")][0]
    produce(s.kafka_bootstrap, s.native_topic, [(first.value, list(first.headers))])
    time.sleep(3 * s.batch_max_wait_s + 2)
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId = 'newco'") == [[5, 5]]
    assert asyncio.run(dlq.read(s)).letters == []
