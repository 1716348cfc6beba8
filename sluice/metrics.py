"""Every Prometheus metric Sluice exports, defined once.

Labels stay bounded: dialect, route, status class and reason come from fixed
sets in the code; tenants and keys never become labels.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# --- gateway ---------------------------------------------------------------
# HTTP requests answered, by dialect and status code.
GATEWAY_REQUESTS = Counter(
    "sluice_gateway_requests_total", "HTTP requests answered.", ["dialect", "status"]
)
# Requests refused, by the machine-readable error code returned to the client.
GATEWAY_REJECTIONS = Counter(
    "sluice_gateway_rejections_total", "Requests refused, by reason.", ["dialect", "reason"]
)
# Log records in requests that Kafka acknowledged.
GATEWAY_RECORDS_ACCEPTED = Counter(
    "sluice_gateway_records_accepted_total", "Log records accepted.", ["dialect"]
)
# Request body bytes, as sent ("wire") and after Content-Encoding was undone ("decoded").
GATEWAY_BYTES_IN = Counter("sluice_gateway_bytes_in_total", "Request body bytes.", ["dialect", "form"])
# Time from the first byte of a request to its answer.
GATEWAY_REQUEST_SECONDS = Histogram(
    "sluice_gateway_request_seconds", "Request latency.", ["dialect"], buckets=_LATENCY_BUCKETS
)
# Time from handing a record to the producer to Kafka's acknowledgement.
GATEWAY_PUBLISH_SECONDS = Histogram(
    "sluice_gateway_publish_seconds", "Kafka produce latency.", buckets=_LATENCY_BUCKETS
)

# Requests over a key's rate limit, by dialect and quota (minute, ingest, query)
# and outcome (refused with 429, or overflow: accepted into the overflow lane).
GATEWAY_RATE_LIMITED = Counter(
    "sluice_gateway_rate_limited_total", "Requests over a rate limit.", ["dialect", "quota", "outcome"]
)
# Rate-limit checks that could not reach the shared store, by what was done
# (allowed when failing open, refused when failing closed).
GATEWAY_RATE_LIMITER_ERRORS = Counter(
    "sluice_gateway_rate_limiter_errors_total", "Rate-limit store failures.", ["action"]
)

# Logstash listener events by transport (tcp, udp) and outcome (accepted,
# bad_json, bad_token, too_long, dropped).
LISTENER_EVENTS = Counter(
    "sluice_listener_events_total", "Logstash listener events.", ["transport", "outcome"]
)

# --- workers ---------------------------------------------------------------
# Kafka records consumed from the ingest topic.
WORKER_RECORDS_CONSUMED = Counter(
    "sluice_worker_records_consumed_total", "Kafka records consumed.", ["format"]
)
# Records in Kafka the worker group has not committed yet, per partition of
# Sluice's topics (read from Kafka every few seconds; workers/lag.py).
WORKER_CONSUMER_LAG = Gauge(
    "sluice_worker_consumer_lag_records", "Records not yet stored, per partition.", ["topic", "partition"]
)
# How long ago the oldest record not yet stored was accepted (0: nothing waits), and how long Kafka
# keeps a record: a backlog older than the retention is deleted unstored (deploy/prometheus/rules.yml).
WORKER_CONSUMER_LAG_SECONDS = Gauge(
    "sluice_worker_consumer_lag_seconds", "Age of the oldest record not yet stored, per partition.",
    ["topic", "partition"]
)
TOPIC_RETENTION_SECONDS = Gauge("sluice_topic_retention_seconds", "The topic's retention.ms, in seconds.", ["topic"])
# Records written to the dead-letter topic, by reason.
WORKER_DEAD_LETTERS = Counter(
    "sluice_worker_dead_letters_total", "Records sent to the dead-letter topic.", ["reason"]
)
# Tenants put in quarantine for sending mostly unstorable records (workers/quarantine.py);
# the log line names the tenant.
WORKER_QUARANTINES = Counter(
    "sluice_worker_tenant_quarantines_total", "Tenants quarantined for exceeding their dead-letter budget."
)
WORKER_QUARANTINED_TENANTS = Gauge(
    "sluice_worker_quarantined_tenants", "Tenants whose records go to the dead-letter topic unread right now."
)
# Inserts ClickHouse refused for their data (not retried): batches split to find the records.
WORKER_INSERT_REFUSALS = Counter(
    "sluice_worker_insert_refusals_total", "Inserts refused for their data, by what was done.", ["outcome"]
)
# Derived-key cache lookups for LogFlux decryption, by result (hit, miss).
WORKER_KDF_CACHE = Counter(
    "sluice_worker_kdf_cache_total", "Derived-key cache lookups.", ["result"]
)
# Time one PBKDF2 key derivation took.
WORKER_KDF_SECONDS = Histogram(
    "sluice_worker_kdf_seconds", "PBKDF2 derivation time.", buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1, 2)
)
# LogFlux records moved to the slow lane and stored from it, by tenant (tenants
# are bounded by the registry). diverted - stored is the tenant's backlog.
WORKER_SLOW_LANE = Counter(
    "sluice_worker_slow_lane_records_total", "Slow-lane records by tenant and event.", ["tenant", "event"]
)
# Log rows ClickHouse accepted.
WORKER_ROWS_STORED = Counter("sluice_worker_rows_stored_total", "Rows inserted into ClickHouse.")
# Rows per insert.
WORKER_BATCH_ROWS = Histogram(
    "sluice_worker_batch_rows", "Rows per ClickHouse insert.",
    buckets=(1, 10, 100, 500, 1000, 5000, 10000, 50000, 100000),
)
# Time one ClickHouse insert took, retries excluded.
WORKER_INSERT_SECONDS = Histogram(
    "sluice_worker_insert_seconds", "ClickHouse insert latency.", buckets=_LATENCY_BUCKETS
)
# Inserts of several partitions' batches as one (workers/groups.py).
WORKER_GROUP_INSERTS = Counter("sluice_worker_group_inserts_total", "ClickHouse inserts of several partitions' batches.")
# Inserts that failed and were retried.
WORKER_INSERT_RETRIES = Counter("sluice_worker_insert_retries_total", "ClickHouse insert retries.")
# Sends to the dead-letter topic or the slow lane retried after a transient Kafka failure (workers/forward.py).
WORKER_FORWARD_RETRIES = Counter(
    "sluice_worker_forward_retries_total", "Retried sends to the dead-letter topic or the slow lane.", ["topic"])
# Records not stored because a record with the same tenant and Idempotency-Key was (a client's retry).
WORKER_IDEMPOTENT_REPEATS = Counter(
    "sluice_worker_idempotent_repeats_total", "Records left out as repeats of an idempotency key."
)
# Batches found stored by an earlier attempt, through their idempotency keys: cause "retry", an attempt
# this worker heard fail although it committed (an ambiguous commit: a timeout, a connection cut after
# the commit); cause "replay", a range rebuilt after a restart or rebalance whose rows were in but not
# yet marked stored. A batch without keyed records is left to ClickHouse's deduplication window, uncounted.
WORKER_UNHEARD_COMMITS = Counter(
    "sluice_worker_unheard_commits_total", "Batches found stored by an earlier attempt.", ["cause"]
)
# Batches rebuilt over a recorded offset range after a restart or rebalance.
WORKER_REPLAYED_BATCHES = Counter(
    "sluice_worker_replayed_batches_total", "Batches replayed over a recorded offset range."
)

# Statements /internal/sql refused: unauthorized (no or wrong token), refused (a guard), engine (ClickHouse).
WORKER_INTERNAL_SQL_REFUSED = Counter(
    "sluice_worker_internal_sql_refused_total", "Statements the worker's internal SQL endpoint refused.", ["reason"]
)

# --- live tails (gateway/tail.py) -------------------------------------------
# Live tails streaming right now, in this gateway process.
GATEWAY_TAILS_OPEN = Gauge("sluice_gateway_tails_open", "Live tails streaming now.")
# Live tails ended after their 200, by reason: client_gone, key_revoked, key_expired,
# rate_limit_exceeded, or the code of the storage error that ended them.
GATEWAY_TAILS_CLOSED = Counter("sluice_gateway_tails_closed_total", "Live tails ended, by reason.", ["reason"])

# Entries left out of a request that was otherwise accepted (Profound's partial acceptance),
# by dialect and the field at fault (timestamp, ip, query_params, ...; invalid_entry for a wrong shape).
GATEWAY_ENTRIES_REJECTED = Counter(
    "sluice_gateway_entries_rejected_total", "Entries refused within an accepted request.", ["dialect", "reason"]
)

# Request-body bytes this gateway process holds right now (bounded by gateway_max_body_buffer_bytes).
GATEWAY_BODY_BUFFER_BYTES = Gauge("sluice_gateway_body_buffer_bytes", "Request-body bytes held now.")

# Logstash TCP connections open now, and those the listener closed, by reason
# (too_many_connections, idle, unauthenticated_too_long, bad_tokens).
LISTENER_CONNECTIONS_OPEN = Gauge("sluice_listener_connections_open", "Logstash TCP connections open now.")
LISTENER_CONNECTIONS_CLOSED = Counter(
    "sluice_listener_connections_closed_total", "Logstash connections the listener closed, by reason.",
    ["transport", "reason"]
)

# --- TLS (gateway/tls.py) ---------------------------------------------------
# Certificate reloads after the files changed, by listener (gateway, logstash) and outcome
# (loaded; failed: unreadable, not PEM, or a key that does not match, and the previous pair kept).
TLS_RELOADS = Counter("sluice_tls_reloads_total", "TLS certificate reloads, by listener and outcome.",
                      ["listener", "outcome"])
# When the certificate a listener serves expires (Unix seconds): alert well before it.
TLS_CERT_EXPIRY = Gauge("sluice_tls_certificate_expiry_seconds", "Expiry of the served TLS certificate.",
                        ["listener"])


def exposition() -> tuple[bytes, str]:
    """The current metrics in the Prometheus text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST

# Records of a hot-path format (workers/hot.py) that the hot path handed back to the reference mapping:
# they did not decode, or need what it leaves to Python. A rise means clients send something it
# does not cover (or records bypass the gateway), and the worker pays Python per entry for them.
WORKER_HOT_DECLINED = Counter(
    "sluice_worker_hot_declined_total", "Records the hot path left to the reference mapping.", ["dialect"]
)

# Batches a worker dropped unacknowledged because another worker claimed their partition after it
# planned them (workers/claims.py): an old owner fenced after a rebalance. Their records are stored
# once, by the new owner; a steady rise means workers keep losing partitions mid-batch.
WORKER_FENCED_BATCHES = Counter(
    "sluice_worker_fenced_batches_total", "Batches dropped unstored: their partition moved to another worker."
)
# Replayed batches acknowledged without inserting: their range was already marked stored.
WORKER_SKIPPED_STORED_BATCHES = Counter(
    "sluice_worker_skipped_stored_batches_total", "Replayed batches whose range was already stored."
)
