"""Group inserts: one insert for a chunk's batches of several partitions, when the worker is their only writer.

A chunk holds the records of every partition the worker reads, and each partition's batch has been
an insert of its own (workers/batches.py: its offset range is its deduplication token). Under a
moderate load that is four small inserts a chunk, and the engine pays most of an insert's cost per
insert, not per row, and again in the merges of each small part (docs/performance.md, "Group
inserts"). So with the embedded engine the chunk's batches go in as one insert, a *group*.

The contract, in the order the worker keeps:

* a group is planned over fresh batches of one topic, at most one a partition (``plan``); each
  member's intent names the group's token (``Batch.group``) and is recorded, and every member's
  claim checked, before the insert (workers/sink.py ``prepare_batches``);
* the insert holds every member's rows in one block, so in one part: all of them are in ClickHouse or
  none. A group whose rows fall on two days of the table's daily partitions would be two parts, so it
  is not formed (``one_day``);
* a member's replay asks whether its group landed (``landed``, by its own rows): if so its rows are
  in and it is acknowledged without storing; if not, nobody will insert that group any more, and
  the member is stored alone under a token of its own (``Batch.token``), as is every member of a
  group the engine refused for its data or whose claim no longer held.

"Nobody will insert it any more" holds because the worker is the only writer of its partitions and
stores one chunk at a time: a group not in ClickHouse when a replay asks was abandoned by a process
that has died, or by this one before it read the partition again. Several workers against a server
could leave a paused worker's group insert in flight while another replays a member alone, so groups
are formed only with the embedded engine, which admits one worker (sluice/local/worker_group.py).
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from workers.batches import Batch


def token(members: list[Batch]) -> str:
    """The group's deduplication token: every member's range, in partition order."""
    ranges = "+".join(f"{b.partition}:{b.first}-{b.last}" for b in sorted(members, key=lambda b: b.partition))
    return f"group:{members[0].bookkeeping}:{ranges}"


def plan(batches: list[Batch], max_rows: int) -> list[Batch]:
    """The batches to store as one group, or [] to store each alone.

    Candidates are fresh batches (not a replay, not part of a split, not already stored) with rows,
    of one topic, one a partition. A chunk with more than one batch of a partition is under a backlog,
    when inserts are large anyway and the partitions' inserts run side by side on the writing threads."""
    if max_rows <= 0 or len(batches) < 2:
        return []
    if any(b.replay or b.part_of or b.stored or b.group or not b.row_count for b in batches):
        return []
    if len({b.bookkeeping for b in batches}) != 1 or len({b.partition for b in batches}) != len(batches):
        return []
    if sum(b.row_count for b in batches) > max_rows:
        return []
    return list(batches)


def one_day(table: pa.Table, timezone: str) -> bool:
    """True when every row's ``ReceivedAt`` falls on one day of ``timezone`` (the engine's, which
    ``toDate(ReceivedAt)``, the table's partition key, uses)."""
    received = table.column("ReceivedAt")
    first, last = pc.min(received).value, pc.max(received).value
    zone = ZoneInfo(timezone)

    def day(ns: int) -> datetime.date:
        return datetime.datetime.fromtimestamp(ns / 1e9, zone).date()

    return day(first) == day(last)


#: How many of a member's rows ``landed`` looks for.
SAMPLE_ROWS = 64
# What tells a stored row from another: the sort key's start (tenant, environment, time), so each lookup
# reads a granule, then the request, its receive time and the text.
_IDENTITY = ("TenantId", "Environment", "Timestamp", "RequestId", "ReceivedAt", "Body")
_IDENTITY_SQL = ("TenantId, Environment, toUnixTimestamp64Nano(Timestamp), RequestId, "
                 "toUnixTimestamp64Nano(ReceivedAt), Body")


def landed(client: Client, db: str, rows: pa.Table, settings: dict | None = None) -> bool:
    """True when a member's group insert is in ClickHouse: each of up to ``SAMPLE_ROWS`` of the member's
    ``rows``, spread over them, is there. A group lands whole or not at all, so either every sampled row
    is there or, unless the same rows were stored from another record, none is; only a member whose
    sampled rows all have such copies would be taken for stored, and then its rows are in anyway."""
    if not rows.num_rows:
        return False
    step = max(1, rows.num_rows // SAMPLE_ROWS)
    sample = rows.select(list(_IDENTITY)).take(list(range(0, rows.num_rows, step))[:SAMPLE_ROWS])
    ns = {name: pc.cast(sample.column(name), pa.int64()).to_pylist() for name in ("Timestamp", "ReceivedAt")}
    wanted = sorted(set(zip(sample.column("TenantId").to_pylist(), sample.column("Environment").to_pylist(),
                            ns["Timestamp"], sample.column("RequestId").to_pylist(), ns["ReceivedAt"],
                            sample.column("Body").to_pylist())))
    found = client.query(
        f"SELECT uniqExact({_IDENTITY_SQL}) FROM {db}.logs WHERE TenantId IN {{tenants:Array(String)}} "
        f"AND ({_IDENTITY_SQL}) IN {{rows:Array(Tuple(String, String, Int64, String, Int64, String))}}",
        parameters={"tenants": sorted({w[0] for w in wanted}), "rows": wanted},
        settings=settings or {}).result_rows[0][0]
    return found == len(wanted)
