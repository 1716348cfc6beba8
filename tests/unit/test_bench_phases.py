"""bench.e2e's phases: the stored rate under load, and a paced phase that starts once the merges settled."""

import threading

import pytest

import bench.harness
from bench.rates import BEHIND_S, Trial, backlog, sustained, under_load
from bench.harness import Bench


def test_the_rate_under_load_counts_from_the_first_sample_to_the_end_of_the_load():
    first_taken = threading.Event()
    counts = iter([1_000, 3_000])
    times = iter([0.0, 2.0, 10.0, 12.0])  # each sample reads the clock before and after its count

    def rows() -> int:
        n = next(counts)
        first_taken.set()
        return n

    with under_load(rows, skip_s=0, clock=lambda: next(times)) as during:
        assert first_taken.wait(10), "the first sample was never taken"
    assert during.rate == pytest.approx((3_000 - 1_000) / (11.0 - 1.0))


def test_a_load_shorter_than_the_skip_gives_no_rate_rather_than_a_wrong_one():
    with under_load(lambda: pytest.fail("no sample was due"), skip_s=3600) as during:
        pass
    assert during.rate is None


def _then_the_last(values: list):
    """Each value in turn, then the last one for good (a sampler may sample again before it is stopped)."""
    it = iter(values)
    last = [None]

    def take():
        last[0] = next(it, last[0])
        return last[0]
    return take


def test_a_paced_load_is_as_far_behind_as_the_least_of_its_samples():
    sampled = threading.Event()
    clock = _then_the_last([0.0, 20.0, 20.5, 21.0])  # the block begins at 0, samples follow
    counts = _then_the_last([1_850, 2_020, 1_930])

    def stored() -> int:
        n = counts()
        if n == 1_930:
            sampled.set()
        return n

    with backlog(stored, rate=100, from_s=0, every_s=0, clock=clock) as behind:
        assert sampled.wait(10), "the samples were never taken"
    # 1.5 s behind as a chunk was being inserted, 0.3 s once it was stored, 1.7 s at the next one's
    assert behind.least_s == pytest.approx(0.3)


def test_a_load_shorter_than_the_first_sample_gives_no_backlog_rather_than_a_wrong_one():
    with backlog(lambda: pytest.fail("no sample was due"), rate=100, from_s=3600) as behind:
        pass
    assert behind.least_s is None


def _worker_keeping_up_to(capacity: float):
    def paced(rate: float) -> Trial:
        # At or under capacity a worker is behind by its freshness; past it, further every second.
        return Trial(rate, 0.5 if rate <= capacity else 0.5 + 20 * (rate / capacity - 1))
    return paced


def test_the_sustained_rate_is_the_highest_rate_a_paced_load_was_kept_up_with():
    found, trials = sustained(60_000, 140_000, 3, _worker_keeping_up_to(100_000))
    assert [t.rate for t in trials] == [100_000, 120_000, 110_000]
    assert found == 100_000
    assert [t.behind_s <= BEHIND_S for t in trials] == [True, False, False]


def test_when_no_trial_kept_up_the_lower_bound_and_rates_below_it_are_tried_until_one_is():
    found, trials = sustained(60_000, 140_000, 2, _worker_keeping_up_to(50_000))
    assert [round(t.rate) for t in trials] == [100_000, 80_000, 60_000, 54_000, 48_600]
    assert found == trials[-1].rate and trials[-1].behind_s <= BEHIND_S


def test_the_lower_bound_kept_up_with_is_the_rate_after_a_failed_bisection():
    found, trials = sustained(60_000, 140_000, 2, _worker_keeping_up_to(65_000))
    assert found == 60_000 and [t.rate for t in trials] == [100_000, 80_000, 60_000]


def test_steps_below_that_all_fall_behind_report_the_last_as_a_bound():
    found, trials = sustained(60_000, 140_000, 2, _worker_keeping_up_to(10_000), down_steps=2)
    assert [round(t.rate) for t in trials] == [100_000, 80_000, 60_000, 54_000]
    assert round(found) == 54_000 and all(t.behind_s > BEHIND_S for t in trials)


def _bench_reading(monkeypatch, states: list[tuple[int, int]]) -> tuple[Bench, list]:
    seen = list(states)
    asked: list = []

    def sql(settings, statement):
        asked.append(statement)
        return [seen.pop(0) if len(seen) > 1 else seen[0]]

    monkeypatch.setattr(bench.harness, "sql", sql)
    return Bench(None, None, "", "", "", ()), asked


def test_a_phase_waits_while_merges_run_or_the_parts_change(monkeypatch):
    # (merges running, active parts): two merges, then one, then none with the parts still changing.
    b, asked = _bench_reading(monkeypatch, [(2, 40), (1, 31), (0, 22), (0, 13), (0, 13)])
    b.merges_settled(quiet_s=0, poll_s=0)
    assert len(asked) == 5  # settled only when no merge ran and the parts held still across two reads


def test_merges_that_never_settle_end_the_wait_with_what_was_seen(monkeypatch):
    b, _ = _bench_reading(monkeypatch, [(1, 40)])
    with pytest.raises(TimeoutError, match=r"merges still running after 0.05s: \(1, 40\)"):
        b.merges_settled(quiet_s=0, timeout_s=0.05, poll_s=0.01)


def test_a_benchmark_leaves_no_state_behind_once_its_broker_stopped(monkeypatch):
    events = []

    class Broker:
        def __init__(self, config, jars):
            self.config = config

        def start(self):
            (self.config.state_dir / "segment.log").parent.mkdir(parents=True)
            (self.config.state_dir / "segment.log").write_bytes(b"x" * 1024)

        def stop(self):
            events.append("stopped")

    monkeypatch.setattr(bench.harness.local, "LocalBroker", Broker)
    monkeypatch.setattr(bench.harness.local, "fetch", lambda cache_dir, version: None)
    with bench.harness.broker() as (_, tmp):
        assert (tmp / "kafka" / "segment.log").exists()
    assert events == ["stopped"] and not tmp.exists()
