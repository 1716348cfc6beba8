"""A live tail's cursor and poll against an in-memory engine: every row once, never stalled.

``Engine`` answers the four statements of sluice/query/follow.py by what they
mean (their parameters), over rows that become visible in an order of the
test's choosing; the real engine runs them in tests/integration/test_tail.py.
"""

from __future__ import annotations

import asyncio
import random

from sluice.query import follow
from sluice.query.cursor import Cursor

SCOPE = follow.Scope("t", None, "sluice", "1", {})


class Engine:
    """Rows as [payload, key, received]; only ``visible`` ones answer."""

    def __init__(self):
        self.visible: list[list] = []
        self.statements = 0

    async def rows(self, sql: str, params: dict) -> list[list]:
        self.statements += 1
        pos = (params["r"], params["k"])
        at = [row for row in self.visible if row[2] >= params["lo"]]
        at.sort(key=lambda row: (row[2], row[1]))
        if "countIf(" in sql:
            return [[sum((r[2], r[1]) < pos for r in at), sum((r[2], r[1]) >= pos for r in at)]]
        if "GROUP BY" in sql:
            counts: dict[tuple[int, int], int] = {}
            for r in at:
                if (r[2], r[1]) < pos:
                    counts[(r[2], r[1])] = counts.get((r[2], r[1]), 0) + 1
            return [[r, k, n] for (r, k), n in counts.items()]
        if "{keys:" in sql:
            return [r for r in at if (r[2], r[1]) < pos and r[2] <= params["hi"] and r[1] in params["keys"]]
        return [r for r in at if (r[2], r[1]) >= pos][:params["limit"]]


def drain(engine: Engine, cursor: Cursor, polls: int) -> list[list]:
    got = []
    for _ in range(polls):
        fresh, more = asyncio.run(follow.poll(engine, SCOPE, cursor))
        got += fresh
    return got


def test_a_request_of_thousands_of_rows_at_one_instant_pages_through_without_stalling():
    engine, cursor = Engine(), Cursor(1000)
    engine.visible = [[f"m{i}", random.Random(i).getrandbits(64), 2000] for i in range(1700)]
    got = drain(engine, cursor, 1)
    assert sorted(r[0] for r in got) == sorted(r[0] for r in engine.visible)
    assert drain(engine, cursor, 3) == []  # nothing again


def test_identical_rows_are_each_delivered_once_even_split_across_pages():
    engine, cursor = Engine(), Cursor(0)
    # 1,203 rows at one instant, 700 of them the same row: pages end inside that position.
    engine.visible = [["same", 5, 10]] * 700 + [[f"m{i}", 1 + i % 3 * 7, 10] for i in range(503)]
    got = drain(engine, cursor, 2)
    assert len(got) == 1203 and sum(r[0] == "same" for r in got) == 700
    engine.visible.append(["same", 5, 10])  # one more identical row becomes visible later
    assert drain(engine, cursor, 1) == [["same", 5, 10]]


def test_random_arrival_orders_deliver_every_row_exactly_once():
    rnd = random.Random(2026)
    for trial in range(12):
        engine, cursor = Engine(), Cursor(1_000)
        # Requests: each a few rows to a thousand at one ReceivedAt (ns), some rows repeated.
        pending = []
        for request in range(rnd.randint(5, 40)):
            received = 1_000 + rnd.randint(0, 3_000_000_000)
            for i in range(rnd.choice([1, 3, 50, 700])):
                payload = f"{request}-{i % 40 if rnd.random() < 0.3 else i}"
                pending.append([payload, hash(payload) & (2**64 - 1), received])
        rnd.shuffle(pending)  # visible in any order: other partitions' batches land late
        delivered = []
        while pending:
            engine.visible += [pending.pop() for _ in range(min(len(pending), rnd.randint(1, 900)))]
            delivered += drain(engine, cursor, 1)
        delivered += drain(engine, cursor, 2)
        assert sorted(map(tuple, delivered)) == sorted(map(tuple, engine.visible)), trial


def test_a_quiet_poll_is_one_statement_and_rows_received_before_the_start_are_not_shown():
    engine, cursor = Engine(), Cursor(5_000)
    engine.visible = [["old", 1, 4_999]]
    assert drain(engine, cursor, 1) == [] and engine.statements == 1
    engine.visible.append(["new", 2, 5_001])
    assert drain(engine, cursor, 1) == [["new", 2, 5_001]]


def test_a_flood_returns_control_between_polls_and_continues_at_once():
    engine, cursor = Engine(), Cursor(0)
    rows = follow.PAGE * follow.PAGES_PER_POLL + 10
    engine.visible = [[f"m{i}", i, 1 + i // 100] for i in range(rows)]
    fresh, more = asyncio.run(follow.poll(engine, SCOPE, cursor))
    assert (len(fresh), more) == (follow.PAGE * follow.PAGES_PER_POLL, True)
    fresh, more = asyncio.run(follow.poll(engine, SCOPE, cursor))
    assert (len(fresh), more) == (10, False)


def test_the_window_stays_bounded_and_never_forgets_the_position():
    cursor = Cursor(0, lookback_ns=10**12, max_tracked=100)
    rows = [[f"m{i}", i, 50] for i in range(150)] + [[f"n{i}", i, 60 + i] for i in range(150)]
    cursor.take(rows, lambda r: (r[2], r[1]))
    cursor.advance((209, 149))
    cursor.prune()
    assert sum(cursor.delivered.values()) <= 101 and cursor.at_position() == 1
    # A position whose rows alone exceed the cap keeps them: its next page must skip them.
    cursor = Cursor(0, max_tracked=100)
    cursor.take([["x", 7, 50]] * 300, lambda r: (r[2], r[1]))
    cursor.advance((50, 7))
    cursor.prune()
    assert cursor.at_position() == 300
