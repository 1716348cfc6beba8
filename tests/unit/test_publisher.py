"""The publisher answers only after Kafka did, and refuses at once what it could not confirm in time."""

import asyncio

import pytest

from gateway.errors import ApiError
from gateway.publisher import Publisher
from schemas.envelope import Envelope
from sluice.settings import load_settings


class HeldProducer:
    """A producer whose acknowledgements the test hands out."""

    def __init__(self):
        self.sent: list[tuple[bytes, asyncio.Future]] = []

    async def send(self, topic, value, key=None, headers=None):
        delivered = asyncio.get_running_loop().create_future()
        self.sent.append((value, delivered))
        return delivered


async def sent(held: HeldProducer, n: int) -> None:
    """Return once the producer holds ``n`` records: the publisher hands them over without waiting on anything."""
    for _ in range(100):
        if len(held.sent) >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"the producer holds {len(held.sent)} records, not {n}")


def publisher(**settings) -> tuple[Publisher, HeldProducer]:
    p = Publisher(load_settings({}, **settings))
    p._producer = held = HeldProducer()
    return p, held


ENV = Envelope("logtrace.ingest.v1", "acme", "req_1", 1)


async def test_a_request_returns_once_kafka_acknowledged_it():
    p, held = publisher()
    task = asyncio.create_task(p.publish(b"x" * 10, ENV))
    await sent(held, 1)
    await asyncio.sleep(0)
    assert not task.done() and p.inflight_bytes == 10
    held.sent[0][1].set_result(None)
    await task
    assert p.inflight_bytes == 0


async def test_bodies_beyond_the_inflight_bound_are_refused_at_once_and_admitted_after_acks():
    p, held = publisher(gateway_max_inflight_bytes=100)
    first = asyncio.create_task(p.publish(b"a" * 60, ENV))
    await sent(held, 1)
    with pytest.raises(ApiError) as refused:
        await p.publish(b"b" * 60, ENV)
    assert (refused.value.status, refused.value.code) == (503, "gateway_overloaded")
    assert dict(refused.value.headers)[b"retry-after"] == b"5"
    assert [value for value, _ in held.sent] == [b"a" * 60]  # the refused body never reached the producer
    held.sent[0][1].set_result(None)
    await first
    second = asyncio.create_task(p.publish(b"b" * 60, ENV))
    await sent(held, 2)
    held.sent[1][1].set_result(None)
    await second


async def test_one_body_larger_than_the_bound_still_goes_when_nothing_waits():
    p, held = publisher(gateway_max_inflight_bytes=10)
    task = asyncio.create_task(p.publish(b"z" * 50, ENV))
    await sent(held, 1)
    held.sent[0][1].set_result(None)
    await task


async def test_a_timed_out_record_keeps_its_bytes_counted_until_kafka_answers_for_it():
    p, held = publisher(publish_timeout_s=0.05, gateway_max_inflight_bytes=100)
    with pytest.raises(ApiError) as timed_out:
        await p.publish(b"a" * 60, ENV)
    assert timed_out.value.code == "kafka_unavailable"
    assert p.inflight_bytes == 60  # the producer still holds it and will send it
    with pytest.raises(ApiError) as refused:
        await p.publish(b"b" * 60, ENV)
    assert refused.value.code == "gateway_overloaded"
    held.sent[0][1].set_exception(RuntimeError("broker gone"))  # answered late, and badly: still released
    await asyncio.sleep(0)
    assert p.inflight_bytes == 0


async def test_keyless_records_count_against_the_partitions_turn_and_keyed_ones_do_not():
    p, held = publisher(kafka_sticky_partition_s=3600, kafka_sticky_partition_bytes=100)
    partitions = [0, 1, 2, 3]
    first = p.partitioner(None, partitions, partitions)
    for n, envelope in enumerate([ENV._replace(idempotency_key="idem-1"), ENV]):
        task = asyncio.create_task(p.publish(b"r" * 100, envelope))
        await sent(held, n + 1)
        held.sent[n][1].set_result(None)
        await task
        if n == 0:  # a keyed record hashes by its key: the turn goes on
            assert p.partitioner(None, partitions, partitions) == first
    assert p.partitioner(None, partitions, partitions) == (first + 1) % 4  # a keyless 100 bytes ended it
