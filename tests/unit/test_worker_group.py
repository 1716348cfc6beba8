"""``sluice up --workers N`` without a broker: the refusal on the embedded engine, each member's port,
the supervisor's wording, stopping them all at once, and the warning for topics with fewer partitions
than workers."""

from __future__ import annotations

import signal
import subprocess

import pytest

from sluice.kafka.durability import idle_workers
from sluice.local import topology, worker_group
from sluice.local.supervisor import Supervised, stop_together
from sluice.local.worker_group import WorkerGroupError
from sluice.settings import load_settings

SERVER = "http://127.0.0.1:8123"


def settings(tmp_path, **overrides):
    return load_settings(environ={}, state_dir=tmp_path, **overrides)


def test_one_worker_runs_on_the_embedded_engine_as_before(tmp_path):
    s = settings(tmp_path)
    worker_group.check(s)
    assert [m.worker_port for m in worker_group.members(s)] == [s.worker_port]
    assert worker_group.name(s, 1) == "worker"
    assert worker_group.impact(s) == "records wait in Kafka until it is back"


def test_several_workers_on_the_embedded_engine_are_refused_with_one_line(tmp_path):
    with pytest.raises(WorkerGroupError) as refused:
        worker_group.check(settings(tmp_path, local_workers=3))
    message = str(refused.value)
    assert message.startswith("--workers 3 needs a ClickHouse server: the embedded engine opens ")
    assert str(tmp_path / "clickhouse") in message and "SLUICE_CLICKHOUSE_URL" in message and "\n" not in message


def test_up_refuses_before_it_starts_anything(tmp_path, capsys):
    state = tmp_path / "never-made"
    assert topology.up(settings(state, local_workers=2)) == 1
    assert "sluice: --workers 2 needs a ClickHouse server" in capsys.readouterr().err
    assert not state.exists()  # no broker, no state directory: nothing was started


@pytest.mark.parametrize("workers", [0, -1])
def test_a_worker_count_below_one_is_refused(tmp_path, workers):
    with pytest.raises(WorkerGroupError, match=f"--workers: expected 1 or more, got {workers}"):
        worker_group.check(settings(tmp_path, local_workers=workers, clickhouse_url=SERVER))


def test_members_share_everything_but_their_port(tmp_path):
    s = settings(tmp_path, local_workers=3, clickhouse_url=SERVER, worker_port=7000)
    worker_group.check(s)
    members = worker_group.members(s)
    assert [m.worker_port for m in members] == [7000, 7001, 7002]
    assert [m.worker_url for m in members] == [f"http://127.0.0.1:{p}" for p in (7000, 7001, 7002)]
    assert {m.replace(worker_port=s.worker_port) for m in members} == {s}  # one group, one store, one key
    assert [worker_group.name(s, i) for i in (1, 2, 3)] == ["worker 1", "worker 2", "worker 3"]
    assert "the other workers take its partitions" in worker_group.impact(s)
    with pytest.raises(ValueError):
        worker_group.member(s, 4)


def test_member_ports_that_overlap_another_listener_are_refused(tmp_path):
    s = settings(tmp_path, local_workers=3, clickhouse_url=SERVER, worker_port=8079, gateway_port=8080)
    with pytest.raises(WorkerGroupError, match="ports 8079-8081 .* overlap gateway_port: set SLUICE_WORKER_PORT"):
        worker_group.check(s)


def test_topics_with_fewer_partitions_than_workers_are_warned_of(tmp_path):
    s = settings(tmp_path, local_workers=4, clickhouse_url=SERVER, topic_partitions=4)
    assert worker_group.partition_warnings(s, {}) == []  # configured 4, not found yet: as configured
    lines = worker_group.partition_warnings(s, {s.ingest_topic: 2, s.native_topic: 4, s.slow_topic: 1})
    assert [line.split(" has ")[0] for line in lines] == [f"topic {s.ingest_topic}", f"topic {s.slow_topic}"]
    assert lines[0] == idle_workers(s.ingest_topic, 2, 4)
    assert "2 partitions for 4 workers: 2 of them get none of it" in lines[0]
    assert idle_workers("t", 4, 4) is None and idle_workers("t", 8, 2) is None


class FakeProc:
    """A child process that records what it is sent into ``events``; ``stubborn`` ones ignore SIGTERM."""

    def __init__(self, name: str, events: list, stubborn: bool = False):
        self.name, self.events, self.stubborn = name, events, stubborn
        self.status: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.status

    def send_signal(self, sig: int) -> None:
        self.events.append((self.name, signal.Signals(sig).name))
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        self.events.append((self.name, "wait"))
        if self.status is None and (self.stubborn or not self.terminated):
            raise subprocess.TimeoutExpired(self.name, timeout)
        self.status = -15 if self.status is None else self.status
        return self.status

    def kill(self) -> None:
        self.events.append((self.name, "SIGKILL"))
        self.status = -9


def test_stop_together_signals_every_worker_before_it_waits_for_any():
    events: list = []
    procs = [FakeProc("w1", events), FakeProc("w2", events, stubborn=True), FakeProc("w3", events)]
    procs[2].status = 0  # already gone: left alone
    stop_together(procs, 5)
    assert events[:2] == [("w1", "SIGTERM"), ("w2", "SIGTERM")]
    assert events[2:] == [("w1", "wait"), ("w2", "wait"), ("w2", "SIGKILL"), ("w2", "wait")]


def test_started_workers_are_supervised_units_stopped_together_by_the_last(tmp_path):
    s = settings(tmp_path, local_workers=3, clickhouse_url=SERVER, worker_port=7000)
    events: list = []
    units: list = []

    def run(name, start, stop, impact):
        unit = Supervised(name, start, lambda line: None, impact)
        units.append((unit, stop))
        unit.start()
        return unit

    workers = worker_group.start(s, run, lambda own: FakeProc(str(own.worker_port), events))
    assert [w.name for w in workers] == ["worker 1", "worker 2", "worker 3"]
    assert [w.handle.name for w in workers] == ["7000", "7001", "7002"]
    for unit, stop in reversed(units):  # as sluice up stops its units
        stop(unit)
    assert [e for e in events if e[1] == "SIGTERM"] == [("7000", "SIGTERM"), ("7001", "SIGTERM"), ("7002", "SIGTERM")]
    assert events.index(("7002", "SIGTERM")) < events.index(("7000", "wait"))
    assert all(w.handle.poll() is not None for w in workers)
