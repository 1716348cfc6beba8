"""Idempotency keys: of the records a tenant sent under one ``Idempotency-Key``, only the first is stored.

A client that got no answer (a timeout, a 503, a gateway that died) cannot
know whether its request landed, so it retries; with the same key on every
attempt, the copies meet here. Keys of stored records are kept in
``idempotency_keys`` for a day with where they were read, and a batch's keyed
records are checked against it (and against each other) before its insert.

The entries in the batch's own range (its topic, partition and offsets) never
make its records repeats (``repeats``), so a retry or a replay decides which
records are repeats exactly as the first attempt did. They do tell that an
earlier attempt stored the batch: ``recorded`` finds
them, written in one insert after the rows, and the retry or replay inserts
nothing, whether or not the deduplication window still knows its token.

"Where" names the topic by its bookkeeping key, ``name@<topic id>``
(workers/batches.py): a recreated topic's records at the offsets an old
incarnation's keyed records had are not taken for those records' own entries.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from workers.batches import Batch


def repeats(client: Client, db: str, batch: Batch, settings: dict | None = None) -> frozenset[int]:
    """Offsets of the batch's records whose key a record elsewhere, or earlier in the batch, stored."""
    keyed = [(item.idempotency, item.offset) for item in batch.items if item.idempotency and item.rows]
    if not keyed:
        return frozenset()
    stored = {key for (key,) in client.query(
        f"SELECT DISTINCT Key FROM {db}.idempotency_keys WHERE Key IN {{keys:Array(String)}} "
        "AND NOT (Topic = {t:String} AND Partition = {p:UInt32} AND Offset BETWEEN {a:UInt64} AND {b:UInt64})",
        parameters={"keys": sorted({k for k, _ in keyed}), "t": batch.bookkeeping, "p": batch.partition,
                    "a": batch.first, "b": batch.last}, settings=settings or {},
    ).result_rows}
    out = set()
    for key, offset in keyed:
        if key in stored:
            out.add(offset)
        stored.add(key)  # a later record of this batch with the same key is a repeat
    return frozenset(out)


def remember(client: Client, db: str, batch: Batch, skipped: frozenset[int], settings: dict) -> None:
    """Record the keys of the batch's stored records (after their rows are in: a crash in
    between replays the batch, whose rows are then deduplicated by its token)."""
    rows = [[item.idempotency, batch.bookkeeping, batch.partition, item.offset] for item in batch.items
            if item.idempotency and item.rows and item.offset not in skipped]
    if rows:
        client.insert(f"{db}.idempotency_keys", rows, column_names=["Key", "Topic", "Partition", "Offset"],
                      settings=settings)


def recorded(client: Client, db: str, batch: Batch, settings: dict | None = None) -> bool:
    """True when an earlier attempt at ``batch`` (a retry, a replay) stored it: the idempotency keys of
    its records, written after its rows, are in. An attempt whose commit the worker did not hear of
    (a timeout) may be repeated after other partitions pushed its token out of the deduplication
    window; its keys still tell. A batch without keyed records has only the window to tell."""
    keys = sorted({item.idempotency for item in batch.items if item.idempotency and item.rows})
    if not keys:
        return False
    return bool(client.query(  # by key first: the table is sorted by it
        f"SELECT count() FROM {db}.idempotency_keys WHERE Key IN {{keys:Array(String)}} "
        "AND Topic = {t:String} AND Partition = {p:UInt32} AND Offset BETWEEN {a:UInt64} AND {b:UInt64}",
        parameters={"keys": keys, "t": batch.bookkeeping, "p": batch.partition, "a": batch.first, "b": batch.last},
        settings=settings or {}).result_rows[0][0])
