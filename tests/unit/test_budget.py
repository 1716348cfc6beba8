import base64
import os
import threading

from tests.unit.test_logflux import fast_cache, fast_entry
from workers.batches import BatchPlanner, Intent
from workers.budget import LowPriority, Pacer, TokenBuckets
from workers.decrypt import Decryptor
from tests.support import Clock, niceness


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


def test_low_priority_runs_calls_on_a_niced_thread_and_returns_their_result():
    run = LowPriority(nice=10)
    tid, result = run(lambda a, b: (threading.get_native_id(), a + b), 2, 3)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert result == 5 and tid != threading.get_native_id()
    assert niceness(tid) == max(10, base)
    assert niceness(threading.get_native_id()) == base  # the caller keeps its priority


def test_the_slow_lanes_derivations_go_through_its_runner_and_serve_the_main_lane():
    e = fast_entry("hello", "s")
    iv, salt, payload = (base64.b64decode(e[k]) for k in ("iv", "salt", "payload"))
    ran = []

    def runner(fn, *args):
        ran.append(args[1])
        return fn(*args)

    cache = fast_cache()
    slow = Decryptor(lambda t: [(1, b"s")], cache, run_derive=runner)
    assert slow.decrypt("acme", iv, salt, payload) == b"hello" and ran == [salt]
    main = Decryptor(lambda t: [(1, b"s")], cache)
    assert main.decrypt("acme", iv, salt, payload) == b"hello" and ran == [salt] and len(cache) == 1
