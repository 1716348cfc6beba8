"""Batches name their topic by the key of the intents they were planned over (workers/batches.py)."""

from workers.batches import BatchPlanner, Intent, Intents, Pending

TP = ("logs", 0)


def items(offsets):
    return [Pending(o, [o], f"h{o}") for o in offsets]


def test_fresh_and_replayed_batches_and_their_parts_carry_the_intents_key():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, Intents([Intent(0, 2)], key="logs@AAAA"))
    replayed, fresh = planner.plan(TP, items(range(0, 5)))
    assert (replayed.replay, fresh.replay) == (True, False)
    assert [b.token for b in (replayed, fresh)] == ["logs@AAAA:0:0-2", "logs@AAAA:0:3-4"]
    assert {b.bookkeeping for b in (replayed, fresh)} == {"logs@AAAA"}
    assert fresh.topic == "logs"  # the consumer's name for the partition stays the name
    part = fresh.part(fresh.items[1:])
    assert (part.token, part.bookkeeping) == ("logs@AAAA:0:3-4/4-4", "logs@AAAA")


def test_a_recreated_topic_s_batches_get_other_tokens_at_the_same_offsets():
    before, after = BatchPlanner(max_rows=100), BatchPlanner(max_rows=100)
    before.load(TP, 0, Intents([], key="logs@AAAA"))
    after.load(TP, 0, Intents([], key="logs@BBBB"))
    (old,), (new,) = before.plan(TP, items(range(0, 3))), after.plan(TP, items(range(0, 3)))
    assert (old.first, old.last) == (new.first, new.last) and old.token != new.token


def test_intents_without_a_key_name_the_topic():
    planner = BatchPlanner(max_rows=100)
    planner.load(TP, 0, [Intent(0, 1)])
    (batch,) = planner.plan(TP, items(range(0, 2)))
    assert (batch.token, batch.bookkeeping) == ("logs:0:0-1", "logs")
    assert Intents([Intent(0, 1)]) == [Intent(0, 1)] and Intents().key == ""
