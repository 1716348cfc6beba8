"""The ClickHouse connection and schema migrations.

One ``Storage`` per process. With the embedded engine (chDB) that process owns
the data directory exclusively. chDB clients are not safe to share across
threads, so writes and bookkeeping (``run``) go through a pool of
``insert_threads`` threads with a client each (the worker inserts batches of
different partitions side by side: one insert keeps about one core busy), and
reads (``read``: searches, stats, ``sluice sql``) through a pool of
``query_threads`` threads with a client each, so searches run side by side and
never wait behind an insert. The async callers stay responsive while
ClickHouse works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.clickhouse import MIGRATIONS, MIGRATIONS_TABLE
from schemas.clickhouse_cluster import cluster_migrations, cluster_migrations_table
from sluice.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def connect(settings: Settings) -> Client:
    """A clickhouse-connect client: the embedded engine, or the server of ``clickhouse_url``."""
    if settings.embedded_clickhouse:
        (settings.state_dir / "clickhouse").mkdir(parents=True, exist_ok=True)
        # The engine is the process's, made by its first client: each passes the same options.
        return clickhouse_connect.get_client(dsn=settings.clickhouse_dsn, chdb_options={
            "background_pool_size": max(1, settings.engine_merge_threads)})
    return clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)


class ClusterError(RuntimeError):
    """The configured ClickHouse cluster cannot hold Sluice's tables safely; the message says what to change."""


def check_cluster(client: Client, cluster: str) -> None:
    """Refuse a cluster this server does not define, or one whose shards write every replica themselves.

    Sluice's Distributed tables sit over ReplicatedMergeTree tables, which copy a part to the
    shard's other replicas on their own. Without ``internal_replication`` the Distributed table
    writes each replica too, so every row would be stored, and deduplicated, twice over.
    """
    rows = client.query("SELECT shard_num, internal_replication FROM system.clusters WHERE cluster = {c:String}",
                        parameters={"c": cluster}).result_rows
    if not rows:
        raise ClusterError(f"ClickHouse cluster {cluster!r} is not defined on this server (system.clusters); "
                           "define it in remote_servers or fix SLUICE_CLICKHOUSE_CLUSTER")
    unsafe = sorted({int(shard) for shard, internal in rows if not internal})
    if unsafe:
        raise ClusterError(f"ClickHouse cluster {cluster!r} has internal_replication=false on shard(s) "
                           f"{', '.join(map(str, unsafe))}: set <internal_replication>true</internal_replication> "
                           "for every shard in remote_servers (the replicated tables copy rows between replicas)")


def migrate(client: Client, settings: Settings) -> list[int]:
    """Apply the migrations not applied yet; return their versions.

    Also keeps the ``logs`` TTL equal to ``retention_days``, so changing the
    setting and restarting is all it takes.
    """
    params = {
        "db": settings.clickhouse_database,
        "retention_days": int(settings.retention_days),
        "dedup_window": int(settings.dedup_window),
    }
    db, cluster = settings.clickhouse_database, settings.clickhouse_cluster
    if cluster:
        check_cluster(client, cluster)
        client.command(f"CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER '{cluster}'")
        bookkeeping, migrations = cluster_migrations_table(cluster), cluster_migrations(cluster)
    else:
        client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        bookkeeping, migrations = (MIGRATIONS_TABLE,), MIGRATIONS
    for statement in bookkeeping:
        client.command(statement.format(**params))
    done = {row[0] for row in client.query(f"SELECT Version FROM {db}.schema_migrations").result_rows}
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        for statement in migration.forwards:
            client.command(statement.format(**params))
        client.insert(f"{db}.schema_migrations", [[migration.version, migration.name]],
                      column_names=["Version", "Name"], settings={"distributed_foreground_insert": 1} if cluster else {})
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    _sync_retention(client, settings)
    return applied


def _sync_retention(client: Client, settings: Settings) -> None:
    db = settings.clickhouse_database
    # On a cluster the TTL lives on the replicated tables under the Distributed ones.
    suffix, on = ("_local", f" ON CLUSTER '{settings.clickhouse_cluster}'") if settings.clickhouse_cluster else ("", "")
    for table in (f"logs{suffix}", f"http_logs{suffix}"):
        ddl = client.command(f"SHOW CREATE TABLE {db}.{table}")
        match = re.search(r"toIntervalDay\((\d+)\)", str(ddl))
        if match and int(match.group(1)) != settings.retention_days:
            client.command(
                f"ALTER TABLE {db}.{table}{on} MODIFY TTL toDateTime(ReceivedAt) + toIntervalDay({int(settings.retention_days)})",
                settings={"materialize_ttl_after_modify": 0},
            )
            log.info("%s retention set to %d days", table, settings.retention_days)


class Storage:
    """A ClickHouse client confined to one thread, with async wrappers."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=max(1, settings.insert_threads), thread_name_prefix="clickhouse")
        self._writer = threading.local()  # .client: the writing thread's own client
        self._writers: list[Client] = []  # every writing thread's client, to close them
        self._readers = ThreadPoolExecutor(max_workers=settings.query_threads, thread_name_prefix="clickhouse-read")
        self._reader = threading.local()  # .client: the reading thread's own client
        self._executor.submit(self._writing_client).result()  # fail here, not at the first insert

    @property
    def client(self) -> Client:
        """The calling writing thread's client (call on a writing thread, i.e. through ``run``)."""
        return self._writing_client()

    def _writing_client(self) -> Client:
        client = getattr(self._writer, "client", None)
        if client is None:
            client = self._writer.client = connect(self.settings)
            self._writers.append(client)
        return client

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(client, *args)`` on a writing thread with that thread's client. Calls awaited one
        after the other keep their order; calls made at once may run side by side."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        try:
            return fn(self._writing_client(), *args)
        except Exception:
            # The next call on this thread must find its client usable, whichever thread that caller's
            # ``recover`` then runs on; a recovery that fails too must not hide the original error.
            with contextlib.suppress(Exception):
                self.recover()
            raise

    async def read(self, sql: str, parameters: dict | None, settings: dict) -> tuple[list[str], list[list]]:
        """A read-only query's column names and rows (``readonly=1``: no writes, no table
        functions, no settings changes in the statement), on a reading thread. A failure
        recovers that thread's connection before re-raising."""

        def run() -> tuple[list[str], list[list]]:
            client = getattr(self._reader, "client", None) or connect(self.settings)
            self._reader.client = client
            try:
                result = client.query(sql, parameters=parameters, settings={**settings, "readonly": 1})
                return list(result.column_names), [list(r) for r in result.result_rows]
            except Exception:
                self._reader.client = self._recovered(client)
                raise

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def recover(self) -> None:
        """Make this writing thread's client usable after a failed call (on a writing thread; ``run`` does it
        after every failed call on the thread it failed on)."""
        client = self._writing_client()
        recovered = self._recovered(client)
        if recovered is not client:
            self._writers[self._writers.index(client)] = recovered
            self._writer.client = recovered

    def _recovered(self, client: Client) -> Client:
        """``client``, or a new one, usable after a failed call (on the thread that owns it).

        With chDB the query after one that failed midway gets the failure's
        leftovers instead of its own result, and a new client leaks a handful of
        engine threads (hundreds after a few minutes of retries), so probes
        absorb the leftovers first and only a client that still answers wrong
        is replaced. A server connection is simply replaced.
        """
        if self.settings.embedded_clickhouse:
            for _ in range(2):
                try:
                    if client.query("SELECT 1").result_rows == [(1,)]:
                        return client
                except Exception:
                    pass
        with contextlib.suppress(Exception):  # a client that failed may fail to close too; its successor matters
            client.close()
        return connect(self.settings)

    def reconnect(self) -> None:
        """Replace this writing thread's client (call on a writing thread, i.e. through ``run``)."""
        client = self._writing_client()
        try:
            client.close()
        finally:
            self._writers.remove(client)
            self._writer.client = None
            self._writing_client()

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self._executor.submit(self._call, fn, args).result()

    def close(self) -> None:
        self._readers.shutdown(wait=True)  # a reader's client is closed with its engine
        self._executor.shutdown(wait=True)
        for client in self._writers:
            with contextlib.suppress(Exception):
                client.close()
