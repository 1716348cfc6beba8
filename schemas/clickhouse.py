"""ClickHouse DDL as numbered, reversible migrations, applied in order at start-up.

``logs`` follows the OpenTelemetry Collector's ``otel_logs`` layout, so
Grafana's ClickHouse data source and other OTel tools read it as is, plus the
columns multi-tenancy needs. The tenant leads the sort key: every query is
scoped to one tenant. Retention counts from when Sluice received a record
(``ReceivedAt``), so backfilled history is kept as long as fresh logs, and
whole daily partitions are dropped when they expire. ``ingest_batches`` records each batch's Kafka offset
range before its rows are inserted (see workers/batches.py); ``idempotency_keys``
remembers the client keys of stored records for a day (see workers/sink.py).
The columns of ``logs`` and ``http_logs`` are declared in schemas/tables.py;
this module adds how ClickHouse stores them (indexes, sort key, partitions, TTL).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.tables import HTTP_LOGS, LOGS, Table


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    forwards: tuple[str, ...]
    backwards: tuple[str, ...]


def _column_list(table: Table, indexes: tuple[str, ...]) -> str:
    """The text between a CREATE statement's parentheses: the declared columns, then the indexes."""
    return "\n" + ",\n".join(f"    {item}" for item in (*(c.ddl for c in table.columns), *indexes)) + "\n"


# The bloom filters that find a trace or an attribute value (and, in the layouts migrations 1 and 7 create,
# ``_LOGS_INDEXES``, those on the attribute keys as well, which migration 10 drops).
_TRACE_BLOOM = "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1"
_VALUE_BLOOM = "INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1"
#: The bloom filters on the attribute keys, dropped by migration 10: a granule of 8,192 log lines
#: holds nearly every key its services write, so they skipped nothing but a key no row holds, and
#: together they were a fifth to a third of the engine's insert CPU (docs/search.md, "Attribute indexes").
ATTRIBUTE_KEY_BLOOMS = (
    "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
)
_LOGS_INDEXES = (_TRACE_BLOOM, *ATTRIBUTE_KEY_BLOOMS, _VALUE_BLOOM)
# Words of the message, lower-cased (KQL's words ignore case): the index answers hasAllTokens.
_TEXT = "text(tokenizer = 'splitByNonAlpha')"
#: The body index since migration 7: posting lists bit-packed (24 instead of 33 bytes per record) and its dictionary in blocks of
# 4096 tokens (0.4 less), at the same query speed (docs/search.md, "Layout measurements").
BODY_INDEX = "text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking', dictionary_block_size = 4096)"

LOGS_COLUMNS = _column_list(LOGS, (*_LOGS_INDEXES, f"INDEX idx_lower_body lower(Body) TYPE {_TEXT}"))
HTTP_LOGS_COLUMNS = _column_list(HTTP_LOGS, (
    f"INDEX idx_path Path TYPE {_TEXT}",
    f"INDEX idx_lower_body lower(Body) TYPE {_TEXT}",
))
# Migration 7's layout: the same columns, the bit-packed text index.
_BODY_INDEX_7 = f"INDEX idx_lower_body lower(Body) TYPE {BODY_INDEX}"
LOGS_COLUMNS_7 = _column_list(LOGS, (*_LOGS_INDEXES, _BODY_INDEX_7))
HTTP_LOGS_COLUMNS_7 = _column_list(HTTP_LOGS, (f"INDEX idx_path Path TYPE {BODY_INDEX}", _BODY_INDEX_7))
# Migration 10's: migration 7's without the attribute key blooms.
LOGS_COLUMNS_10 = _column_list(LOGS, (_TRACE_BLOOM, _VALUE_BLOOM, _BODY_INDEX_7))

#: What ``logs`` compresses with ZSTD since migration 9 instead of the engine's LZ4: everything declared
#: without a codec, above all the skip indexes. The text index's dictionary (front-coded tokens, each
#: record's unique ones among them) takes 9.5 instead of 11.9 bytes a record, at the same search and
#: insert CPU (docs/search.md, "Layout measurements"); its bit-packed posting lists stay as they are.
LOGS_DEFAULT_CODEC = "ZSTD(1)"

#: Searches ask for one tenant's (and environment's) newest rows: with the time right after
#: them and ``Seq`` as the tiebreak, "newest 100 matching" reads in order and stops early.
SORT_KEY = "TenantId, Environment, Timestamp, Seq"


def _five_minutes(column: str) -> str:
    """The sort key of migrations 1 and 4, rebuilt by migration 7."""
    return f"TenantId, toStartOfFiveMinutes(Timestamp), {column}, Timestamp"


def _log_table(name: str, columns: str, sort_key: str, settings: str = "") -> str:
    """A tenant-first log table: daily partitions by receive time, dropped whole by the
    retention TTL, and a deduplication window so a replayed insert is ignored."""
    return f"""CREATE TABLE IF NOT EXISTS {{db}}.{name} ({columns})
            ENGINE = MergeTree
            PARTITION BY toDate(ReceivedAt)
            ORDER BY ({sort_key})
            TTL toDateTime(ReceivedAt) + toIntervalDay({{retention_days}})
            SETTINGS ttl_only_drop_parts = 1,
                     non_replicated_deduplication_window = {{dedup_window}}{settings}"""


def rebuild(table: Table, version: int, columns: str, sort_key: str, settings: str = "") -> tuple[str, ...]:
    """Move ``table``'s rows into a table of the layout of schema ``version`` and put it in the old one's place.

    ClickHouse cannot change a sort key's leading columns in place. The rows are copied
    into ``<table>_v<version>`` (a name a replicated table's path keeps, so a migration
    and its reversal use different ones; computed columns, those with a DEFAULT, are
    computed again), the two tables are exchanged atomically and the old one is dropped. Every
    step can run again after a crash at any point: the copy starts from an empty table,
    and once exchanged the table in place already holds every row. Stop the workers
    first: rows inserted during the copy stay in the old table.
    """
    new = f"{table.name}_v{version}"
    copied = ", ".join(c.name for c in table.columns if not c.default)
    return (
        f"DROP TABLE IF EXISTS {{db}}.{new}",
        _log_table(new, columns, sort_key, settings),
        # Every row is copied: no block of the copy is taken for a replayed insert. A block of the copy
        # spans every day it holds, and a table kept longer than 100 days has more daily partitions
        # than an insert block may touch by default.
        f"INSERT INTO {{db}}.{new} ({copied}) SELECT {copied} FROM {{db}}.{table.name} "
        "SETTINGS insert_deduplicate = 0, max_partitions_per_insert_block = 0",
        f"EXCHANGE TABLES {{db}}.{table.name} AND {{db}}.{new}",
        f"DROP TABLE IF EXISTS {{db}}.{new}",
    )


# Migration 6's setting, which a rebuilt table keeps.
_MERGE_BASE = ",\n                     merge_selector_base = 10"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "logs",
        forwards=(_log_table(LOGS.name, LOGS_COLUMNS, _five_minutes("ServiceName")),),
        backwards=("DROP TABLE IF EXISTS {db}.logs",),
    ),
    Migration(
        2,
        "ingest_batches",
        forwards=(
            """CREATE TABLE IF NOT EXISTS {db}.ingest_batches (
                Topic LowCardinality(String),
                Partition UInt32,
                FirstOffset UInt64,
                LastOffset UInt64,
                Rows UInt32,
                CreatedAt DateTime DEFAULT now()
            ) ENGINE = MergeTree
            ORDER BY (Topic, Partition, LastOffset)
            TTL CreatedAt + toIntervalDay(7)""",
        ),
        backwards=("DROP TABLE IF EXISTS {db}.ingest_batches",),
    ),
    Migration(
        3,
        "ingest_batches_diverted",
        # Offsets of a batch sent to the slow lane instead of being stored, so a
        # replay diverts exactly the same records (workers/slowlane.py).
        forwards=("ALTER TABLE {db}.ingest_batches ADD COLUMN IF NOT EXISTS Diverted Array(UInt64)",),
        backwards=("ALTER TABLE {db}.ingest_batches DROP COLUMN IF EXISTS Diverted",),
    ),
    Migration(
        4,
        "http_logs",
        # Access logs (Profound): typed HTTP columns, enrichment, and the OTel
        # columns a log browser expects (Body is the Combined Log Format line).
        forwards=(_log_table(HTTP_LOGS.name, HTTP_LOGS_COLUMNS, _five_minutes("Host")),),
        backwards=("DROP TABLE IF EXISTS {db}.http_logs",),
    ),
    Migration(
        5,
        "idempotency_keys",
        # "tenant/Idempotency-Key" of every stored record that came with one, and
        # where it was read: a retry under the same key is dropped (workers/sink.py).
        forwards=(
            """CREATE TABLE IF NOT EXISTS {db}.idempotency_keys (
                Key String,
                Topic LowCardinality(String),
                Partition UInt32,
                Offset UInt64,
                CreatedAt DateTime DEFAULT now()
            ) ENGINE = MergeTree
            ORDER BY Key
            TTL CreatedAt + toIntervalDay(1)
            SETTINGS non_replicated_deduplication_window = {dedup_window}""",
        ),
        backwards=("DROP TABLE IF EXISTS {db}.idempotency_keys",),
    ),
    Migration(
        6,
        "log_merge_base",
        # Merge more parts at a time (ClickHouse's default base is 5): every row is
        # rewritten fewer times. With a worker inserting about a second's rows per
        # partition, the engine's CPU per row fell by a quarter to a third
        # (16k-row inserts: 7.6-8.8 -> 5.5 us) for a few more active parts.
        forwards=tuple(f"ALTER TABLE {{db}}.{t} MODIFY SETTING merge_selector_base = 10" for t in ("logs", "http_logs")),
        backwards=tuple(f"ALTER TABLE {{db}}.{t} RESET SETTING merge_selector_base" for t in ("logs", "http_logs")),
    ),
    Migration(
        7,
        "search_layout",
        # Rows sorted by tenant, environment and time, numbered by Seq, the text index
        # bit-packed: every newest-100 search shape fell from 35-366 to 20-28 ms in the
        # engine on a million records, at 0.83 of the bytes (docs/search.md).
        forwards=(*rebuild(LOGS, 7, LOGS_COLUMNS_7, SORT_KEY, _MERGE_BASE),
                  *rebuild(HTTP_LOGS, 7, HTTP_LOGS_COLUMNS_7, SORT_KEY, _MERGE_BASE)),
        backwards=(*rebuild(LOGS, 6, LOGS_COLUMNS, _five_minutes("ServiceName"), _MERGE_BASE),
                   *rebuild(HTTP_LOGS, 6, HTTP_LOGS_COLUMNS, _five_minutes("Host"), _MERGE_BASE)),
    ),
    Migration(
        8,
        "claims_and_stored_ranges",
        # Which worker claimed a partition last (an old owner finding a newer claim stores
        # nothing), and the batch ranges whose rows are stored, so a replay of one skips it
        # whatever ClickHouse's deduplication window remembers (workers/claims.py, workers/batches.py).
        forwards=(
            """CREATE TABLE IF NOT EXISTS {db}.partition_claims (
                Topic LowCardinality(String),
                Partition UInt32,
                Owner String,
                ClaimedNs UInt64,
                CreatedAt DateTime DEFAULT now()
            ) ENGINE = MergeTree
            ORDER BY (Topic, Partition, ClaimedNs)
            TTL CreatedAt + toIntervalDay(7)""",
            """CREATE TABLE IF NOT EXISTS {db}.stored_batches (
                Topic LowCardinality(String),
                Partition UInt32,
                FirstOffset UInt64,
                LastOffset UInt64,
                CreatedAt DateTime DEFAULT now()
            ) ENGINE = MergeTree
            ORDER BY (Topic, Partition, LastOffset)
            TTL CreatedAt + toIntervalDay(7)""",
        ),
        backwards=("DROP TABLE IF EXISTS {db}.stored_batches", "DROP TABLE IF EXISTS {db}.partition_claims"),
    ),
    Migration(
        9,
        "logs_index_codec",
        # The skip indexes of logs in ZSTD(1): 42.1 -> 39.9 bytes a record on a million records (1.93x
        # VictoriaLogs' 20.7), no search or insert dearer (docs/search.md). A table setting, changed in
        # place: a part takes it when it is written or merged, so nothing is copied and the workers
        # keep running; a day already merged keeps LZ4 until its next merge or its retention.
        forwards=(f"ALTER TABLE {{db}}.logs MODIFY SETTING default_compression_codec = '{LOGS_DEFAULT_CODEC}'",),
        backwards=("ALTER TABLE {db}.logs RESET SETTING default_compression_codec",),
    ),
    Migration(
        10,
        "attribute_key_blooms",
        # The engine's insert CPU a row fell by a fifth to a third (LogTrace entries of seven attributes) and no
        # attribute search got measurably slower (docs/search.md, "Attribute indexes"). The engine drops an index
        # as a light mutation (system.mutations): each part is hard-linked without the index's files, nothing is
        # copied and the workers keep running. Its reversal declares them again for the parts written from
        # then on (MATERIALIZE INDEX builds them for older ones).
        forwards=("ALTER TABLE {db}.logs DROP INDEX IF EXISTS idx_log_attr_key",
                  "ALTER TABLE {db}.logs DROP INDEX IF EXISTS idx_res_attr_key"),
        backwards=(f"ALTER TABLE {{db}}.logs ADD INDEX IF NOT EXISTS {ATTRIBUTE_KEY_BLOOMS[0].removeprefix('INDEX ')} "
                   "AFTER idx_trace_id",
                   f"ALTER TABLE {{db}}.logs ADD INDEX IF NOT EXISTS {ATTRIBUTE_KEY_BLOOMS[1].removeprefix('INDEX ')} "
                   "AFTER idx_res_attr_key"),
    ),
    Migration(
        11,
        "insert_groups",
        # The group insert a batch's rows went in with, when the worker stored several partitions' batches
        # in one insert (workers/groups.py): a replay of the batch asks whether that insert landed before it
        # stores the batch alone. Empty for a batch inserted alone. A new column with a default: existing
        # parts keep their files, nothing is copied. Before reversing it, stop the workers with their offsets
        # committed: an older worker would replay a group's batch under the batch's own token.
        forwards=("ALTER TABLE {db}.ingest_batches ADD COLUMN IF NOT EXISTS InsertGroup String DEFAULT ''",),
        backwards=("ALTER TABLE {db}.ingest_batches DROP COLUMN IF EXISTS InsertGroup",),
    ),
)

MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    Version UInt32,
    Name String,
    AppliedAt DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY Version"""
