from workers.batches import BatchPlanner, Intent, Pending

TP = ("t", 0)


def items(offsets, rows_each=1):
    return [Pending(o, [o] * rows_each, f"h{o}") for o in offsets]


def ranges(batches):
    return [(b.first, b.last, b.replay) for b in batches]


def test_fresh_records_form_one_batch_per_chunk():
    planner = BatchPlanner(max_rows=100)
    assert planner.needs_intents(TP, 0)
    planner.load(TP, 0, [])
    assert ranges(planner.plan(TP, items(range(0, 5)))) == [(0, 4, False)]
    assert not planner.needs_intents(TP, 5)
    assert ranges(planner.plan(TP, items(range(5, 7)))) == [(5, 6, False)]


def test_batches_are_cut_at_max_rows_and_a_big_record_stands_alone():
    planner = BatchPlanner(max_rows=10)
    planner.load(TP, 0, [])
    chunk = [Pending(0, [0] * 4, "a"), Pending(1, [1] * 4, "b"), Pending(2, [2] * 4, "c"), Pending(3, [3] * 30, "d"), Pending(4, [4], "e")]
    assert ranges(planner.plan(TP, chunk)) == [(0, 1, False), (2, 2, False), (3, 3, False), (4, 4, False)]


def test_replay_rebuilds_recorded_ranges_whatever_the_chunking():
    # First life: two batches [10..14] and [15..19] were recorded.
    intents = [Intent(10, 14), Intent(15, 19)]
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 10, intents)
    out = []
    # Redelivered in chunks that cut across the recorded ranges.
    for chunk in (range(10, 12), range(12, 17), range(17, 23)):
        out += planner.plan(TP, items(chunk))
    assert ranges(out) == [(10, 14, True), (15, 19, True), (20, 22, False)]
    assert out[0].token == "t:0:10-14"
    assert out[0].handles == ["h10", "h11", "h12", "h13", "h14"]


def test_restart_inside_a_recorded_range_keeps_its_token():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 13, [Intent(5, 9), Intent(10, 14)])  # committed offset fell inside [10..14]
    (batch,) = planner.plan(TP, items(range(13, 15)))
    assert (batch.token, batch.replay) == ("t:0:10-14", True)


def test_incomplete_range_is_held_back():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [Intent(0, 9)])
    assert planner.plan(TP, items(range(0, 5))) == []
    assert ranges(planner.plan(TP, items(range(5, 10)))) == [(0, 9, True)]


def test_range_whose_tail_vanished_is_closed_when_later_offsets_arrive():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [Intent(0, 9)])
    assert planner.plan(TP, items([0, 1])) == []
    assert ranges(planner.plan(TP, items([12, 13]))) == [(0, 9, True), (12, 13, False)]


def test_jump_in_offsets_asks_for_intents_again_and_forget_drops_state():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [])
    planner.plan(TP, items([0, 1]))
    assert planner.needs_intents(TP, 7)
    planner.forget([TP])
    assert planner.needs_intents(TP, 2)


def test_republished_dead_letter_stands_alone_and_is_named_after_its_origin():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [])
    chunk = [Pending(0, [0], "a"), Pending(1, [1], "b", replay_of="src:2:99"), Pending(2, [2], "c")]
    batches = planner.plan(TP, chunk)
    assert [b.token for b in batches] == ["t:0:0-0", "replay:src:2:99", "t:0:2-2"]
    # After a crash the recorded range [1..1] is rebuilt around the same record: same token.
    planner.load(TP, 1, [Intent(1, 1)])
    (again,) = planner.plan(TP, [chunk[1]])
    assert again.token == "replay:src:2:99"


def test_a_chunk_is_cut_where_a_partition_goes_back_to_offsets_it_delivered_before():
    from workers.consumed import Consumed
    from workers.pipeline import runs_of

    def c(partition: int, offset: int) -> Consumed:
        return Consumed("t", partition, offset, None, b"", (), 0, None)

    chunk = [c(0, 141), c(1, 7), c(0, 0), c(0, 1), c(1, 8), c(1, 2)]
    assert [[(r.partition, r.offset) for r in run] for run in runs_of(chunk)] == [
        [(0, 141), (1, 7)], [(0, 0), (0, 1), (1, 8)], [(1, 2)]]
    assert runs_of([c(0, 1), c(0, 5), c(1, 0)]) == [[c(0, 1), c(0, 5), c(1, 0)]]  # gaps are fine
    assert runs_of([]) == []


def test_a_partition_revoked_mid_chunk_plans_nothing():
    planner = BatchPlanner(max_rows=100)
    planner.load(("t", 0), 0, [])
    planner.forget([("t", 0)])
    assert planner.plan(("t", 0), items([0, 1, 2])) == []
