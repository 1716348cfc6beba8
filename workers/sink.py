"""The ClickHouse sink: record the batch's intent, check its claim, insert its rows with a dedup token.

Retriable failures are retried until ClickHouse accepts; a failure that is the
rows' own splits the batch until the records at fault stand alone
(workers/insert_errors.py), and only those are handed back to be dead-lettered.
A batch whose partition another worker claimed since (workers/claims.py) raises
``Fenced`` after its intent and before any row. Once a batch is done, its range
is marked stored (``mark_stored``), so a replay of it stores nothing; marks are
written several at a time (``stored_marks_per_insert``, ``stored_marks_max_delay_s``),
since an insert of one mark costs about what the batch's intent does; a crash
loses only the last few, whose ranges fall back on the idempotency keys and the
deduplication window. A retry or a replay of a batch that an earlier attempt
stored unheard (a timeout after the commit) inserts nothing once the keys of its
records, written after its rows, are found (``idempotency.recorded``): the window may have
forgotten its token meanwhile. Only a batch without keyed records rests on the window.

Every bookkeeping table names the topic by its key, ``name@<Kafka topic id>``,
chosen when a partition starts (``claim``, ``load_intents``; workers/topic_keys.py):
a topic deleted and created again under its name starts clean.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from sluice import metrics
from sluice.failpoints import CLICKHOUSE_AFTER_INSERT, CLICKHOUSE_BEFORE_INSERT, CLICKHOUSE_INSERT, Failpoints
from sluice.kafka.topic_ids import TopicKeys
from sluice.settings import Settings
from sluice.storage import Storage
from workers import claims, groups, idempotency, insert_errors, ranges
from workers.topic_keys import StartKeys
from workers.batches import Batch, Intents, Pending
from workers.insert_rows import insert, split

log = logging.getLogger(__name__)


class PermanentInsertError(Exception):
    """ClickHouse (or Arrow) refused the rows themselves; the message is the engine's."""


class ClickHouseSink:
    """Writes batches to ``<db>.logs``; safe to call again with the same batch."""

    def __init__(self, storage: Storage, settings: Settings, topic_keys: TopicKeys | None = None):
        self.storage = storage
        self.settings = settings
        self.db = settings.clickhouse_database
        self.failpoints = Failpoints(settings.failpoints_dir)
        self._marks: list[list] = []  # stored ranges not written yet, as stored_batches rows
        self._marks_since = 0.0  # when the oldest of them was added (monotonic)
        self._tried: set[str] = set()  # tokens of batches with an attempt under way that failed before
        self._prepared: set[str] = set()  # tokens of batches whose intent and claim ``prepare`` did
        self._timezone: str | None = None  # the engine's, which its daily partitions follow (``insert_group``)
        # Each topic's bookkeeping key, read when a partition starts.
        self.keys = StartKeys(topic_keys or TopicKeys(settings.kafka_bootstrap),
                              lambda fn, *args: self.storage.run(fn, *args), self.db, self._consistent)

    def insert(self, client: Client, batch: Batch) -> frozenset[int]:
        """One attempt, on the ClickHouse thread; the offsets of the records left out
        as repeats of an idempotency key. The intent goes first: if the rows then fail
        or the process dies, a replay rebuilds the same range."""
        count, diverted = batch.row_count, batch.diverted
        if not count and not diverted:
            return frozenset()
        where = f"{batch.topic}:{batch.partition}"  # a failpoint may act on one partition only
        self.failpoints.hit(CLICKHOUSE_INSERT, where)
        repeated = idempotency.repeats(client, self.db, batch, self._consistent)
        logs, http = split(batch, repeated)
        prepared = batch.token in self._prepared  # its intent and claim done with its chunk's (``prepare``)
        self._prepared.discard(batch.token)
        if not batch.replay and not batch.part_of and not prepared:
            self.record_intent(client, batch)
        # After the intent, before the rows: a new owner that claimed the partition since
        # either saw the intent (same range, same token) or is seen here (workers/claims.py).
        if batch.claim is not None and not prepared:
            newer = claims.newer_owner(client, self.db, (batch.bookkeeping, batch.partition), batch.claim,
                                       self._consistent)
            if newer is not None:
                raise claims.Fenced(f"{batch.topic}:{batch.partition} claimed by {newer} since {batch.claim.owner}")
        # Each table keeps its own deduplication log, so one token serves both. On a cluster the rows,
        # like the bookkeeping, are on a majority of each shard's replicas before the offsets commit.
        dedup = {"insert_deduplicate": 1, "insert_deduplication_token": batch.token, **self._bookkeeping}
        self.failpoints.hit(CLICKHOUSE_BEFORE_INSERT, where)
        retry = batch.token in self._tried
        self._tried.add(batch.token)
        if batch.group and logs is not None and groups.landed(client, self.db, batch.group, self._consistent):
            # Its rows went in with the group insert it was planned into (workers/groups.py), whatever they are
            # now; a crash, or a failure after that insert, may have come before its keys did.
            log.warning("batch %s was stored by its group insert: not inserted again", batch.token)
            metrics.WORKER_UNHEARD_COMMITS.labels("group").inc()
            idempotency.remember(client, self.db, batch, repeated, dedup)
        elif (retry or batch.replay) and idempotency.recorded(client, self.db, batch, self._consistent):
            log.warning("batch %s was stored by an earlier attempt (%s): not inserted again", batch.token,
                        "one that failed as heard" if retry else "before the replay")
            metrics.WORKER_UNHEARD_COMMITS.labels("retry" if retry else "replay").inc()
        else:
            if logs is not None:
                insert(client, f"{self.db}.logs", logs, dedup)
            if http:  # a table with rows
                insert(client, f"{self.db}.http_logs", http, dedup)
            idempotency.remember(client, self.db, batch, repeated, dedup)
        self.failpoints.hit(CLICKHOUSE_AFTER_INSERT, where)  # all of it accepted, the worker told otherwise
        return repeated

    def insert_group(self, client: Client, members: list[Batch]) -> bool:
        """One attempt at ``members``' rows, and their group's marker row, as one insert under the group's token
        (workers/groups.py); False, inserting nothing, when they cannot form one part (rows of two days, or
        ``http_logs`` rows), and each is stored alone instead. Their intents are recorded and their claims
        checked (``prepare_batches``)."""
        if self._timezone is None:
            self._timezone = str(client.command("SELECT timezone()"))
        group = members[0].group
        repeated = [idempotency.repeats(client, self.db, b, self._consistent) for b in members]
        tables = []
        for batch, skip in zip(members, repeated):
            logs, http = split(batch, skip)
            if http is not None:
                return False
            if logs is not None:
                tables.append(logs)
        if not tables:
            return False
        table = pa.concat_tables(tables)
        if not groups.one_day(table, self._timezone):
            return False
        rows = table.num_rows
        # The marker is in the same block, so in the same part, as the rows it stands for.
        received = pc.max(table.column("ReceivedAt")).value
        table = pa.concat_tables([table, groups.marker(group, received)]).combine_chunks()
        for batch in members:
            self.failpoints.hit(CLICKHOUSE_BEFORE_INSERT, f"{batch.topic}:{batch.partition}")
        retry = group in self._tried
        self._tried.add(group)
        if retry and groups.landed(client, self.db, group, self._consistent):
            # An attempt the worker heard fail had committed: its marker is in.
            log.warning("group insert %s was stored by an earlier attempt: not inserted again", group)
            metrics.WORKER_UNHEARD_COMMITS.labels("retry").inc()
        else:
            insert(client, f"{self.db}.logs", table,
                   {"insert_deduplicate": 1, "insert_deduplication_token": group, **self._bookkeeping})
        for batch, skip in zip(members, repeated):  # each member's keys under its own token, as it would alone
            idempotency.remember(client, self.db, batch, skip,
                                 {"insert_deduplicate": 1, "insert_deduplication_token": batch.token, **self._bookkeeping})
        for batch in members:
            self.failpoints.hit(CLICKHOUSE_AFTER_INSERT, f"{batch.topic}:{batch.partition}")
        metrics.WORKER_BATCH_ROWS.observe(rows)
        metrics.WORKER_ROWS_STORED.inc(rows)
        return True

    async def write_group(self, members: list[Batch]) -> bool:
        """Store ``members`` as one insert (``insert_group``), retried like any insert; True once stored. False
        when they are to be stored alone: a claim that no longer held at ``prepare``, rows that cannot form one
        part, or rows the engine refused (each member alone then finds the records at fault)."""
        tokens = [b.token for b in members]
        try:
            if not all(t in self._prepared for t in tokens):
                return False
            started = time.perf_counter()
            stored = await self._until_accepted_call(self.insert_group, members, members[0].group)
            if stored:
                metrics.WORKER_INSERT_SECONDS.observe(time.perf_counter() - started)
                metrics.WORKER_GROUP_INSERTS.inc()
            return stored
        except PermanentInsertError as exc:
            log.warning("group insert %s refused for its data, storing its batches alone: %s", members[0].group, exc)
            metrics.WORKER_INSERT_REFUSALS.labels("group").inc()
            return False
        finally:
            self._prepared.difference_update(tokens)
            self._tried.discard(members[0].group)

    def record_intent(self, client: Client, batch: Batch) -> None:
        """Record the batch's offset range (and what it moved to the slow lane) before its rows."""
        self.record_intents(client, [batch])

    def record_intents(self, client: Client, batches: list[Batch]) -> None:
        """Record the batches' ranges in one insert."""
        ranges.record_intents(client, self.db, batches, self._bookkeeping)

    def prepare_batches(self, client: Client, batches: list[Batch]) -> None:
        """The first steps of ``insert`` for a chunk's new batches at once: their intents in one insert, then
        their claims checked in one query. The batches that pass are marked prepared: their first ``insert``
        attempt goes straight to the rows. A fenced one is left to ``insert``, which finds it fenced again."""
        fresh = [b for b in batches if not (b.replay or b.part_of or b.stored) and (b.row_count or b.diverted)]
        if not fresh:
            return
        for b in fresh:
            self.failpoints.hit(CLICKHOUSE_INSERT, f"{b.topic}:{b.partition}")
        self.record_intents(client, fresh)
        held = {(b.bookkeeping, b.partition): b.claim for b in fresh if b.claim is not None}
        fenced = claims.newer_owners(client, self.db, list(held.items()), self._consistent)
        self._prepared.update(b.token for b in fresh if (b.bookkeeping, b.partition) not in fenced)

    def record_stored(self, client: Client, marks: list[list]) -> None:
        """Write marks of stored ranges (``[topic key, partition, first, last]`` each) in one insert."""
        ranges.record_stored(client, self.db, marks, self._bookkeeping)

    def record_claims(self, client: Client, held: list[tuple[claims.TopicPartition, claims.Claim]]
                      ) -> list[tuple[claims.TopicPartition, claims.Claim]]:
        """``claims.record`` of ``held``, whose partitions name their topics by key."""
        return claims.record(client, self.db, held, self._bookkeeping, self._consistent)

    @property
    def _cluster(self) -> dict:
        # On a cluster, an insert returns only once the shards have the rows.
        return {"distributed_foreground_insert": 1} if self.settings.clickhouse_cluster else {}

    @property
    def _bookkeeping(self) -> dict:
        # Claims, intents and stored ranges decide what a later reader stores: on a cluster a
        # majority of the shard's replicas has them before the insert returns, and reads
        # (``_consistent``) see every write a quorum acknowledged, whichever replica answers.
        return {**self._cluster, "insert_quorum": "auto"} if self.settings.clickhouse_cluster else {}

    @property
    def _consistent(self) -> dict:
        return {"select_sequential_consistency": 1} if self.settings.clickhouse_cluster else {}

    async def write(self, batch: Batch) -> list[tuple[Pending, str]]:
        """Store ``batch``; return the records ClickHouse refused for their data, each with
        the engine's message (everything else of the batch is stored).

        Retriable failures are retried with capped exponential backoff, without
        end: skipping would lose data, so an outage stalls the partition (lag
        grows, offsets stay uncommitted) until ClickHouse is back. A permanent
        failure splits the batch in halves, each inserted under a token derived
        from the batch's, until the refused records stand alone; the split is
        deterministic, so a replay of the batch stores each half once.
        """
        try:
            await self._until_accepted(batch)
            return []
        except PermanentInsertError as exc:
            log.warning("insert of %s refused for its data, splitting it: %s", batch.token, exc)
            metrics.WORKER_INSERT_REFUSALS.labels("split").inc()
            if not batch.replay and not batch.part_of:
                await self._until_accepted_call(self.record_intent, batch)
            return await self._split(batch, batch.items, str(exc))

    async def _split(self, batch: Batch, items: list[Pending], message: str) -> list[tuple[Pending, str]]:
        if len(items) == 1:
            metrics.WORKER_INSERT_REFUSALS.labels("record_refused").inc()
            return [(items[0], message)]
        refused: list[tuple[Pending, str]] = []
        middle = len(items) // 2
        for half in (items[:middle], items[middle:]):
            try:
                await self._until_accepted(batch.part(half))
            except PermanentInsertError as exc:
                refused += await self._split(batch, half, str(exc))
        return refused

    async def _until_accepted(self, batch: Batch) -> None:
        started = time.perf_counter()
        try:
            repeats = await self._until_accepted_call(self.insert, batch)
        finally:
            self._tried.discard(batch.token)
        metrics.WORKER_INSERT_SECONDS.observe(time.perf_counter() - started)
        metrics.WORKER_IDEMPOTENT_REPEATS.inc(len(repeats))
        stored = batch.row_count - sum(len(item.rows) for item in batch.items if item.offset in repeats)
        metrics.WORKER_BATCH_ROWS.observe(stored)
        metrics.WORKER_ROWS_STORED.inc(stored)
        if batch.replay and not batch.part_of:
            metrics.WORKER_REPLAYED_BATCHES.inc()

    async def _until_accepted_call(self, fn, arg, what: str = ""):
        """``fn(client, arg)`` on the ClickHouse thread, retried until it returns or fails permanently;
        ``what`` names it in the log (by default the token of ``arg``, a batch)."""
        attempt = 0
        while True:
            try:
                return await self.storage.run(fn, arg)
            except claims.Fenced:
                raise
            except Exception as exc:
                if insert_errors.is_permanent(exc):
                    await self._reconnect()
                    raise PermanentInsertError(insert_errors.summary(exc)) from exc
                attempt += 1
                metrics.WORKER_INSERT_RETRIES.inc()
                delay = self.settings.retry_delay_s(attempt)
                log.warning("insert of %s failed (attempt %d), retrying in %.2fs: %s",
                            what or arg.token, attempt, delay, insert_errors.summary(exc))
                await asyncio.sleep(delay)
                await self._reconnect()

    async def _reconnect(self) -> None:
        """A usable connection for the retry: a failed call can leave the old one unusable."""
        try:
            await self.storage.run(lambda client: self.storage.recover())
        except Exception as exc:  # the retry will fail and come back here
            log.warning("recovering the ClickHouse connection failed: %s", exc)

    async def prepare(self, batches: list[Batch]) -> None:
        """``prepare_batches`` on the ClickHouse thread, once: it only saves round trips, so a failure
        leaves every batch to the full steps of its own ``insert``."""
        try:
            await self.storage.run(self.prepare_batches, batches)
        except Exception as exc:
            self._prepared.difference_update(b.token for b in batches)
            log.warning("intents of %d batches not recorded together, each records its own: %s",
                        len(batches), insert_errors.summary(exc))
            await self._reconnect()

    def unprepare(self, batches: list[Batch]) -> None:
        """Forget that ``batches`` were prepared: one that was not inserted (its partition was fenced) must not
        skip the steps when its range comes back under a new claim."""
        self._prepared.difference_update(b.token for b in batches)

    async def load_intents(self, topic: str, partition: int, offset: int) -> Intents:
        """The intents of ``topic``/``partition`` from ``offset``, under the topic's current key: read
        from Kafka now, unless ``claim`` just did for this partition (the claim and the intents must
        name the same incarnation). A partition starts here, so a recreated topic is noticed here."""
        key = await self.keys.for_load((topic, partition))
        return Intents(await self.storage.run(ranges.read, self.db, key, partition, offset, self._consistent), key)

    async def claim(self, held: list[tuple[claims.TopicPartition, claims.Claim]]
                    ) -> list[tuple[claims.TopicPartition, claims.Claim]]:
        """Record claims (before the intents of their partitions are loaded), under their topics'
        current keys; the claims as written."""
        keys = await self.keys.for_claims([tp for tp, _ in held])
        names = {(keys[tp], tp[1]): tp for tp, _ in held}
        written = await self.storage.run(self.record_claims, [((keys[tp], tp[1]), claim) for tp, claim in held])
        return [(names[tp], claim) for tp, claim in written]

    async def mark_stored(self, batch: Batch) -> None:
        """Mark ``batch``'s range stored: written with the marks before it once there are
        ``stored_marks_per_insert`` or the oldest waited ``stored_marks_max_delay_s``. Nothing to
        mark for a batch that recorded no intent (no rows, nothing moved)."""
        if not (batch.row_count or batch.diverted):
            return
        if not self._marks:
            self._marks_since = time.monotonic()
        self._marks.append([batch.bookkeeping, batch.partition, batch.first, batch.last])
        if (len(self._marks) >= self.settings.stored_marks_per_insert
                or time.monotonic() - self._marks_since >= self.settings.stored_marks_max_delay_s):
            await self.flush_marks()

    async def flush_marks(self, retry: bool = True) -> None:
        """Write the pending marks, retried like an insert; once only with ``retry=False`` (at stop:
        an outage must not hold the worker, and a lost mark only leaves its range to the dedup window)."""
        marks, self._marks = self._marks, []
        if not marks:
            return
        if retry:
            await self._until_accepted_call(self.record_stored, marks, f"{len(marks)} stored-range marks")
            return
        try:
            await self.storage.run(self.record_stored, marks)
        except Exception as exc:
            log.warning("%d stored-range marks not written at stop: %s", len(marks), insert_errors.summary(exc))
