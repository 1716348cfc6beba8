"""bench/freshness.py: what a probe's freshness counts."""

from bench.freshness import Freshness, Outstanding


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_probe_is_fresh_from_its_202_to_when_the_query_that_returned_it_was_asked():
    clock = Clock(10.0)
    result = Freshness()
    outstanding = Outstanding(result, clock)
    outstanding.ack("a")
    clock.now = 10.4

    def slow_query(waiting: list[str]) -> list[str]:
        clock.now += 0.3  # the query's own time: not the pipeline's
        return waiting

    outstanding.poll(slow_query)
    assert len(result.seen_s) == 1 and abs(result.seen_s[0] - 0.4) < 1e-9
    assert result.sent == 1 and outstanding.acked == {}


def test_a_probe_no_query_returned_stays_outstanding_and_is_counted_once_seen():
    clock = Clock(0.0)
    result = Freshness()
    outstanding = Outstanding(result, clock)
    outstanding.ack("a")
    outstanding.ack("b")
    clock.now = 1.0
    outstanding.poll(lambda waiting: ["b", "unknown"])
    assert list(outstanding.acked) == ["a"] and result.seen_s == [1.0]
    clock.now = 2.5
    outstanding.poll(lambda waiting: waiting)
    asked = []
    outstanding.poll(lambda waiting: asked.append(waiting) or ["a"])  # nothing outstanding
    assert result.seen_s == [1.0, 2.5] and outstanding.acked == {} and asked == []
    assert result.figures()["probes"] == 2
