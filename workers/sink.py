"""The ClickHouse sink: record the batch's intent, insert its rows with a dedup token, retry until accepted."""

from __future__ import annotations

import asyncio
import logging
import time

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from sluice import metrics
from sluice.failpoints import CLICKHOUSE_INSERT, Failpoints
from sluice.settings import Settings
from sluice.storage import Storage
from workers import idempotency
from workers.access import HttpRow, http_arrow
from workers.arrow import LOGS_SCHEMA, map_array, timestamps
from workers.batches import Batch, Intent
from workers.columnar import ArrowRows, LogColumns, to_table
from workers.normalize import LogRow

log = logging.getLogger(__name__)


def to_arrow(rows: list[LogRow]) -> pa.Table:
    """Rows as an Arrow table named after the ``logs`` columns (the fastest chDB insert path)."""
    cols = list(zip(*rows)) if rows else [[] for _ in LogRow._fields]
    c = dict(zip(LogRow._fields, cols))
    return pa.table({
        "TenantId": pa.array(c["tenant"], pa.string()),
        "Environment": pa.array(c["environment"], pa.string()),
        "Source": pa.array(c["source"], pa.string()),
        "RequestId": pa.array(c["request_id"], pa.string()),
        "ReceivedAt": timestamps(c["received_ns"]),
        "Timestamp": timestamps(c["timestamp_ns"]),
        "SeverityText": pa.array(c["severity_text"], pa.string()),
        "SeverityNumber": pa.array(c["severity_number"], pa.uint8()),
        "ServiceName": pa.array(c["service"], pa.string()),
        "Body": pa.array(c["body"], pa.string()),
        "TraceId": pa.array(c["trace_id"], pa.string()),
        "SpanId": pa.array(c["span_id"], pa.string()),
        "TraceFlags": pa.array(c["trace_flags"], pa.uint8()),
        "ScopeName": pa.array(c["scope_name"], pa.string()),
        "ScopeVersion": pa.array(c["scope_version"], pa.string()),
        "ResourceAttributes": map_array(c["resource_attributes"]),
        "LogAttributes": map_array(c["log_attributes"]),
        "ScopeAttributes": map_array(c["scope_attributes"]),
    }, schema=LOGS_SCHEMA)


def split(batch: Batch, skip: frozenset[int] = frozenset()) -> tuple[pa.Table | None, list[HttpRow]]:
    """The batch's ``logs`` rows as one Arrow table (None when it has none), and its access-log
    rows, leaving out the records at the offsets in ``skip``."""
    logs: list[LogRow] = []
    http: list[HttpRow] = []
    columns: list[LogColumns] = []
    tables: list[pa.Table] = []
    for item in batch.items:
        if item.offset in skip:
            continue
        kind = type(item.rows)
        if kind is LogColumns:
            columns.append(item.rows)
        elif kind is ArrowRows:
            tables.append(item.rows.table)
        else:
            for row in item.rows:
                (logs if type(row) is LogRow else http).append(row)
    if columns:
        tables.insert(0, to_table(columns))
    if logs or not tables:
        tables.append(to_arrow(logs))
    # One chunk, so one block: ClickHouse deduplicates a multi-block insert block by
    # block, and a replay that regrouped the same rows into other chunks would not match.
    table = pa.concat_tables(tables).combine_chunks()
    return (table if table.num_rows else None), http


class ClickHouseSink:
    """Writes batches to ``<db>.logs``; safe to call again with the same batch."""

    def __init__(self, storage: Storage, settings: Settings):
        self.storage = storage
        self.settings = settings
        self.db = settings.clickhouse_database
        self.failpoints = Failpoints(settings.failpoints_dir)

    def insert(self, client: Client, batch: Batch) -> frozenset[int]:
        """One attempt, on the ClickHouse thread; the offsets of the records left out
        as repeats of an idempotency key. The intent goes first: if the rows then fail
        or the process dies, a replay rebuilds the same range."""
        count, diverted = batch.row_count, batch.diverted
        if not count and not diverted:
            return frozenset()
        self.failpoints.hit(CLICKHOUSE_INSERT)
        # On a cluster, an insert returns only once the shards have the rows.
        cluster = {"distributed_foreground_insert": 1} if self.settings.clickhouse_cluster else {}
        repeated = idempotency.repeats(client, self.db, batch)
        logs, http = split(batch, repeated)
        if not batch.replay:
            client.insert(
                f"{self.db}.ingest_batches",
                [[batch.topic, batch.partition, batch.first, batch.last, count, diverted]],
                column_names=["Topic", "Partition", "FirstOffset", "LastOffset", "Rows", "Diverted"],
                settings=cluster,
            )
        # Each table keeps its own deduplication log, so one token serves both.
        dedup = {"insert_deduplicate": 1, "insert_deduplication_token": batch.token, **cluster}
        if logs is not None:
            client.insert_arrow(f"{self.db}.logs", logs, settings=dedup)
        if http:
            client.insert_arrow(f"{self.db}.http_logs", http_arrow(http), settings=dedup)
        idempotency.remember(client, self.db, batch, repeated, dedup)
        return repeated

    def intents(self, client: Client, topic: str, partition: int, offset: int) -> list[Intent]:
        """Recorded batch ranges of ``topic``/``partition`` that end at or after ``offset``."""
        result = client.query(
            f"SELECT FirstOffset, LastOffset, any(Diverted) FROM {self.db}.ingest_batches "
            "WHERE Topic = {t:String} AND Partition = {p:UInt32} AND LastOffset >= {o:UInt64} "
            "GROUP BY FirstOffset, LastOffset ORDER BY FirstOffset",
            parameters={"t": topic, "p": partition, "o": offset},
        )
        return [Intent(int(a), int(b), tuple(map(int, d))) for a, b, d in result.result_rows]

    async def write(self, batch: Batch) -> None:
        """Insert ``batch``, retrying with capped exponential backoff until ClickHouse accepts it.

        Never gives up on its own: skipping would lose data, so a ClickHouse
        outage stalls the partition (lag grows, offsets stay uncommitted) until
        ClickHouse is back or the worker is stopped.
        """
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                repeats = await self.storage.run(self.insert, batch)
            except Exception as exc:
                attempt += 1
                metrics.WORKER_INSERT_RETRIES.inc()
                delay = min(self.settings.insert_retry_max_backoff_s, 0.05 * 2 ** attempt)
                log.warning("insert of %s failed (attempt %d), retrying in %.2fs: %s",
                            batch.token, attempt, delay, exc)
                await asyncio.sleep(delay)
                await self._reconnect()
                continue
            metrics.WORKER_INSERT_SECONDS.observe(time.perf_counter() - started)
            metrics.WORKER_IDEMPOTENT_REPEATS.inc(len(repeats))
            stored = batch.row_count - sum(len(item.rows) for item in batch.items if item.offset in repeats)
            metrics.WORKER_BATCH_ROWS.observe(stored)
            metrics.WORKER_ROWS_STORED.inc(stored)
            if batch.replay:
                metrics.WORKER_REPLAYED_BATCHES.inc()
            return

    async def _reconnect(self) -> None:
        """A fresh connection for the retry: a failed call can leave the old one unusable."""
        try:
            await self.storage.run(lambda client: self.storage.reconnect())
        except Exception as exc:  # the retry will fail and come back here
            log.warning("reconnecting to ClickHouse failed: %s", exc)

    async def load_intents(self, topic: str, partition: int, offset: int) -> list[Intent]:
        return await self.storage.run(self.intents, topic, partition, offset)
