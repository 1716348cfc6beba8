"""Columnar records (``sluice.arrow.v1``) completed into ``logs`` columns without a Python object per record.

The same mapping as ``workers.normalize._native``, expressed on whole
columns: the envelope fills the constant columns, a null timestamp becomes
the Kafka record's time, a null severity number is derived from the text
with the same table every dialect uses.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas.envelope import Envelope
from workers.arrow import ATTRIBUTES, LOGS_SCHEMA, TIMESTAMP_NS as TIMESTAMP
from workers.severity import severity_number


class ArrowRows:
    """The rows of one columnar record, ready for the ``logs`` table; sized like a list of rows."""

    __slots__ = ("table",)

    def __init__(self, table: pa.Table):
        self.table = table

    def __len__(self) -> int:
        return self.table.num_rows


def normalize_arrow(records: pa.Table, env: Envelope) -> ArrowRows:
    """``records`` (conformed by ``schemas.native_arrow.read``) as ``logs`` rows of the envelope's tenant."""
    n = records.num_rows
    text = _strings(records.column("severity_text"))
    columns = {
        "TenantId": pa.repeat(env.tenant, n),
        "Environment": pa.repeat(env.environment, n),
        "Source": pa.repeat("native", n),
        "RequestId": pa.repeat(env.request_id, n),
        "ReceivedAt": pa.repeat(pa.scalar(env.received_ns, pa.int64()), n).cast(TIMESTAMP),
        "Timestamp": pc.fill_null(records.column("timestamp"), pa.scalar(env.received_ns, pa.int64()).cast(TIMESTAMP)),
        "SeverityText": text,
        "SeverityNumber": pc.coalesce(records.column("severity_number"), _severities(text)),
        "ServiceName": _strings(records.column("service_name")),
        "Body": records.column("body"),
        "TraceId": _strings(records.column("trace_id")),
        "SpanId": _strings(records.column("span_id")),
        "TraceFlags": pc.fill_null(records.column("trace_flags"), pa.scalar(0, pa.uint8())),
        "ScopeName": _strings(records.column("scope_name")),
        "ScopeVersion": _strings(records.column("scope_version")),
        "ResourceAttributes": _maps(records.column("resource_attributes")),
        "LogAttributes": _maps(records.column("attributes")),
        "ScopeAttributes": _empty_maps(n),
    }
    return ArrowRows(pa.table(columns, schema=LOGS_SCHEMA))


def _strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(column, "") if column.null_count else column


def _severities(text: pa.ChunkedArray) -> pa.Array:
    # Levels repeat: map each distinct name once, then look every row up.
    names = pc.unique(text)
    numbers = pa.array([severity_number(name) for name in names.to_pylist()], pa.uint8())
    return pc.take(numbers, pc.index_in(text, value_set=names))


def _maps(column: pa.ChunkedArray) -> pa.Array:
    """A map column with nulls read as empty maps and null values as empty strings (ClickHouse's Map has neither)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not array.null_count and not array.items.null_count:
        return array
    items = pc.fill_null(array.items, "")
    return pa.MapArray.from_arrays(array.offsets, array.keys, items, type=ATTRIBUTES)


def _empty_maps(n: int) -> pa.Array:
    return pa.MapArray.from_arrays(pa.array([0] * (n + 1), pa.int32()), pa.array([], pa.string()),
                                   pa.array([], pa.string()), type=ATTRIBUTES)
