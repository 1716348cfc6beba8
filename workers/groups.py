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
* the insert holds every member's rows and one *marker row* (``marker``) in one block, so in one
  part: the marker is in ClickHouse exactly when the members' rows are. A group whose rows fall on
  two days of the table's daily partitions would be two parts, so it is not formed (``one_day``);
* before a member is stored alone, in a replay or after its group was not inserted, the worker asks
  whether the group landed (``landed``, by the marker), whatever the member's rows are now (a replay
  maps its records again, and a quarantine or a key may have changed since): if so its rows are
  in and it is acknowledged without storing; if not, nobody will insert that group any more, and
  the member is stored alone under a token of its own (``Batch.token``), as is every member of a
  group the engine refused for its data or whose claim no longer held.

The marker row is of tenant ``""``, with the group's token as its body and a time derived from the
token, so ``landed`` reads one granule by the sort key. It goes with its day's partition at the
retention, like the rows it stands for. SQL over ``logs`` that counts every tenant sees one such row
a group insert (``TenantId != ''`` leaves them out; docs/operations.md).

"Nobody will insert it any more" holds because the worker is the only writer of its partitions and
stores one chunk at a time: a group not in ClickHouse when a replay asks was abandoned by a process
that has died, or by this one before it read the partition again. Several workers against a server
could leave a paused worker's group insert in flight while another replays a member alone, so groups
are formed only with the embedded engine, which admits one worker (sluice/local/worker_group.py).
"""

from __future__ import annotations

import datetime
import hashlib
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from schemas.rows.arrow import LOGS_SCHEMA
from workers.batches import Batch

#: The tenant and source of marker rows (``marker``): no API key has an empty tenant (schemas/envelope.py
#: refuses one), so no search, count or stats of the API ever reads one.
MARKER_TENANT = ""
MARKER_SOURCE = "sluice.group"


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
    if any(item.replay_of for b in batches for item in b.items):  # a re-published dead letter keeps its own token
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
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):  # a zone this Python does not know: no group
        return False

    def day(ns: int) -> datetime.date:
        return datetime.datetime.fromtimestamp(ns // 10**9, zone).date()

    return day(first) == day(last)


def _marker_time(group: str) -> int:
    """The marker row's time, in ns, from the group's token: markers spread over the sort key, so a lookup reads
    one granule."""
    return int.from_bytes(hashlib.blake2b(group.encode(), digest_size=8).digest(), "big") % 10**18


def marker(group: str, received_ns: int) -> pa.Table:
    """The marker row of ``group``, received at ``received_ns`` (a time of the group's rows: its day's partition)."""
    row = dict(TenantId=MARKER_TENANT, Environment="", Source=MARKER_SOURCE, RequestId="", ReceivedAt=received_ns,
               Timestamp=_marker_time(group), TraceId="", SpanId="", TraceFlags=0, SeverityText="", SeverityNumber=0,
               ServiceName="", Body=group, ResourceAttributes=[], ScopeName="", ScopeVersion="", ScopeAttributes=[],
               LogAttributes=[])
    return pa.Table.from_pylist([row], schema=LOGS_SCHEMA)


def landed(client: Client, db: str, group: str, settings: dict | None = None) -> bool:
    """True when the insert of ``group`` is in ClickHouse (its marker row is)."""
    return bool(client.query(
        f"SELECT count() FROM {db}.logs WHERE TenantId = {{tenant:String}} AND Environment = '' "
        "AND Timestamp = fromUnixTimestamp64Nano({at:Int64}) AND Body = {group:String}",
        parameters={"tenant": MARKER_TENANT, "at": _marker_time(group), "group": group},
        settings=settings or {}).result_rows[0][0])
