"""The Logstash TCP listener's bounds: connection cap, idle timeout, and a small buffer before a good token.

The listener runs in this process on a loopback port, over an in-memory
registry and a recording publisher; tests/integration/test_logstash.py runs
the same bounds against a real gateway process.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.lines import Idle, LineReader, LineTooLong
from gateway.logstash import Listeners
from schemas.registry import TenantRecord
from sluice import metrics
from sluice.keys import Registry, new_key
from sluice.settings import load_settings
from tests.support import free_port
from gateway.testing import RecordingPublisher


def stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def test_lines_are_split_and_an_unterminated_last_line_is_kept():
    lines = LineReader(stream(b"a\n\nbc\nlast"), limit=10, idle_s=5)
    assert [await lines.next() for _ in range(5)] == [b"a", b"", b"bc", b"last", None]


async def test_a_line_over_the_limit_is_reported_once_and_skipped():
    lines = LineReader(stream(b"x" * 50 + b"\nok\n" + b"y" * 30), limit=10, idle_s=5)
    with pytest.raises(LineTooLong):
        await lines.next()
    assert await lines.next() == b"ok"
    with pytest.raises(LineTooLong):  # the unterminated tail is too long as well
        await lines.next()
    assert await lines.next() is None


async def test_the_limit_can_be_raised_between_lines():
    lines = LineReader(stream(b"short\n" + b"z" * 100 + b"\n"), limit=10, idle_s=5)
    assert await lines.next() == b"short"
    lines.limit = 1000
    assert await lines.next() == b"z" * 100


async def test_a_stream_that_completes_no_line_is_idle_but_a_short_wait_is_not():
    lines = LineReader(stream(b"no newline yet", eof=False), limit=100, idle_s=0.3)
    with pytest.raises(asyncio.TimeoutError):
        await lines.next(wait_s=0.0)
    with pytest.raises(Idle):
        await lines.next()


def counted(reason: str) -> float:
    return metrics.LISTENER_CONNECTIONS_CLOSED.labels("tcp", reason)._value.get()


async def wait_until(predicate, timeout_s: float = 10.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


class Listener:
    def __init__(self, **settings):
        self.registry = Registry()
        self.registry.apply(TenantRecord("acme", "t"))
        self.key, record = new_key("acme")
        self.registry.apply(record)
        self.publisher = RecordingPublisher()
        values = dict(logstash_tcp_port=free_port(), logstash_udp_port=0, logstash_batch_wait_s=0.05,
                      logstash_max_connections=2, logstash_idle_timeout_s=60.0, logstash_unauthenticated_bytes=256)
        self.settings = load_settings({}, **{**values, **settings})
        self.listeners = Listeners(self.settings, self.registry, self.publisher)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.settings.logstash_host, self.settings.logstash_tcp_port)

    def event(self, message: str, **extra) -> bytes:
        return json.dumps({"message": message, "sluice_token": self.key, **extra}).encode() + b"\n"

    def published(self) -> list[str]:
        return [e["message"] for body, _ in self.publisher.published for e in json.loads(body)]


@pytest.fixture
async def listener():
    made: list[Listener] = []

    async def make(**settings) -> Listener:
        listener = Listener(**settings)
        await listener.listeners.start()
        made.append(listener)
        return listener

    yield make
    for listener in made:
        await listener.listeners.stop()


async def test_a_connection_over_the_cap_is_closed_at_once_and_counted(listener):
    ls = await listener()
    before = counted("too_many_connections")
    held = [await ls.connect() for _ in range(2)]
    await wait_until(lambda: ls.listeners._open == 2, what="two connections served")
    reader, writer = await ls.connect()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the listener
    assert counted("too_many_connections") == before + 1
    held[0][1].close()
    await wait_until(lambda: ls.listeners._open == 1, what="a slot let go")
    reader, writer = await ls.connect()
    writer.write(ls.event("after a slot freed"))
    await wait_until(lambda: "after a slot freed" in ls.published(), what="the event published")
    for _, w in (*held[1:], (reader, writer)):
        w.close()


async def test_an_idle_connection_is_closed_and_counted(listener):
    ls = await listener(logstash_idle_timeout_s=0.5)
    before = counted("idle")
    reader, writer = await ls.connect()
    writer.write(ls.event("then silence"))
    assert await asyncio.wait_for(reader.read(), 10) == b""
    assert counted("idle") == before + 1
    assert ls.published() == ["then silence"]  # its events were published before it was closed
    writer.close()


async def test_before_a_good_token_a_connection_buffers_one_small_line_only(listener):
    ls = await listener()
    before = counted("unauthenticated_too_long")
    reader, writer = await ls.connect()
    writer.write(b'{"message": "' + b"x" * 1000)  # no token yet, no newline: over 256 bytes
    assert await asyncio.wait_for(reader.read(), 10) == b""
    assert counted("unauthenticated_too_long") == before + 1
    writer.close()
    # After one good event the same line length is fine.
    reader, writer = await ls.connect()
    writer.write(ls.event("first") + ls.event("long " + "y" * 1000))
    await wait_until(lambda: len(ls.published()) == 2, what="both events published")
    assert ls.published()[1].startswith("long yyy")
    writer.close()


async def test_a_listener_bound_to_one_tenant_takes_long_lines_at_once(listener):
    ls = await listener(logstash_tenant="acme")
    reader, writer = await ls.connect()
    writer.write(json.dumps({"message": "z" * 1000}).encode() + b"\n")
    await wait_until(lambda: ls.published() == ["z" * 1000], what="the event published")
    writer.close()


def test_an_unstorable_event_is_dropped_and_counted_alone():
    from gateway.logstash import accept

    settings = load_settings(environ={}, logstash_tenant="acme")
    registry = Registry()
    before = metrics.LISTENER_EVENTS.labels("tcp", "unstorable")._value.get()
    assert accept(b'{"@timestamp": "9999-12-31T00:00:00Z", "message": "x"}', registry, settings, "tcp") is None
    assert metrics.LISTENER_EVENTS.labels("tcp", "unstorable")._value.get() - before == 1
    owner, event = accept(b'{"@timestamp": "2026-12-31T00:00:00Z", "message": "x"}', registry, settings, "tcp")
    assert owner == ("acme", "production") and json.loads(event)["message"] == "x"
