from workers.batches import BatchPlanner, Intent
from workers.budget import Pacer, TokenBuckets


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_token_buckets_refill_per_key_and_never_go_negative():
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=4, clock=clock)
    assert buckets.take("a", 4)
    assert not buckets.take("a", 1)
    assert buckets.take("b", 3)  # another tenant's bucket is untouched
    clock.now = 1.0
    assert not buckets.take("a", 3)  # refilled to 2 only; a failed take spends nothing
    assert buckets.take("a", 2)
    clock.now = 100.0
    assert buckets.take("a", 4) and not buckets.take("a", 1)  # capped at the burst


def test_pacer_spaces_calls_at_its_rate():
    clock, slept = Clock(), []

    def sleep(s):
        slept.append(s)
        clock.now += s

    pacer = Pacer(rate=4, clock=clock, sleep=sleep)
    for _ in range(3):
        pacer.wait()
    assert slept == [0.25, 0.25]


def test_planner_remembers_which_offsets_a_recorded_batch_moved():
    planner = BatchPlanner(max_rows=10)
    planner.load(("t", 0), 5, [Intent(0, 4, (2,)), Intent(5, 9, (6, 8))])
    assert planner.diverted(("t", 0)) == {6, 8}
    assert planner.diverted(("t", 1)) == frozenset()
