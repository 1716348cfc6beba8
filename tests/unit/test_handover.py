"""The handover between a lane's reader and storer (workers/handover.py), and the shell that runs both."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from sluice.settings import load_settings
from workers.app import Fatal, _consume
from workers.handover import Handover


async def test_what_waits_is_taken_as_one_chunk_in_the_order_put():
    handover = Handover(max_bytes=100, max_records=10)
    await handover.put(["a", "b"], [1, 2], 10)
    await handover.put(["c"], [3], 10)
    assert await handover.take() == (["a", "b", "c"], [1, 2, 3])
    await handover.put(["d"], [4], 10)
    assert await handover.take() == (["d"], [4])


async def test_a_take_waits_for_a_chunk_and_the_end_lets_it_return_none():
    handover = Handover(max_bytes=100, max_records=10)
    taking = asyncio.ensure_future(handover.take())
    await asyncio.sleep(0)
    assert not taking.done()
    await handover.put(["a"], [1], 1)
    assert await taking == (["a"], [1])
    await handover.put(["b"], [2], 1)
    await handover.end()
    assert await handover.take() == (["b"], [2])  # what waited before the end
    assert await handover.take() is None


async def test_a_put_past_the_byte_bound_waits_until_the_storer_takes():
    handover = Handover(max_bytes=100, max_records=10)
    await handover.put(["a"], [1], 60)
    putting = asyncio.ensure_future(handover.put(["b"], [2], 60))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not putting.done()  # 120 bytes would wait: the records stay in the consumer
    assert await handover.take() == (["a"], [1])
    await asyncio.wait_for(putting, 1)
    assert await handover.take() == (["b"], [2])


async def test_a_put_past_the_record_bound_waits_too():
    handover = Handover(max_bytes=1000, max_records=3)
    await handover.put(["a", "b"], [1, 2], 2)
    putting = asyncio.ensure_future(handover.put(["c", "d"], [3, 4], 2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not putting.done()  # four records would wait: a stored chunk stays within the chunk bound
    assert await handover.take() == (["a", "b"], [1, 2])
    await asyncio.wait_for(putting, 1)
    assert await handover.take() == (["c", "d"], [3, 4])


async def test_the_room_left_and_half_empty_follow_what_waits():
    handover = Handover(max_bytes=100, max_records=10)
    assert handover.room() == (10, 100)
    await handover.put(["a", "b"], [1, 2], 60)
    assert handover.room() == (8, 40)
    waiting = asyncio.ensure_future(handover.half_empty())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()  # 60 of 100 bytes wait: the reader reads nothing more yet
    await handover.take()
    await asyncio.wait_for(waiting, 1)
    await handover.put(["c"] * 6, [3] * 6, 10)
    assert not (await _settles(handover.half_empty()))  # 6 of 10 records: more than half
    await handover.put(["d"] * 4, [4] * 4, 90)
    assert handover.room() == (1, 1)  # full: a put of one chunk larger than the rest waits alone
    await handover.end()
    assert await _settles(handover.half_empty())  # nothing more will be put: nothing to wait for


async def _settles(awaitable) -> bool:
    """Whether ``awaitable`` finishes within a few turns of the loop (cancelled if not)."""
    task = asyncio.ensure_future(awaitable)
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    return task.done() and not task.cancelled()


async def test_one_chunk_larger_than_the_bound_passes_alone():
    handover = Handover(max_bytes=10, max_records=10)
    await asyncio.wait_for(handover.put(["big"], [1], 1000), 1)
    assert await handover.take() == (["big"], [1])


async def test_each_record_comes_with_its_mapping():
    with pytest.raises(ValueError, match="2 records with 1 mappings"):
        await Handover(10, 10).put(["a", "b"], [1], 2)
    with pytest.raises(ValueError, match="positive"):
        Handover(0, 10)
    with pytest.raises(ValueError, match="positive"):
        Handover(10, 0)


class Arrivals:
    """A Faust stream whose records arrive when the test sends them, one chunk each (caught up after each)."""

    def __init__(self):
        self.enable_acks = True
        self.channel = SimpleNamespace(queue=asyncio.Queue())  # the stream's own buffer: empty
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: None))
        self.arriving: asyncio.Queue = asyncio.Queue()
        self.acked: list[int] = []

    async def events(self):
        while (offset := await self.arriving.get()) is not None:
            yield SimpleNamespace(message=SimpleNamespace(
                topic="t", partition=0, offset=offset, key=None, value=b"x" * 10, headers=[], timestamp=0.0, tp=("t", 0)))

    async def ack(self, event):
        self.acked.append(event.message.offset)


class GatedPipeline:
    """Maps at once and stores only when the test opens the gate, journaling both."""

    def __init__(self):
        self.journal: list[tuple[str, list[int]]] = []
        self.gate = asyncio.Event()

    async def premap(self, records):
        self.journal.append(("map", [r.offset for r in records]))
        return [f"rows of {r.offset}" for r in records]

    async def process(self, records, acknowledge, premapped):
        assert premapped == [f"rows of {r.offset}" for r in records]
        self.journal.append(("store", [r.offset for r in records]))
        await self.gate.wait()
        self.gate.clear()
        for r in records:
            await acknowledge(r.handle)
        return []


async def test_the_next_chunks_are_mapped_while_one_is_stored_and_stored_together_after_it(tmp_path):
    settings = load_settings(environ={}, state_dir=tmp_path, batch_max_wait_s=0)
    stream, pipeline = Arrivals(), GatedPipeline()
    lanes = SimpleNamespace(ready=lambda: asyncio.sleep(0))
    consuming = asyncio.ensure_future(_consume(stream, pipeline, settings, lanes, Fatal()))

    async def until(event):
        while event not in pipeline.journal:
            await asyncio.sleep(0)

    stream.arriving.put_nowait(0)
    await asyncio.wait_for(until(("store", [0])), 5)  # alone at idle: stored at once, then held at the gate
    for offset in (1, 2):
        stream.arriving.put_nowait(offset)
        await asyncio.wait_for(until(("map", [offset])), 5)  # mapped while 0 is still being stored
    assert stream.acked == []
    pipeline.gate.set()
    await asyncio.wait_for(until(("store", [1, 2])), 5)  # what came during the store, as one chunk
    pipeline.gate.set()
    stream.arriving.put_nowait(None)  # the stream ends
    await asyncio.wait_for(consuming, 5)
    assert pipeline.journal == [("map", [0]), ("store", [0]), ("map", [1]), ("map", [2]), ("store", [1, 2])]
    assert stream.acked == [0, 1, 2]


class SizedBacklog:
    """A Faust stream with ``n`` records of ``size`` bytes waiting in one partition; counts what it was read."""

    def __init__(self, n: int, size: int):
        self.enable_acks = True
        self.n, self.size, self.read = n, size, 0
        self.channel = SimpleNamespace(queue=SimpleNamespace(empty=lambda: self.read >= self.n))
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: None))
        self.acked: list[int] = []

    async def events(self):
        for offset in range(self.n):
            self.read += 1
            yield SimpleNamespace(message=SimpleNamespace(
                topic="t", partition=0, offset=offset, key=None, value=b"x" * self.size, headers=[], timestamp=0.0,
                tp=("t", 0)))

    async def ack(self, event):
        self.acked.append(event.message.offset)


class WatchedHandover(Handover):
    """A handover that counts its reader's parkings: waits in ``half_empty`` for the storer."""

    made: list["WatchedHandover"] = []

    def __init__(self, *args):
        super().__init__(*args)
        self.parkings = 0
        WatchedHandover.made.append(self)

    async def half_empty(self) -> None:
        if 2 * self.room()[1] < self.max_bytes:  # more than half full: the reader waits here
            self.parkings += 1
        await super().half_empty()


async def test_under_backlog_a_lane_reads_no_more_than_the_chunk_stored_and_one_chunk_waiting(tmp_path, monkeypatch):
    """With a store held, the reader fills the handover once and stops: the rest stays in the consumer,
    so a lane holds two chunks' bounds of records (and their rows), not three."""
    settings = load_settings(environ={}, state_dir=tmp_path, batch_max_bytes=100, batch_max_records=1000,
                             batch_max_wait_s=60)
    stream, pipeline = SizedBacklog(50, 10), GatedPipeline()
    lanes = SimpleNamespace(ready=lambda: asyncio.sleep(0))
    monkeypatch.setattr("workers.app.Handover", WatchedHandover)
    WatchedHandover.made.clear()
    consuming = asyncio.ensure_future(_consume(stream, pipeline, settings, lanes, Fatal()))

    async def until(condition):
        while not condition():
            await asyncio.sleep(0)

    # map, store (held at the gate), map; and the reader parked a second time, with that chunk waiting:
    # it reads nothing more until the storer takes it
    await asyncio.wait_for(until(lambda: WatchedHandover.made and WatchedHandover.made[0].parkings == 2), 5)
    (_, first), (_, stored), (_, waiting) = pipeline.journal
    assert first == stored == list(range(10)) and waiting == list(range(10, 20))
    assert stream.read <= 21  # the stored chunk, the waiting one, and at most one record read ahead
    for _ in range(5):
        pipeline.gate.set()
        await asyncio.wait_for(until(lambda: not pipeline.gate.is_set()), 5)
    await asyncio.wait_for(consuming, 5)
    assert stream.acked == list(range(50))
    assert all(len(offsets) <= 10 for kind, offsets in pipeline.journal)  # each within 100 bytes


class Backlog:
    """A Faust stream with a backlog of (partition, offset) records read in the order given: one chunk."""

    def __init__(self, records: list[tuple[int, int]]):
        self.enable_acks = True
        self.records = records
        self.read = 0
        self.channel = SimpleNamespace(queue=SimpleNamespace(empty=lambda: self.read >= len(self.records)))
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: None))
        self.acked: list[tuple[int, int]] = []

    async def events(self):
        for partition, offset in self.records:
            self.read += 1
            yield SimpleNamespace(message=SimpleNamespace(
                topic="t", partition=partition, offset=offset, key=None, value=b"x", headers=[], timestamp=0.0,
                tp=("t", partition)))

    async def ack(self, event):
        self.acked.append((event.message.partition, event.message.offset))


class Journal:
    def __init__(self):
        self.mapped: list[list[tuple[int, int]]] = []
        self.stored: list[list[tuple[int, int]]] = []

    async def premap(self, records):
        self.mapped.append([(r.partition, r.offset) for r in records])
        return [None] * len(records)

    async def process(self, records, acknowledge, premapped):
        self.stored.append([(r.partition, r.offset) for r in records])
        for r in records:
            await acknowledge(r.handle)
        return []


async def test_a_chunk_reaches_the_mapping_with_each_partitions_records_together_in_the_order_read(tmp_path):
    read_order = [(1, 7), (0, 3), (1, 8), (2, 5), (0, 4), (1, 9), (0, 5)]
    stream, pipeline = Backlog(read_order), Journal()
    lanes = SimpleNamespace(ready=lambda: asyncio.sleep(0))
    await asyncio.wait_for(_consume(stream, pipeline, load_settings(environ={}, state_dir=tmp_path), lanes, Fatal()), 5)
    grouped = [(0, 3), (0, 4), (0, 5), (1, 7), (1, 8), (1, 9), (2, 5)]
    assert pipeline.mapped == pipeline.stored == [grouped]
    assert stream.acked == grouped


def test_what_the_worker_reads_ahead_is_bounded_by_its_settings_not_by_the_largest_record(tmp_path):
    """Faust's stream buffer and the consumer's fetch size come from the settings (docs/performance.md,
    "worker memory"); the fetch may be smaller than the largest record, which the broker returns whole.
    A poll takes no more records than the buffer holds: Faust keeps a poll's records until they fit it."""
    from workers.app import _faust_app

    settings = load_settings({}, state_dir=tmp_path, consumer_fetch_bytes=1 << 20, stream_buffer_records=8)
    conf = _faust_app(settings).conf
    assert (conf.consumer_max_fetch_size, conf.stream_buffer_maxsize) == (1 << 20, 8)
    assert conf.broker_max_poll_records == 8
    assert settings.consumer_fetch_bytes < settings.max_record_bytes
