"""``logs`` rows one at a time (``LogRow``): how tests write the rows they expect and read the rows a
mapping produced. The worker itself never builds one: its rows are columns (schemas/rows/columnar.py)
or the hot path's tables."""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from schemas.tables import ATTRIBUTES, TIMESTAMP
from schemas.rows.arrow import LOGS_SCHEMA, column
from schemas.rows.columnar import ArrowRows, LogColumns


class LogRow(NamedTuple):
    tenant: str  # envelope: the API key's tenant
    environment: str  # the key's environment (production, staging, development)
    source: str  # the dialect the record came in through
    request_id: str  # envelope: the id the client got back
    received_ns: int  # envelope: when the gateway accepted the request
    timestamp_ns: int  # the entry's own time, UTC, or received_ns when it has none
    severity_text: str  # the level as the client spelled it
    severity_number: int  # OTel SeverityNumber, see schemas/severity.py
    service: str  # the emitting service (AstraLog/LogTrace service, LogInformant source)
    body: str  # the message
    trace_id: str
    span_id: str
    resource_attributes: dict[str, str]  # describes the emitter (project, host)
    log_attributes: dict[str, str]  # the entry's own structured data, flattened
    trace_flags: int = 0  # W3C trace flags
    scope_name: str = ""  # instrumentation scope
    scope_version: str = ""
    scope_attributes: dict[str, str] = {}  # shared default, never mutated


#: The ``logs`` column of each LogRow field; schemas/tables.LOGS declares the columns' types.
LOG_ROW_COLUMNS: dict[str, str] = {
    "tenant": "TenantId", "environment": "Environment", "source": "Source", "request_id": "RequestId",
    "received_ns": "ReceivedAt", "timestamp_ns": "Timestamp", "severity_text": "SeverityText",
    "severity_number": "SeverityNumber", "service": "ServiceName", "body": "Body", "trace_id": "TraceId",
    "span_id": "SpanId", "resource_attributes": "ResourceAttributes", "log_attributes": "LogAttributes",
    "trace_flags": "TraceFlags", "scope_name": "ScopeName", "scope_version": "ScopeVersion",
    "scope_attributes": "ScopeAttributes",
}


def to_arrow(rows: list[LogRow]) -> pa.Table:
    """Rows as an Arrow table of the ``logs`` insert layout."""
    fields = list(zip(*rows)) if rows else [[] for _ in LogRow._fields]
    by_column = {LOG_ROW_COLUMNS[name]: values for name, values in zip(LogRow._fields, fields)}
    return pa.table({f.name: column(by_column[f.name], f.type) for f in LOGS_SCHEMA}, schema=LOGS_SCHEMA)


def log_rows(rows: LogColumns | ArrowRows | pa.Table) -> list[LogRow]:
    """The rows of a mapping's columns (or of a ``logs`` table) as LogRows."""
    t = rows if isinstance(rows, pa.Table) else rows.table
    fields = []
    for name in LogRow._fields:
        values = t.column(LOG_ROW_COLUMNS[name])
        if values.type == TIMESTAMP:
            fields.append(values.cast(pa.int64()).to_pylist())
        elif values.type == ATTRIBUTES:
            fields.append([dict(items) for items in values.to_pylist()])
        else:
            fields.append(values.to_pylist())
    return [LogRow(*row) for row in zip(*fields)]


def readable(table: pa.Table) -> list[dict]:
    """A table's rows by column name, as the engine gives them back: times as nanoseconds, maps as dicts."""
    columns = {}
    for name in table.column_names:
        values = table.column(name)
        if values.type == TIMESTAMP:
            values = values.cast(pa.int64())
        columns[name] = [dict(v) for v in values.to_pylist()] if pa.types.is_map(values.type) else values.to_pylist()
    return [dict(zip(columns, row)) for row in zip(*columns.values())]
