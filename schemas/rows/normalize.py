"""The JSON dialects' reference mapping (``mapped``) and the helpers every mapping shares.

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
from typing import Any

import msgspec

from schemas.columns import Columns
from schemas.envelope import Envelope
from schemas.rows.columnar import LogColumns

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = timedelta(microseconds=1)
_json = msgspec.json.Encoder()


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


# The JSON dialects are built in columns (schemas/rows/columnar.py): one list per
# column rather than an object per entry, made into Arrow once per batch.

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
