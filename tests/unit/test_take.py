"""workers/take.py: a chunk closes when caught up, at the count or byte bound, or at the time bound."""

import asyncio
from types import SimpleNamespace

import pytest

from workers.take import stream_chunks, take
from tests.support import Clock

GUARD_S = 30  # a deadline for a broken take to fail instead of hanging, never a measure


class Source:
    """Events (name, size) a test puts in, read by ``take``; ``end()`` ends the stream."""

    _END = object()

    def __init__(self, *events):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.put(*events)

    def put(self, *events):
        for event in events:
            self.queue.put_nowait(event)

    def end(self):
        self.queue.put_nowait(self._END)

    def buffered(self, event) -> bool:
        return not self.queue.empty() and self.queue._queue[0] is not self._END

    async def __aiter__(self):
        while (event := await self.queue.get()) is not self._END:
            yield event


def chunks(source: Source, more_buffered=None, clock=None, **bounds):
    bounds = {"max_records": 1000, "max_bytes": 1 << 20, "max_wait_s": 3600, **bounds}
    return take(aiter(source), size=lambda e: e[1], more_buffered=more_buffered or source.buffered,
                clock=clock or Clock(), **bounds)


async def next_chunk(it):
    return await asyncio.wait_for(anext(it), GUARD_S)


async def test_a_record_at_idle_is_yielded_alone_at_once_and_a_burst_together():
    source = Source(("a", 1))
    it = chunks(source)  # a time bound of an hour: only "caught up" can close these chunks
    assert await next_chunk(it) == [("a", 1)]
    source.put(("b", 1), ("c", 1), ("d", 1))
    assert await next_chunk(it) == [("b", 1), ("c", 1), ("d", 1)]


async def test_under_backlog_a_chunk_waits_for_the_record_on_its_way():
    source = Source(("a", 1))
    loop = asyncio.get_running_loop()

    def broker_has_more(event):
        if event[0] == "a":  # the next record arrives on a later turn of the loop: take must wait for it
            loop.call_soon(source.put, ("b", 1))
            return True
        return source.buffered(event)

    assert await next_chunk(chunks(source, more_buffered=broker_has_more)) == [("a", 1), ("b", 1)]


async def test_the_count_bound_closes_a_chunk():
    source = Source(*[(str(i), 1) for i in range(5)])
    source.end()
    got = [c async for c in chunks(source, max_records=2)]
    assert [[e[0] for e in c] for c in got] == [["0", "1"], ["2", "3"], ["4"]]


async def test_the_byte_bound_is_never_passed_but_by_one_record_alone():
    sizes = [10, 10, 10, 30, 5, 20]
    source = Source(*[(str(i), n) for i, n in enumerate(sizes)])
    source.end()
    got = [[e[1] for e in c] async for c in chunks(source, max_bytes=25)]
    assert got == [[10, 10], [10], [30], [5, 20]]
    assert [e for c in got for e in c] == sizes  # nothing lost, order kept


async def test_the_time_bound_closes_a_chunk_though_records_keep_coming():
    clock = Clock()
    source = Source(*[(str(i), 1) for i in range(3)])

    def backlog(event):  # reading an event takes 0.3 s of the clock, and the broker always has more
        clock.now += 0.3
        return True

    it = chunks(source, more_buffered=backlog, clock=clock, max_wait_s=0.5)
    assert [e[0] for e in await next_chunk(it)] == ["0", "1"]  # "2" came at 0.6 s, past the deadline
    assert [e[0] for e in await next_chunk(it)] == ["2"]  # nothing else comes: closed at its deadline


async def test_the_end_of_the_source_yields_the_last_chunk():
    source = Source(("a", 1))
    source.end()
    assert [c async for c in chunks(source, more_buffered=lambda e: True)] == [[("a", 1)]]


async def test_a_callable_bound_is_asked_as_each_chunk_starts():
    source = Source(*[(str(i), 10) for i in range(7)])
    source.end()
    # What the reader's handover has room for, ask after ask: one per chunk (the last finds the end).
    rooms = [(1000, 25), (2, 100), (1000, 100), (1000, 100)]
    asked = []

    def room(which: int):
        def ask():
            if which == 0:  # the records bound is asked first
                asked.append(1)
            return rooms[len(asked) - 1][which]
        return ask

    got = [[e[1] for e in c] async for c in chunks(source, max_records=room(0), max_bytes=room(1))]
    assert got == [[10, 10], [10, 10], [10, 10, 10]] and len(asked) == 4


async def test_bounds_must_be_positive():
    with pytest.raises(ValueError, match="max_bytes=0"):
        await anext(chunks(Source(("a", 1)), max_bytes=0))


class FakeStream:
    """The parts of a Faust stream ``stream_chunks`` reads."""

    def __init__(self, offsets, highwater):
        self.enable_acks = True
        self.channel = SimpleNamespace(queue=asyncio.Queue())  # the stream's buffer: empty here
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: highwater))
        self.events_ = [SimpleNamespace(message=SimpleNamespace(tp=("t", 0), offset=o, value=b"x" * 10))
                        for o in offsets]
        self.acks_during: list[bool] = []

    async def events(self):
        for event in self.events_:
            self.acks_during.append(self.enable_acks)
            yield event


@pytest.mark.parametrize("highwater, expected", [(2, [[0, 1]]), (1, [[0], [1]]), (None, [[0], [1]])])
async def test_a_faust_stream_is_caught_up_when_its_queue_is_empty_and_the_broker_had_no_more(highwater, expected):
    stream = FakeStream([0, 1], highwater)
    got = [[e.message.offset for e in c] async for c in stream_chunks(stream, 100, 1 << 20, 3600)]
    assert got == expected
    assert stream.acks_during == [False, False] and stream.enable_acks is True  # restored after


async def test_a_faust_stream_with_records_queued_is_not_caught_up():
    stream = FakeStream([0, 1], highwater=None)
    stream.channel.queue.put_nowait("queued")
    got = [[e.message.offset for e in c] async for c in stream_chunks(stream, 100, 1 << 20, 3600)]
    assert got == [[0, 1]]  # one chunk, closed by the end of the stream: never caught up
