"""Migration 7 (the search layout) against the real engine: rows survive the rebuild both ways,
every row gets its own ``Seq``, searches read in the sort key's order, and the cursor pages
through rows of one nanosecond, identical ones included, each exactly once."""

from __future__ import annotations

import time

import pytest

from schemas.clickhouse import MIGRATIONS, SORT_KEY
from sluice.query.search import SearchRequest, build, page
from tests.rows import LogRow, to_arrow

pytestmark = pytest.mark.integration

(LAYOUT,) = [m for m in MIGRATIONS if m.name == "search_layout"]
# The rebuild makes the table as migration 7 left it; the later ones are applied again after it, so
# the engine this process shares leaves each test with the table every migration made (whatever order
# the tests run in).
LATER = [statement for m in MIGRATIONS if m.version > LAYOUT.version for statement in m.forwards]
PARAMS = {"db": "sluice", "retention_days": 30, "dedup_window": 1000}


def _apply(storage, statements) -> None:
    for statement in statements:
        storage.run_sync(lambda c: c.command(statement.format(**PARAMS)))
    if statements is LAYOUT.forwards:
        for statement in LATER:
            storage.run_sync(lambda c: c.command(statement.format(**PARAMS)))


def _sort_key(storage, table: str) -> str:
    return storage.run_sync(lambda c: c.query(
        "SELECT sorting_key FROM system.tables WHERE database = 'sluice' AND name = {t:String}",
        parameters={"t": table}).result_rows[0][0])


def _rows(tenant: str, n: int, at_ns: int | None = None) -> list[LogRow]:
    now = time.time_ns()
    return [LogRow(tenant, "production", "logtrace", f"{tenant}-{i}", now, at_ns or now - i * 1000, "INFO", 9,
                   "api", "the same line" if at_ns else f"line {i}", "", "", {}, {"i": str(i)})
            for i in range(n)]


def _content(storage, tenant: str) -> list[tuple]:
    return storage.run_sync(lambda c: c.query(
        "SELECT RequestId, toUnixTimestamp64Nano(Timestamp), Body, LogAttributes, TimestampTime "
        "FROM sluice.logs WHERE TenantId = {t:String} ORDER BY RequestId", parameters={"t": tenant}).result_rows)


def test_the_rebuild_keeps_every_row_both_ways_and_can_run_again(storage):
    storage.run_sync(lambda c: c.insert_arrow("sluice.logs", to_arrow(_rows("layout", 300))))
    before = _content(storage, "layout")
    assert len(before) == 300 and _sort_key(storage, "logs") == SORT_KEY

    _apply(storage, LAYOUT.backwards)
    assert "toStartOfFiveMinutes(Timestamp)" in _sort_key(storage, "logs")
    assert "toStartOfFiveMinutes(Timestamp)" in _sort_key(storage, "http_logs")
    assert _content(storage, "layout") == before

    _apply(storage, LAYOUT.forwards)
    _apply(storage, LAYOUT.forwards)  # as after a crash right before the migration was recorded
    assert _sort_key(storage, "logs") == SORT_KEY and _sort_key(storage, "http_logs") == SORT_KEY
    assert _content(storage, "layout") == before
    tables = storage.run_sync(lambda c: c.query(
        "SELECT name FROM system.tables WHERE database = 'sluice' AND name LIKE '%\\_v_'").result_rows)
    assert tables == []  # no copy left behind
    seqs = storage.run_sync(lambda c: c.query(
        "SELECT count(), uniqExact(Seq), min(Seq) FROM sluice.logs WHERE TenantId = 'layout'").result_rows[0])
    assert seqs[0] == seqs[1] == 300 and seqs[2] > 0


def _page_all(storage, sort: str, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        request = SearchRequest(from_="-1h", limit=limit, cursor=cursor, sort=sort)
        sql, params = build(request, "same-ns", "sluice", time.time_ns())
        rows = storage.run_sync(lambda c: [list(r) for r in c.query(sql, parameters=params).result_rows])
        records, more, cursor = page(rows, limit, sort=sort)
        seen += [r["request_id"] for r in records]
        if not more:
            return seen


@pytest.mark.parametrize("sort", ["desc", "asc"])
def test_the_cursor_pages_through_rows_of_one_nanosecond_each_once(storage, sort):
    # Identical lines at one instant: only Seq tells them apart.
    at = time.time_ns() - 10**9
    batch = _rows("same-ns", 250, at_ns=at)
    if not storage.run_sync(lambda c: c.query("SELECT count() FROM sluice.logs WHERE TenantId = 'same-ns'")
                            .result_rows[0][0]):
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", to_arrow(batch)))
    seen = _page_all(storage, sort, 40)
    assert sorted(seen) == sorted(r.request_id for r in batch) and len(seen) == len(set(seen))


def test_a_newest_first_search_reads_in_the_sort_keys_order(storage):
    sql, params = build(SearchRequest(filter="failed", from_="-1h"), "t", "sluice", time.time_ns(), "production")
    plan = storage.run_sync(lambda c: "\n".join(r[0] for r in c.query(
        "EXPLAIN actions = 1 " + sql, parameters=params).result_rows))
    # The engine reads the parts backwards along (TenantId, Environment, Timestamp, Seq), stops at the
    # page, and reads the shown columns (the message too: the index alone proved the word) for its rows only.
    assert "Read type: InReverseOrder" in plan, plan
    lazily = plan.split("Lazily read columns:")[1].splitlines()[0]
    assert "Body" in lazily and "LogAttributes" in lazily, plan


def test_the_rebuild_copies_a_table_of_more_than_a_hundred_days(storage):
    # Partitions are days of ReceivedAt: one block of the copy spans all of them. Days ahead, not
    # behind: rows older than the retention would be the TTL's to drop meanwhile.
    rows = _rows("longkept", 150)
    day = 86_400 * 10**9
    old = [row._replace(received_ns=row.received_ns + i * day) for i, row in enumerate(rows)]
    storage.run_sync(lambda c: c.insert_arrow("sluice.logs", to_arrow(old), settings={"max_partitions_per_insert_block": 0}))
    before = _content(storage, "longkept")
    _apply(storage, LAYOUT.backwards)
    _apply(storage, LAYOUT.forwards)
    assert _content(storage, "longkept") == before and len(before) == 150
