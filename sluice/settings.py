"""One frozen settings object, read once at start-up and passed down.

Every field can be set from the environment as ``SLUICE_<FIELD>`` (upper case)
or from a TOML file named by ``SLUICE_CONFIG``; the environment wins. Nothing
in Sluice reads the environment anywhere else.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from sluice.setting_values import Secret, format_value, parse_value


@dataclass(frozen=True)
class Settings:
    # Where the local broker, the embedded ClickHouse and pid files live.
    state_dir: Path = Path(".sluice")
    # Where downloaded broker jars are cached across clones and state dirs.
    cache_dir: Path = Path.home() / ".cache" / "sluice"

    # Kafka bootstrap servers. With `local_broker` Sluice starts its own broker there.
    kafka_bootstrap: str = "127.0.0.1:9092"
    local_broker: bool = True
    local_broker_controller_port: int = 9093
    # Brokers `sluice up` runs (`--brokers N`): node i listens on the bootstrap port + 2i, its controller on this port + 2i.
    local_brokers: int = 1
    kafka_version: str = "4.1.1"
    # Topic the gateway writes accepted requests to (contract in schemas/envelope.py).
    ingest_topic: str = "sluice-ingest"
    # Topic Kafka-native producers write canonical records to (schemas/dialects/native/wire.py).
    native_topic: str = "sluice-records"
    # A sluice.arrow.v1 record decoding (before decompression is measured) to more bytes or rows is dead-lettered.
    native_arrow_max_bytes: int = 64 * 1024 * 1024
    native_arrow_max_rows: int = 1_000_000
    # Records a worker cannot store, with headers saying why (workers/deadletter.py).
    dlq_topic: str = "sluice-dlq"
    # Compacted topic holding tenants and hashed API keys.
    registry_topic: str = "sluice-registry"
    # Compacted topic holding tenants' LogFlux secrets, sealed with `secrets_key`.
    secrets_topic: str = "sluice-secrets"
    # The master key (base64, 32 bytes) for workers and the CLI; never give it to
    # gateways. Empty: <state_dir>/secrets.key, created on first use.
    secrets_key: Secret = Secret("")
    topic_partitions: int = 4
    # Replication factor for topics Sluice creates; use 3 on a production cluster.
    topic_replication: int = 1
    # min.insync.replicas of Sluice's topics; 0: 2 when topic_replication is 3 or more, else 1 (sluice/kafka/durability.py).
    topic_min_insync_replicas: int = 0
    # Largest Kafka record; broker, topic, producer and consumer are all set to it.
    max_record_bytes: int = 16 * 1024 * 1024
    # How producers compress record batches: none, gzip, snappy, lz4 or zstd
    # (sluice/kafka/clients.py says why the default).
    kafka_compression: str = "snappy"
    # Seconds a producer keeps sending keyless records to one partition before the next one takes over
    # (sluice/kafka/sticky.py): a worker's chunk then holds few partitions, so it inserts fewer, larger
    # parts. 0 takes turns record by record.
    kafka_sticky_partition_s: float = 0.25
    # Bytes of keyless records a producer sends to one partition before the next one takes over, even
    # within kafka_sticky_partition_s: a producer batch's worth, as Kafka's own producer (KIP-794).
    # 0: the seconds alone.
    kafka_sticky_partition_bytes: int = 1024 * 1024

    # Gateway.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # Gateway processes `sluice up` starts on the port (SO_REUSEPORT). With more
    # than one, rate limits are shared through Redis: `rate_limit_redis_url`, or
    # a local server from Debian's packages on `local_redis_port`.
    gateway_processes: int = 1
    local_redis_port: int = 6379
    # Request bodies as sent, and after gzip/deflate/zstd decoding.
    max_body_bytes: int = 10 * 1024 * 1024
    # A request line and headers larger than this are answered 431; ones not
    # complete this long after their first byte, 408 (slow clients hold sockets).
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    # A body not complete this long after its headers is answered 408 and the connection closed.
    body_timeout_s: float = 30.0
    # Request-body bytes one gateway process holds at once; a request that would go beyond is 503 at once.
    gateway_max_body_buffer_bytes: int = 256 * 1024 * 1024
    # Connections plus requests in progress one gateway process serves; beyond, 503.
    gateway_max_connections: int = 4096
    max_decoded_bytes: int = 10 * 1024 * 1024
    # How long a request may wait for Kafka's acknowledgement before a 503.
    publish_timeout_s: float = 5.0
    # A gateway or worker told to stop (SIGTERM) leaves at most this long after its requests
    # drained, even when its Kafka clients cannot close (broker unreachable): sluice/shutdown.py.
    # Below deploy/k8s's grace periods (30 s gateway, 60 s worker), so it leaves before the SIGKILL.
    shutdown_timeout_s: float = 20.0
    # Bytes handed to Kafka and not yet acknowledged, per gateway process. A request
    # that would go beyond is answered 503 at once: queued behind more than the
    # producer can send before the deadline, it would time out anyway while its
    # record still went out, and the gateway would spend itself on answers of 503.
    gateway_max_inflight_bytes: int = 64 * 1024 * 1024
    # The environment every request to this gateway is for (production, staging,
    # development); empty: the X-Sluice-Environment header, else the key's own.
    gateway_environment: str = ""
    # PEM certificate chain and unencrypted private key files (paths; empty key: in the cert file):
    # the gateway serves HTTPS, and the Logstash TCP listener TLS unless it has its own pair.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # How often the certificate files are checked; a changed pair is loaded for new connections.
    tls_reload_check_s: float = 5.0

    # Searches and live tails (sluice/query/limits.py, gateway/tail.py). A filter
    # longer than this many UTF-8 bytes, or with more terms, is a 400 before it is compiled.
    query_max_filter_bytes: int = 8192
    query_max_terms: int = 100
    # Searches the embedded engine's owner runs at once (its reading threads, sluice/storage.py).
    query_threads: int = 4
    # Inserts and bookkeeping calls a worker makes at once (its writing threads, sluice/storage.py):
    # batches of different partitions are inserted side by side, one core each.
    insert_threads: int = 2
    # Threads the embedded engine merges parts with (chDB's background_pool_size; at least 1). One leaves
    # the other core to inserts, the gateway and the broker when a merge comes: freshness p99 at 80,000
    # records/s on two cores 761 against 1,010 ms over ten runs each, never past 1.1 s against 2.4
    # (docs/performance.md). A ClickHouse server keeps its own configuration.
    engine_merge_threads: int = 1
    # Searches and stats one tenant may run at once on one gateway process; more wait their turn
    # (at most query_queue_max_s, then 429 too_many_concurrent_queries), so one tenant's heavy
    # searches cannot take every reading thread from the others.
    query_max_concurrent_per_tenant: int = 2
    query_queue_max_s: float = 10.0
    # Live tails one API key may hold open at once on one gateway process; beyond, 429.
    tail_max_per_key: int = 5
    # A live tail counts one query against its key's quota per this many seconds of streaming.
    tail_charge_every_s: float = 60.0

    # Per-key rate limits by tenant tier (gateway/ratelimit.py). LogFlux routes
    # count requests per minute; the others count per UTC hour, ingestion and
    # queries apart. Tier `unlimited` has none.
    rate_limits: bool = True
    # redis://host:port/db shared by all gateway replicas; empty: counted in-process.
    rate_limit_redis_url: Secret = Secret("")
    # When the shared store fails: allow the request (true) or answer 503 (false).
    rate_limit_fail_open: bool = True
    standard_requests_per_minute: int = 600
    standard_ingest_per_hour: int = 10_000
    standard_query_per_hour: int = 2_000
    enterprise_requests_per_minute: int = 600
    enterprise_ingest_per_hour: int = 50_000
    enterprise_query_per_hour: int = 10_000
    # Key management and the detailed health report (/v1/keys, /v1/health), counted per key per UTC hour.
    standard_control_per_hour: int = 600
    enterprise_control_per_hour: int = 3_000
    # Operator's ingestion budget per tenant (every dialect, every tier but `unlimited`),
    # counted per second over the tenant's keys: records accepted and decoded body bytes; 0: off.
    tenant_records_per_s: int = 0
    tenant_bytes_per_s: int = 0
    # Unrevoked, unexpired keys one tenant may hold; POST /v1/keys beyond is 409.
    max_keys_per_tenant: int = 100
    # Enterprise ingestion over its limit is accepted into this topic and worked
    # at `overflow_records_per_s` Kafka records (requests) per second per worker.
    overflow_topic: str = "sluice-overflow"
    overflow_records_per_s: float = 20.0
    # Requests one enterprise tenant may send to the overflow lane per UTC hour; beyond, 429
    # overflow_budget_exceeded. Half an hour of one worker's drain at the default pace, so the
    # backlog a tenant leaves clears well within the topic's retention.
    overflow_budget_per_hour: int = 36_000

    # Logstash-compatible listeners (gateway/logstash.py); port 0 turns one off.
    logstash_host: str = "127.0.0.1"
    logstash_tcp_port: int = 5000
    logstash_udp_port: int = 5000
    # Events without a token are taken as this tenant's (empty: a token is required).
    logstash_tenant: str = ""
    logstash_max_line_bytes: int = 1024 * 1024
    # TCP connections one gateway process serves at once; one more is closed at once (counted).
    logstash_max_connections: int = 1024
    # A TCP connection that completes no line for this long is closed.
    logstash_idle_timeout_s: float = 300.0
    # Until its first good token a TCP connection may buffer one line of at most this many bytes.
    logstash_unauthenticated_bytes: int = 64 * 1024
    # PEM certificate chain and key files: serve TCP over TLS (empty: tls_cert_file/tls_key_file, if set).
    logstash_tls_cert: str = ""
    logstash_tls_key: str = ""
    logstash_batch_events: int = 500
    logstash_batch_wait_s: float = 0.2
    # Profound entries older or further ahead than this are validation errors;
    # a year back by default, so backfills of last year's access logs are taken.
    profound_max_age_days: float = 365
    profound_max_ahead_s: float = 86400
    retry_after_s: int = 5

    # ClickHouse. Empty URL: the embedded engine at <state_dir>/clickhouse.
    clickhouse_url: Secret = Secret("")
    clickhouse_database: str = "sluice"
    # A cluster name from the server's remote_servers: migrations create
    # ReplicatedMergeTree tables behind Distributed ones (schemas/clickhouse_cluster.py).
    clickhouse_cluster: str = ""
    retention_days: int = 30
    # Blocks remembered per table for insert deduplication after a replay.
    dedup_window: int = 1000
    # Marks of stored batch ranges (workers/sink.py) go in one insert this many at a time, or with the
    # next mark once the oldest waited this long: a crash loses only these recent marks, whose ranges
    # the dedup window still covers.
    stored_marks_per_insert: int = 16
    stored_marks_max_delay_s: float = 1.0

    # Workers.
    worker_group: str = "sluice-workers"
    worker_host: str = "127.0.0.1"
    worker_port: int = 6066
    # Worker processes `sluice up` runs (`--workers N`), one consumer group; worker i serves on worker_port + i - 1. More than one needs `clickhouse_url` (sluice/local/topology.py says why).
    local_workers: int = 1
    # Bearer token Sluice's own processes present to the worker's /internal/sql
    # (sluice/internal.py). Empty: <state_dir>/internal.token, created by the worker.
    internal_token: Secret = Secret("")
    # A batch closes at this many Kafka records or rows, or after `batch_max_wait_s`.
    batch_max_records: int = 2000
    batch_max_rows: int = 100_000
    # With the embedded engine, a chunk's batches of several partitions holding at most this many rows together
    # go in as one insert (workers/groups.py): fewer, larger inserts under a moderate load. 0: each alone.
    insert_group_max_rows: int = 50_000
    # A chunk closes as soon as nothing more is buffered (workers/take.py), and at most this long after its first record.
    batch_max_wait_s: float = 0.5
    # A chunk holds at most this many bytes of Kafka record values (or one larger record alone). Chunks this
    # large form only under a backlog, where larger inserts cost the engine less per row: 32 MiB stored 14 %
    # more than 16 in bench.e2e, for about 240 MiB more peak worker memory with 1 MiB records.
    batch_max_bytes: int = 32 * 1024 * 1024
    # What the worker holds read ahead of the chunk it takes, bounded by bytes whatever the records' size:
    # a fetch brings at most this much of a partition (the broker still returns a larger record, alone),
    # and Faust's stream (and each poll of the consumer) holds at most `stream_buffer_records` records and
    # about `read_ahead_bytes`, counted by the largest record lately taken (workers/readahead.py;
    # docs/performance.md, "worker memory"). The fetch is a chunk's worth: at 2 MiB a worker with a
    # backlog waited on its reads and stored a quarter less.
    consumer_fetch_bytes: int = 32 * 1024 * 1024
    stream_buffer_records: int = 16
    read_ahead_bytes: int = 16 * 1024 * 1024
    insert_retry_max_backoff_s: float = 5.0
    # Derived LogFlux keys kept per worker (about 200 bytes each).
    kdf_cache_entries: int = 100_000
    # New key derivations each tenant may cost per second (and in a burst);
    # records needing more go to the slow lane (workers/slowlane.py).
    kdf_budget_per_s: float = 2.0
    kdf_budget_burst: float = 5.0
    # Derivations per second the slow lane performs, for the whole worker
    # (one costs about 0.1 s of a core).
    slow_lane_kdf_per_s: float = 2.0
    # Niceness of the worker process (0-19; sluice/priority.py). Where it shares the cores with a gateway
    # and a broker, those come first: producers wait on them for their 2xx, while the worker's backlog
    # waits in Kafka. Alone on its machine or in its own container it changes nothing.
    worker_nice: int = 13
    # Blocks of this many bytes or more get a mapping of their own in a worker that stores to a ClickHouse
    # server, returned to the kernel when freed (sluice/heap.py; 0: glibc's threshold, which rises to the
    # largest block freed and leaves large records' memory resident: about 120 MiB more at the peak with
    # 1 MiB records). Not with the embedded engine: its inserts' allocations would pay for it in CPU.
    worker_mmap_threshold_bytes: int = 128 * 1024
    # Niceness of the thread that derives the slow lane's keys (0-19; below `worker_nice` it keeps the
    # worker's): at 19 a flood of fresh salts gets the CPU the rest of the machine leaves idle (workers/budget.py).
    slow_lane_nice: int = 19
    slow_topic: str = "sluice-slow"
    kafka_session_timeout_s: float = 10.0
    # A tenant is quarantined for `dlq_quarantine_s` when more than this share of a
    # window of its `dlq_window` records (at least `dlq_min_records` in) went to the
    # dead-letter topic: its records then go there unread (workers/quarantine.py).
    dlq_max_ratio: float = 0.5
    dlq_window: int = 1000
    dlq_min_records: int = 100
    dlq_quarantine_s: float = 60.0

    log_level: str = "INFO"
    # A directory of failpoint files (sluice/failpoints.py) for outage drills; empty: off.
    failpoints_dir: str = ""


    @property
    def clickhouse_dsn(self) -> str:
        """The clickhouse-connect DSN: a server URL, or the embedded chDB engine."""
        if self.clickhouse_url:
            return str(self.clickhouse_url)
        return f"chdb://{(self.state_dir / 'clickhouse').resolve()}"

    @property
    def embedded_clickhouse(self) -> bool:
        return not self.clickhouse_url

    @property
    def gateway_url(self) -> str:
        scheme = "https" if self.tls_cert_file else "http"
        return f"{scheme}://{self.gateway_host}:{self.gateway_port}"

    @property
    def worker_url(self) -> str:
        return f"http://{self.worker_host}:{self.worker_port}"

    def retry_delay_s(self, attempt: int) -> float:
        """How long a worker waits before retry ``attempt`` (1, 2, …) of a transient failure (an insert, a
        send to Kafka): 100 ms doubling, capped at ``insert_retry_max_backoff_s``."""
        return min(self.insert_retry_max_backoff_s, 0.05 * 2 ** attempt)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The settings as SLUICE_* variables, to hand to child processes."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[f"SLUICE_{f.name.upper()}"] = format_value(value)
        return env


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, the optional TOML file, the environment
    and explicit overrides, in that order of precedence (last wins)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = environ.get("SLUICE_CONFIG")
    if config_file:
        with open(config_file, "rb") as fh:
            values.update(tomllib.load(fh))
    known = {f.name: f.type for f in fields(Settings)}
    for name in known:
        env_name = f"SLUICE_{name.upper()}"
        if env_name in environ:
            values[name] = environ[env_name]
    values.update(overrides)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(unknown)}")
    parsed = {name: parse_value(known[name], raw, name) for name, raw in values.items()}
    return Settings(**parsed)
