"""The same migrations for a ClickHouse cluster: ReplicatedMergeTree shards behind Distributed tables.

Derived from ``schemas.clickhouse.MIGRATIONS`` so the two can never drift:
every ``CREATE TABLE {db}.X`` becomes a replicated ``{db}.X_local`` on every
node (``ON CLUSTER``, with the ``{shard}``/``{replica}`` macros a ClickHouse
Operator installation defines) and a ``Distributed`` table ``{db}.X`` over
them, which is what Sluice reads and writes, so queries and inserts are the
same SQL as on one server.

Sharding keys are deterministic, so a replayed batch splits into the same
per-shard blocks and each shard's insert deduplication drops it again. Workers
insert with ``distributed_foreground_insert = 1`` on a cluster (see
``workers/sink.py``), so "ClickHouse accepted the batch" means the shards did.
"""

from __future__ import annotations

import re

from schemas.clickhouse import MIGRATIONS, MIGRATIONS_TABLE, Migration

# Rows of one request stay together; tenants spread over shards.
SHARDING = {"logs": "cityHash64(TenantId, RequestId)", "http_logs": "cityHash64(TenantId, RequestId)",
            "ingest_batches": "Partition", "partition_claims": "Partition",
            "stored_batches": "Partition", "schema_migrations": "Version", "idempotency_keys": "cityHash64(Key)"}

_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS \{db\}\.(\w+) \(", re.S)
_ALTER = re.compile(r"^ALTER TABLE \{db\}\.(\w+) (.*)$", re.S)
_DROP = re.compile(r"^DROP TABLE IF EXISTS \{db\}\.(\w+)$")
_COPY = re.compile(r"^INSERT INTO \{db\}\.\w+ \(.*\) SELECT .* FROM \{db\}\.\w+ SETTINGS .*$", re.S)
_EXCHANGE = re.compile(r"^EXCHANGE TABLES \{db\}\.(\w+) AND \{db\}\.(\w+)$")
_VERSIONED = re.compile(r"_v\d+$")  # a rebuild's new table (schemas.clickhouse.rebuild)


def _replicated(table: str) -> str:
    # Doubled braces survive str.format(**params) as ClickHouse's own macros.
    return f"ReplicatedMergeTree('/clickhouse/tables/{{{{shard}}}}/{{db}}/{table}_local', '{{{{replica}}}}')"


def _distributed(table: str, cluster: str) -> str:
    sharding = SHARDING[_VERSIONED.sub("", table)]  # a rebuilt table shards its rows as before
    return (f"CREATE TABLE IF NOT EXISTS {{db}}.{table} ON CLUSTER '{cluster}' AS {{db}}.{table}_local "
            f"ENGINE = Distributed('{cluster}', '{{db}}', '{table}_local', {sharding})")


def clustered(statement: str, cluster: str) -> tuple[str, ...]:
    """The cluster form of one single-server statement (one to three statements)."""
    on = f"ON CLUSTER '{cluster}'"
    if match := _CREATE.match(statement):
        table = match.group(1)
        local = _CREATE.sub(f"CREATE TABLE IF NOT EXISTS {{db}}.{table}_local {on} (", statement, count=1)
        local = re.sub(r"ENGINE = MergeTree\b", f"ENGINE = {_replicated(table)}", local, count=1)
        local = local.replace("non_replicated_deduplication_window", "replicated_deduplication_window")
        return local, _distributed(table, cluster)
    if match := _ALTER.match(statement):
        table, change = match.groups()
        # Storage settings and skip indexes belong to the replicated tables; a Distributed table has neither.
        if change.startswith(("MODIFY SETTING", "RESET SETTING", "ADD INDEX", "DROP INDEX")):
            return (f"ALTER TABLE {{db}}.{table}_local {on} {change}",)
        return (f"ALTER TABLE {{db}}.{table}_local {on} {change}", f"ALTER TABLE {{db}}.{table} {on} {change}")
    if match := _DROP.match(statement):
        table = match.group(1)
        return (f"DROP TABLE IF EXISTS {{db}}.{table} {on} SYNC", f"DROP TABLE IF EXISTS {{db}}.{table}_local {on} SYNC")
    if _COPY.match(statement):
        # Between two Distributed tables of one sharding: each shard copies its own rows.
        return (f"{statement}, parallel_distributed_insert_select = 2",)
    if match := _EXCHANGE.match(statement):
        # The replicated tables trade places; the Distributed table is made again over its
        # replicated table's name, so it reads the new layout's columns.
        table, new = match.groups()
        return (f"EXCHANGE TABLES {{db}}.{table}_local AND {{db}}.{new}_local {on}",
                f"DROP TABLE IF EXISTS {{db}}.{table} {on} SYNC", _distributed(table, cluster))
    raise ValueError(f"no cluster form for: {statement[:60]}")


def cluster_migrations(cluster: str) -> tuple[Migration, ...]:
    return tuple(
        Migration(m.version, m.name,
                  tuple(s for statement in m.forwards for s in clustered(statement, cluster)),
                  tuple(s for statement in m.backwards for s in clustered(statement, cluster)))
        for m in MIGRATIONS
    )


def cluster_migrations_table(cluster: str) -> tuple[str, ...]:
    return clustered(MIGRATIONS_TABLE, cluster)


def render(cluster: str, db: str = "sluice", retention_days: int = 30, dedup_window: int = 1000) -> str:
    """The whole cluster schema as one SQL script (deploy/clickhouse/cluster.sql)."""
    params = {"db": db, "retention_days": retention_days, "dedup_window": dedup_window}
    parts = [f"-- Sluice's ClickHouse schema for cluster '{cluster}'. Generated by `sluice migrate --print-cluster "
             f"{cluster}` from schemas/clickhouse.py; `sluice migrate` with SLUICE_CLICKHOUSE_CLUSTER={cluster} "
             "applies it and records each version.",
             f"CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER '{cluster}';"]
    parts += [s.format(**params) + ";" for s in cluster_migrations_table(cluster)]
    for m in cluster_migrations(cluster):
        parts.append(f"-- {m.version:04d}_{m.name}")
        parts += [s.format(**params) + ";" for s in m.forwards]
    return "\n\n".join(parts) + "\n"
