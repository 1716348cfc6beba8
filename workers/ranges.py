"""The offset ranges of a partition's batches, as the bookkeeping tables hold them.

A batch records its range (``ingest_batches``, its intent) before its rows and marks it stored
(``stored_batches``) once they are in; a reader that starts on a partition reads both
(``read``) and rebuilds every recorded batch from its range before reading on
(workers/batches.py, the planner). Topics are named by their key, ``name@<topic id>`` (workers/topic_keys.py).
``settings`` are the caller's: on a cluster, quorum writes and sequentially consistent reads.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from workers.batches import Batch, Intent


def record_intents(client: Client, db: str, batches: list[Batch], settings: dict) -> None:
    """Record the batches' ranges, what each moved to the slow lane, and the group insert each is part of
    (workers/groups.py), in one insert."""
    client.insert(
        f"{db}.ingest_batches",
        [[b.bookkeeping, b.partition, b.first, b.last, b.row_count, b.diverted, b.group] for b in batches],
        column_names=["Topic", "Partition", "FirstOffset", "LastOffset", "Rows", "Diverted", "InsertGroup"],
        settings=settings,
    )


def record_stored(client: Client, db: str, marks: list[list], settings: dict) -> None:
    """Mark ranges stored (``[topic key, partition, first, last]`` each) in one insert."""
    client.insert(f"{db}.stored_batches", marks, column_names=["Topic", "Partition", "FirstOffset", "LastOffset"],
                  settings=settings)


def read(client: Client, db: str, topic: str, partition: int, offset: int, settings: dict) -> list[Intent]:
    """Recorded batch ranges of ``topic`` (a key) / ``partition`` that end at or after ``offset``, in order,
    each marked when it was stored, and with the group insert it was part of.

    Ranges recorded before topic ids were read are under the bare name, which no key matches.
    That is safe: the workers of the older version committed the offsets of every batch they
    acknowledged when they stopped for the upgrade, so the upgraded workers read on from after
    those ranges and never replay them. Only a batch being stored at that stop is read again
    and regrouped; its records sent with an ``Idempotency-Key`` are repeats of their own keys'
    entries, which are under the bare name and so not the new batch's own (workers/idempotency.py)."""
    result = client.query(
        f"SELECT FirstOffset, LastOffset, any(Diverted), max(InsertGroup), (FirstOffset, LastOffset) IN ("
        f"  SELECT FirstOffset, LastOffset FROM {db}.stored_batches "
        "  WHERE Topic = {t:String} AND Partition = {p:UInt32} AND LastOffset >= {o:UInt64}) "
        f"FROM {db}.ingest_batches "
        "WHERE Topic = {t:String} AND Partition = {p:UInt32} AND LastOffset >= {o:UInt64} "
        "GROUP BY FirstOffset, LastOffset ORDER BY FirstOffset",
        parameters={"t": topic, "p": partition, "o": offset}, settings=settings,
    )
    return [Intent(int(a), int(b), tuple(map(int, d)), bool(s), g) for a, b, d, g, s in result.result_rows]
