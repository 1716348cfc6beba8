"""Which insert failures to retry and which are the data's fault.

A retriable failure (the server is down, slow, out of memory, has too many
parts, or the schema is not there yet) is retried with backoff until it
passes: giving up would lose data, and the records are fine. A permanent
failure is the batch's own: the same rows would fail again on every retry
and stall every partition behind them, so the sink splits the batch to find
the records at fault and dead-letters only those (workers/sink.py).
"""

from __future__ import annotations

import re

import pyarrow as pa

# ClickHouse error codes that say nothing about the rows: the server, the network,
# load, configuration or a schema not migrated yet. Any other coded error is the data's.
RETRIABLE_CODES = frozenset({
    3,    # UNEXPECTED_END_OF_FILE
    16,   # NO_SUCH_COLUMN_IN_TABLE (a deploy ahead of its migration)
    32,   # ATTEMPT_TO_READ_AFTER_EOF
    47,   # UNKNOWN_IDENTIFIER
    60,   # UNKNOWN_TABLE
    81,   # UNKNOWN_DATABASE
    159,  # TIMEOUT_EXCEEDED
    160,  # TOO_SLOW
    164,  # READONLY
    192,  # UNKNOWN_USER
    193,  # WRONG_PASSWORD
    194,  # REQUIRED_PASSWORD
    195,  # IP_ADDRESS_NOT_ALLOWED
    198,  # DNS_ERROR
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    203,  # NO_FREE_CONNECTION
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    236,  # ABORTED
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    243,  # NOT_ENOUGH_SPACE
    252,  # TOO_MANY_PARTS (but see _SPLITTABLE)
    279,  # ALL_CONNECTION_TRIES_FAILED
    285,  # TOO_FEW_LIVE_REPLICAS
    286,  # UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    319,  # UNKNOWN_STATUS_OF_INSERT
    394,  # QUERY_WAS_CANCELLED
    425,  # SYSTEM_ERROR
    439,  # CANNOT_SCHEDULE_TASK
    497,  # ACCESS_DENIED
    516,  # AUTHENTICATION_FAILED
    999,  # KEEPER_EXCEPTION
    1000,  # POCO_EXCEPTION
})
# Code 252 also covers a block spanning more partitions than max_partitions_per_insert_block:
# that one is the rows' own, and halves of the batch pass.
_SPLITTABLE = "Too many partitions for single INSERT block"
_CODE = re.compile(r"Code: (\d+)")
# Raised while turning rows into Arrow columns: a value the column type cannot hold.
_DATA_ERRORS = (pa.ArrowException, OverflowError, ValueError, TypeError, UnicodeError)


def is_permanent(exc: BaseException) -> bool:
    """True when ``exc`` is the rows' fault: retrying the same rows cannot succeed."""
    message = str(exc)
    match = _CODE.search(message)
    if match is not None:
        return int(match.group(1)) not in RETRIABLE_CODES or _SPLITTABLE in message
    # No ClickHouse code: a connection failure (OSError, clickhouse-connect's
    # OperationalError), a failpoint, or Arrow refusing a value on our side.
    return isinstance(exc, _DATA_ERRORS) and not isinstance(exc, OSError)


def summary(exc: BaseException, limit: int = 500) -> str:
    """The engine's message, for a dead letter's detail: first line, bounded."""
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return text[:limit]
