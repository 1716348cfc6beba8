"""A worker's sends to the dead-letter topic and the slow lane ride out a broker outage (workers/forward.py)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, NotLeaderForPartitionError

from sluice import metrics
from sluice.settings import Settings
from workers import forward


class _Producer:
    """Stands in for aiokafka's producer: ``failures`` are raised in turn by start, then by send."""

    def __init__(self, start_failures: list, send_failures: list, made: list):
        self.start_failures, self.send_failures = start_failures, send_failures
        self.sent: list[tuple] = []
        self.stopped = False
        made.append(self)

    async def start(self) -> None:
        if self.start_failures:
            raise self.start_failures.pop(0)

    async def send_and_wait(self, topic, value, key=None, headers=None) -> None:
        if self.send_failures:
            raise self.send_failures.pop(0)
        self.sent.append((topic, value, key, headers))

    async def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def settings() -> Settings:
    return dataclasses.replace(Settings(), insert_retry_max_backoff_s=0.0)


def _forwarder(monkeypatch, settings, start_failures, send_failures):
    made: list[_Producer] = []
    monkeypatch.setattr(forward, "producer", lambda s, **kw: _Producer(start_failures, send_failures, made))
    return forward.Forwarder(settings), made


def _retries(topic: str) -> float:
    return metrics.WORKER_FORWARD_RETRIES.labels(topic)._value.get()


def test_an_unreachable_broker_is_waited_out_and_the_record_sent_once(monkeypatch, settings) -> None:
    unreachable = [KafkaConnectionError("Unable to bootstrap"), KafkaConnectionError("Unable to bootstrap")]
    moving = [NotLeaderForPartitionError()]
    forwarder, made = _forwarder(monkeypatch, settings, unreachable, moving)
    before = _retries("dlq-forward-test")
    asyncio.run(forwarder.send("dlq-forward-test", b"v", b"k", [("h", b"1")]))
    # each failed start was closed, not left with its connections; the third producer sent once
    assert [p.stopped for p in made] == [True, True, False]
    assert made[-1].sent == [("dlq-forward-test", b"v", b"k", [("h", b"1")])]
    assert _retries("dlq-forward-test") - before == 3


def test_a_record_kafka_refuses_for_itself_stops_the_send(monkeypatch, settings) -> None:
    forwarder, made = _forwarder(monkeypatch, settings, [], [MessageSizeTooLargeError()])
    with pytest.raises(MessageSizeTooLargeError):
        asyncio.run(forwarder.send("dlq-forward-test", b"v" * 10, None, []))
    assert made[0].sent == []


def test_stopping_the_worker_cancels_a_send_that_waits_on_the_broker(monkeypatch, settings) -> None:
    forever = [KafkaConnectionError("down")] * 10_000

    async def scenario() -> list[_Producer]:
        forwarder, made = _forwarder(monkeypatch, settings, forever, [])
        task = asyncio.create_task(forwarder.send("slow-forward-test", b"v", None, []))
        while len(made) < 3:  # it is retrying
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await forwarder.stop()
        return made

    made = asyncio.run(scenario())
    assert all(p.stopped for p in made) and not any(p.sent for p in made)


def test_which_failures_are_transient() -> None:
    assert forward.is_transient(KafkaConnectionError("x"))
    assert forward.is_transient(asyncio.TimeoutError())
    assert not forward.is_transient(MessageSizeTooLargeError())
    assert not forward.is_transient(ValueError("not kafka"))
