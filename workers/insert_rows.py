"""What a batch inserts: its ``logs`` rows as one Arrow table, and its ``http_logs`` rows as another.

Records reach the sink in the shapes their paths produce (workers/batches.py ``Rows``): slices of
the hot path's tables, columns, Arrow tables, or Profound's ``http_logs`` tables. ``split`` makes one table
of each insert layout, one chunk each, so one block (see below), and leaves out the records an
idempotency key already stored. ``insert`` sends a table to ClickHouse without a copy of it in memory.
"""

from __future__ import annotations

import tempfile

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.rows.arrow import LOGS_SCHEMA
from workers.batches import Batch
from schemas.rows.columnar import ArrowRows, LogColumns, to_table
from schemas.rows.declared_http import HttpRows
from workers.hot import HotRows, joined


def split(batch: Batch, skip: frozenset[int] = frozenset()) -> tuple[pa.Table | None, pa.Table | None]:
    """The batch's ``logs`` rows as one Arrow table and its ``http_logs`` rows as another (each None
    when it has none), leaving out the records at the offsets in ``skip``."""
    http: list[pa.Table] = []
    columns: list[LogColumns] = []
    tables: list[pa.Table] = []
    mapped: list[HotRows] = []
    for item in batch.items:
        if item.offset in skip:
            continue
        kind = type(item.rows)
        if kind is HotRows:
            mapped.append(item.rows)
        elif kind is LogColumns:
            columns.append(item.rows)
        elif kind is ArrowRows:
            tables.append(item.rows.table)
        elif kind is HttpRows:
            http.append(item.rows.table)
        elif len(item.rows):  # else a record of which nothing is stored (an empty list)
            raise TypeError(f"rows of an unknown shape: {kind.__name__}")
    if columns:
        tables.insert(0, to_table(columns))
    tables[:0] = joined(mapped)
    if not tables:
        tables.append(LOGS_SCHEMA.empty_table())
    # One chunk, so one block: ClickHouse deduplicates a multi-block insert block by
    # block, and a replay that regrouped the same rows into other chunks would not match.
    table = pa.concat_tables(tables).combine_chunks()
    access = pa.concat_tables(http).combine_chunks() if http else None
    return (table if table.num_rows else None), (access if access is not None and access.num_rows else None)


def insert(client: Client, table: str, rows: pa.Table, settings: dict) -> None:
    """Insert ``rows`` into ``table`` as one Arrow IPC file, written to a temporary file and streamed from it.

    clickhouse-connect's ``insert_arrow`` builds the IPC file in memory, and its embedded backend
    copies that to ``bytes`` before writing its own temporary file: two more copies of the chunk,
    held at once, at every insert. From a file, both backends read in pieces (the HTTP client
    streams the body, the embedded engine copies it to its own file 1 MiB at a time). The file
    compresses its buffers as the client compresses what it sends, if it does. It lives in the
    temporary directory (``TMPDIR``) for the insert only; on a RAM disk it would count as memory again.
    """
    codec = client.write_compression if client.write_compression in ("zstd", "lz4") else None
    options = pa.ipc.IpcWriteOptions(compression=codec) if codec else None
    with tempfile.TemporaryFile(prefix="sluice-insert-") as file:
        with pa.ipc.new_file(file, rows.schema, options=options) as writer:
            writer.write_table(rows)
        file.seek(0)
        client.raw_insert(table, rows.schema.names, file, settings=settings, fmt="Arrow")
