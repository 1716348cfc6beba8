"""The consumer's poll woken by a lane's stream buffer as it drains (workers/poll_wake.py), bound to Faust's own
stream queue; its fetcher side runs against a real broker in tests/integration/test_poll_wake.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import faust
import pytest

from workers.poll_wake import PollWake, consumer_thread


class Counted(PollWake):
    def __init__(self) -> None:
        super().__init__()
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1
        super().wake()


def test_a_stream_buffer_wakes_the_poll_once_it_drains_below_its_mark():
    queue = faust.App("poll-wake-test", broker="kafka://127.0.0.1:1").FlowControlQueue(maxsize=16,
                                                                                         clear_on_resume=True)
    wake = Counted()
    wake.bind_queue(queue)
    put_back = []
    for n in range(13):  # Faust leaves the partition out of the polls at 12 (16 / 1.25)
        queue.put_nowait_enhanced(n, on_pressure_high=lambda: None, on_pressure_drop=lambda: put_back.append(1))
    drained_to = []
    while not wake.wakes:
        queue.get_nowait()
        drained_to.append(queue.qsize())
    assert put_back == [1]  # Faust's own callback put the partition back first
    assert drained_to[-1] == 5  # by the take that found 6 waiting (16 * 0.4 = 6.4), and not before
    wake.wake()  # no consumer bound yet (before the first assignment): nothing to wake, nothing fails


def test_a_faust_or_aiokafka_without_the_hook_or_the_waiters_is_refused():
    with pytest.raises(RuntimeError, match="on_pressure_drop"):
        PollWake().bind_queue(asyncio.Queue(16))
    with pytest.raises(RuntimeError, match="fetcher waiters"):
        PollWake().bind_consumer(asyncio.new_event_loop(), SimpleNamespace(_fetcher=None))
    with pytest.raises(RuntimeError, match="no started aiokafka consumer"):
        consumer_thread(faust.App("poll-wake-unstarted", broker="kafka://127.0.0.1:1"))
