"""sluice up's supervision: a component that exits is restarted with backoff, each exit logged and counted."""

from __future__ import annotations

import pytest

from sluice.local.supervisor import Backoff, Supervised, describe
from tests.support import Clock


class FakeProcess:
    def __init__(self):
        self.status: int | None = None

    def poll(self) -> int | None:
        return self.status


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_stable_run():
    backoff = Backoff(first_s=1, max_s=30, stable_s=60)
    assert [backoff.delay(0) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(60) == 1  # a run of a minute was healthy
    assert backoff.delay(59) == 2


def test_exit_statuses_read_as_codes_or_signals():
    assert describe(1) == "code 1"
    assert describe(-9) == "signal SIGKILL"
    assert describe(0) == "code 0"


@pytest.fixture
def unit():
    clock, started, logged = Clock(), [], []

    def start() -> FakeProcess:
        started.append(FakeProcess())
        return started[-1]

    supervised = Supervised("worker", start, logged.append, "records wait in Kafka", clock=clock)
    supervised.start()
    return supervised, clock, started, logged


def test_an_exited_component_is_started_again_after_its_delay_and_each_step_is_logged(unit):
    supervised, clock, started, logged = unit
    supervised.check()
    assert len(started) == 1 and logged == []
    clock.now = 5
    started[0].status = -9
    supervised.check()
    assert logged == ["worker exited with signal SIGKILL after 5s; records wait in Kafka; restart #1 in 1s"]
    clock.now = 5.5
    supervised.check()
    assert len(started) == 1  # not due yet
    clock.now = 6
    supervised.check()
    assert len(started) == 2 and supervised.handle is started[1] and supervised.restarts == 1
    assert logged[-1] == "worker restarted (restart #1)"


def test_a_crash_loop_waits_longer_each_time_and_a_long_run_resets_the_wait(unit):
    supervised, clock, started, logged = unit
    delays = []
    for _ in range(4):
        started[-1].status = 1
        supervised.check()
        delays.append(logged[-1].rsplit(" in ", 1)[1])
        clock.now += 30
        supervised.check()
    assert delays == ["1s", "2s", "4s", "8s"] and supervised.restarts == 4
    clock.now += 60  # this run lasts a minute
    started[-1].status = 1
    supervised.check()
    assert logged[-1].endswith("restart #5 in 1s")


def test_a_start_that_fails_is_retried_never_given_up():
    clock, logged, attempts = Clock(), [], []

    def start() -> FakeProcess:
        attempts.append(clock.now)
        if len(attempts) in (2, 3):
            raise RuntimeError("port 9092 is taken")
        return FakeProcess()

    supervised = Supervised("the Kafka broker", start, logged.append, clock=clock)
    first = supervised.start()
    first.status = 143
    supervised.check()
    for _ in range(3):
        clock.now += 30
        supervised.check()
    assert len(attempts) == 4 and supervised.handle.poll() is None
    assert logged[1] == "the Kafka broker failed to start (port 9092 is taken); restart #2 in 2s"
    assert logged[-1] == "the Kafka broker restarted (restart #3)"
