"""What a worker reads ahead, bounded in bytes by the records it takes (workers/readahead.py), applied to
Faust's own stream queue and aiokafka's own consumer, not to stand-ins for them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiokafka
import faust
import pytest
from mode.utils.queues import ThrowableQueue

from sluice.settings import load_settings
from workers.app import Fatal, _consume
from workers.poll_wake import consumer_thread
from workers.readahead import ReadAhead

MiB = 1 << 20


def faust_queue(maxsize: int = 16) -> ThrowableQueue:
    """The queue class behind a Faust stream's buffer (``Channel.queue`` builds ``app.FlowControlQueue``)."""
    return faust.App("readahead-test", broker="kafka://127.0.0.1:1").FlowControlQueue(maxsize=maxsize,
                                                                                        clear_on_resume=True)


def test_the_counts_start_from_the_largest_record_and_follow_the_records_taken():
    readahead = ReadAhead(max_records=16, max_bytes=16 * MiB, start_size=16 * MiB)
    assert readahead.records == 1  # nothing large is read ahead before the first chunk
    counts = []
    for _ in range(6):
        readahead.observe(100_000)
        counts.append(readahead.records)
    assert counts == [2, 4, 8, 16, 16, 16]  # small records raise the counts back within a few chunks
    readahead.observe(4 * MiB)
    assert readahead.records == 4  # a large record lowers them at once
    readahead.observe(0)
    assert readahead.records == 8


def test_faust_s_stream_buffer_fills_and_pauses_at_the_count_in_force():
    queue = faust_queue(16)
    assert queue.pressure_high_size == 12  # cached from maxsize on first use
    readahead = ReadAhead(max_records=16, max_bytes=16 * MiB, start_size=16 * MiB)
    readahead.bind(queue=queue)
    readahead.observe(4 * MiB)  # 16 MiB // 8 MiB (half the start) = 2, then 4 once 4 MiB records are seen
    readahead.observe(4 * MiB)
    assert (queue.maxsize, queue.pressure_high_size) == (4, 3)
    paused = []
    for n in range(4):
        queue.put_nowait_enhanced(n, on_pressure_high=lambda: paused.append(queue.qsize()),
                                  on_pressure_drop=lambda: None)
    assert queue.full()
    assert paused == [3]  # Faust pauses the partition's fetching at the new mark, not at 12


def test_a_poll_takes_no_more_records_than_the_count_in_force():
    async def run():
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", max_poll_records=16)
        readahead = ReadAhead(max_records=16, max_bytes=16 * MiB, start_size=MiB)
        readahead.bind(consumer=consumer)
        readahead.bind(consumer=consumer)  # again at the next rebalance: one consumer, bound once
        assert consumer._max_poll_records == 16
        readahead.observe(8 * MiB)
        assert consumer._max_poll_records == 2
        await consumer.stop()

    asyncio.run(run())


def test_a_faust_or_aiokafka_that_keeps_the_counts_elsewhere_is_refused():
    readahead = ReadAhead(max_records=16, max_bytes=16 * MiB, start_size=MiB)
    with pytest.raises(RuntimeError, match="stream buffer"):
        readahead.bind(queue=asyncio.Queue(16))  # a maxsize, but no pressure marks to pause by
    with pytest.raises(RuntimeError, match="polls"):
        readahead.bind(consumer=SimpleNamespace(max_poll_records=16))
    with pytest.raises(RuntimeError, match="no started aiokafka consumer"):
        consumer_thread(faust.App("readahead-unstarted", broker="kafka://127.0.0.1:1"))
    with pytest.raises(ValueError, match="positive"):
        ReadAhead(max_records=16, max_bytes=0, start_size=MiB)


class BigRecords:
    """A Faust stream whose backlog is ``count`` records of ``size`` bytes, on a real Faust queue."""

    def __init__(self, count: int, size: int):
        self.enable_acks = True
        self.values = [bytes(size)] * count
        self.read = 0
        self.channel = SimpleNamespace(queue=faust_queue(16))
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: None))

    async def events(self):
        for offset, value in enumerate(self.values):
            self.read += 1
            yield SimpleNamespace(message=SimpleNamespace(
                topic="t", partition=0, offset=offset, key=None, value=value, headers=[], timestamp=0.0,
                tp=("t", 0)))

    async def ack(self, event):
        pass


class Stores:
    async def premap(self, records):
        return [None] * len(records)

    async def process(self, records, acknowledge, premapped):
        for r in records:
            await acknowledge(r.handle)
        return []


async def test_a_lane_lowers_its_stream_buffer_as_large_records_are_taken(tmp_path):
    stream = BigRecords(count=3, size=4 * MiB)
    readahead = ReadAhead(max_records=16, max_bytes=16 * MiB, start_size=MiB)
    lanes = SimpleNamespace(ready=lambda: asyncio.sleep(0))
    settings = load_settings(environ={}, state_dir=tmp_path)
    await asyncio.wait_for(_consume(stream, Stores(), settings, lanes, Fatal(), readahead=readahead), 5)
    assert stream.channel.queue.maxsize == readahead.records == 4
