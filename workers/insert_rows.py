"""What a batch inserts: its ``logs`` rows as one Arrow table, and its access-log rows.

Records reach the sink in the shapes their paths produce (workers/batches.py ``Rows``): slices of
the hot path's tables, columns, Arrow tables, or Profound's access-log rows. ``split`` makes one table of them in
the ``logs`` insert layout, one chunk, so one block (see below), and leaves out the records an
idempotency key already stored.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.dialects.profound.rows import HttpRow
from schemas.rows.arrow import LOGS_SCHEMA
from workers.batches import Batch
from schemas.rows.columnar import ArrowRows, LogColumns, to_table
from workers.hot import HotRows, joined


def split(batch: Batch, skip: frozenset[int] = frozenset()) -> tuple[pa.Table | None, list[HttpRow]]:
    """The batch's ``logs`` rows as one Arrow table (None when it has none), and its access-log
    rows, leaving out the records at the offsets in ``skip``."""
    http: list[HttpRow] = []
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
        else:
            http.extend(item.rows)
    if columns:
        tables.insert(0, to_table(columns))
    tables[:0] = joined(mapped)
    if not tables:
        tables.append(LOGS_SCHEMA.empty_table())
    # One chunk, so one block: ClickHouse deduplicates a multi-block insert block by
    # block, and a replay that regrouped the same rows into other chunks would not match.
    table = pa.concat_tables(tables).combine_chunks()
    return (table if table.num_rows else None), http
