"""The ``logs`` row shape (``LogRow``, or the same in columns), its helpers, and the JSON dialects' mappings.

``mapped`` maps the JSON dialects' (and native JSON records') decoded entries by
their declared columns (schemas/columns.py); workers/records.MAPPINGS dispatches
each dialect to its mapping.

Plain functions of (entries, envelope): deterministic, so a replayed Kafka
record yields exactly the rows it yielded the first time (a missing
timestamp becomes the gateway's receive time, carried in the envelope, never
the worker's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import msgspec
import pyarrow as pa

from schemas.columns import Columns
from schemas.envelope import Envelope
from schemas.tables import ATTRIBUTES, TIMESTAMP
from workers.columnar import LogColumns

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = timedelta(microseconds=1)
_json = msgspec.json.Encoder()


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
    trace_flags: int = 0  # W3C trace flags (native records only)
    scope_name: str = ""  # instrumentation scope (native records only)
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


def to_ns(ts: datetime) -> int:
    """Nanoseconds since the epoch; a naive timestamp is UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return (ts - _EPOCH) // _NS * 1000


def flatten(values: dict[str, Any] | None, out: dict[str, str] | None = None, prefix: str = "") -> dict[str, str]:
    """Flatten JSON values into string attributes.

    Nested objects become dotted keys (``{"user": {"id": 7}}`` → ``user.id``);
    strings stay as they are; numbers, booleans, null and arrays are stored as
    their JSON text (``42``, ``true``, ``null``, ``[1,2]``), so presence and
    type survive the Map(String, String) column.
    """
    out = {} if out is None else out
    if not values:
        return out
    for key, value in values.items():
        name = prefix + key if prefix else key
        kind = type(value)  # exact types: bool must not pass as int
        if kind is str:
            out[name] = value
        elif kind is int:
            out[name] = str(value)
        elif kind is dict:
            if value:
                flatten(value, out, name + ".")
            else:
                out[name] = "{}"
        elif value is None:
            out[name] = "null"
        else:
            out[name] = _json.encode(value).decode()
    return out


# The JSON dialects are built in columns (workers/columnar.py): one list per
# column rather than a LogRow per entry, made into Arrow once per batch.

def mapped(columns: Columns, entries: list, env: Envelope) -> LogColumns:
    """The reference mapping of a JSON dialect's decoded ``entries`` by its declared ``columns``
    (schemas/columns.py): what the hot path (workers/hot.py) must equal row for row, and how the
    records it declines are mapped."""
    by_role = {m.role: m.name for m in columns.members}
    extra = [(m.name, m.key) for m in columns.members if m.role == "attribute"]
    keyed = [(m.name, m.key, m.role == "resource") for m in columns.members if m.role in ("resource", "resource_if_set")]

    def column(role: str, default=None) -> list | None:
        name = by_role.get(role)
        return [getattr(e, name) for e in entries] if name else default

    attributes: list[dict[str, str]] = []
    resource: list[dict[str, str]] = []
    for e in entries:
        row = flatten(getattr(e, by_role["attributes"])) if "attributes" in by_role else {}
        for name, key in extra:
            if (value := getattr(e, name)) is not None:
                row[key] = value
        attributes.append(row)
        found = flatten(getattr(e, by_role["resource_attributes"])) if "resource_attributes" in by_role else {}
        for name, key, keep in keyed:
            if (value := getattr(e, name)) or keep:
                found[key] = value
        resource.append(found)
    n = len(entries)
    return LogColumns(
        env, columns.source, column("time", [None] * n), column("level"), column("service", [""] * n),
        column("body"), attributes, resource=resource, severity_number=column("severity_number"),
        trace_id=column("trace_id"), span_id=column("span_id"), trace_flags=column("trace_flags"),
        scope_name=column("scope_name"), scope_version=column("scope_version"),
    )


def log_rows(rows: LogColumns) -> list[LogRow]:
    """The same rows as LogRows (for tests and tools that read rows one by one)."""
    t = rows.table
    fields = []
    for name in LogRow._fields:
        column = t.column(LOG_ROW_COLUMNS[name])
        if column.type == TIMESTAMP:
            fields.append(column.cast(pa.int64()).to_pylist())
        elif column.type == ATTRIBUTES:
            fields.append([dict(items) for items in column.to_pylist()])
        else:
            fields.append(column.to_pylist())
    return [LogRow(*row) for row in zip(*fields)]
