"""Keyless records keep to one partition for a while, then the next takes over; keyed ones hash as before."""

from collections import Counter

import pytest
from aiokafka.partitioner import DefaultPartitioner

from sluice.kafka.clients import producer
from sluice.kafka.sticky import StickyPartitioner
from sluice.settings import load_settings

PARTITIONS = [0, 1, 2, 3]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keyless_records_stay_on_one_partition_until_the_time_is_up_then_take_turns_alike():
    clock = Clock()
    sticky = StickyPartitioner(0.25, clock=clock, turn=0)
    chosen = []
    for _ in range(4 * 10):  # ten turns of four windows, five records each
        chosen.append([sticky(None, PARTITIONS, PARTITIONS) for _ in range(5)])
        clock.now += 0.25
    assert all(len(set(window)) == 1 for window in chosen)  # one partition per window
    firsts = [window[0] for window in chosen]
    assert firsts[:5] == [1, 2, 3, 0, 1]  # the next partition takes over each time
    assert Counter(firsts) == {p: 10 for p in PARTITIONS}


def test_a_turn_ends_at_its_bytes_before_its_time_and_a_new_turn_starts_both_afresh():
    clock = Clock()
    sticky = StickyPartitioner(0.25, stick_bytes=1000, clock=clock, turn=0)
    chosen = []
    for _ in range(9):  # 400-byte records: three to a turn, the third reaching the bound
        chosen.append(sticky(None, PARTITIONS, PARTITIONS))
        sticky.charge(400)
    assert chosen == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    clock.now += 0.25  # the time turns too, and the next turn starts with nothing charged
    assert [sticky(None, PARTITIONS, PARTITIONS) for _ in range(2)] == [0, 0]
    sticky.charge(999)
    assert sticky(None, PARTITIONS, PARTITIONS) == 0


def test_zero_bytes_leaves_the_turn_to_the_clock():
    clock = Clock()
    sticky = StickyPartitioner(0.25, stick_bytes=0, clock=clock, turn=0)
    for _ in range(5):
        assert sticky(None, PARTITIONS, PARTITIONS) == 1
        sticky.charge(1 << 30)
    clock.now += 0.25
    assert sticky(None, PARTITIONS, PARTITIONS) == 2


def test_keyed_records_hash_exactly_as_aiokafkas_default_whatever_the_turn():
    sticky, default = StickyPartitioner(0.25, clock=Clock()), DefaultPartitioner()
    for n in range(200):
        key = f"acme/idem-{n}".encode()
        assert sticky(key, PARTITIONS, PARTITIONS) == default(key, PARTITIONS, PARTITIONS)


def test_a_partition_without_a_leader_is_left_out_and_zero_seconds_takes_turns_record_by_record():
    clock = Clock()
    sticky = StickyPartitioner(0, clock=clock, turn=0)
    assert [sticky(None, PARTITIONS, [0, 2]) for _ in range(4)] == [2, 0, 2, 0]
    assert [sticky(None, PARTITIONS, []) for _ in range(4)] == [1, 2, 3, 0]  # none known yet: all of them


def test_a_negative_stick_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="setting kafka_sticky_partition_s: expected 0 or more seconds, got -1"):
        producer(load_settings(environ={}, kafka_sticky_partition_s=-1))
    with pytest.raises(ValueError, match="setting kafka_sticky_partition_bytes: expected 0 or more bytes, got -5"):
        producer(load_settings({"SLUICE_KAFKA_STICKY_PARTITION_BYTES": "-5"}))
