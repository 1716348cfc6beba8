"""The reference mapping of a nested declaration (schemas/nested.py): decoded requests to ``logs`` columns.

Reads a request's messages by their members' protobuf names, so a protobuf message and its msgspec mirror
(schemas/dialects/otlp/json_mirror.py, the same names) read alike. They differ only in how an AnyValue says
which of its values is set, and in ids (bytes in protobuf, hex text in the mirror). This is what the hot
path (hotpath/src/nested*.rs) must equal row for row, and how the records it declines are mapped.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from schemas.envelope import Envelope
from schemas.nested import Member, Nested
from schemas.rows.columnar import LogColumns, NsTimes
from schemas.rows.normalize import flatten

_json = msgspec.json.Encoder()
#: ``LogColumns``' keyword columns, by role: every column but time, level, service, body and attributes.
_KEYWORDS = {"severity_number": "severity_number", "trace_id": "trace_id", "span_id": "span_id",
             "trace_flags": "trace_flags", "resource_attributes": "resource", "scope_name": "scope_name",
             "scope_version": "scope_version", "scope_attributes": "scope_attributes"}


def nested_rows(declared: Nested, requests: list, env: Envelope) -> LogColumns:
    """The rows of ``requests`` in order, one per element of the innermost level, by ``declared``."""
    rows: list[dict[str, Any]] = []
    for request in requests:
        _element(declared.members, request, {}, rows)
    column = {role: [row.get(role) for row in rows] for role in (*_KEYWORDS, "level", "body", "attributes")}
    column["trace_flags"] = [flags & 0xFF for flags in column["trace_flags"]]  # the column is UInt8
    times = [row.get("time") or row.get("observed_time") or None for row in rows]
    services = [row.get("resource_attributes", {}).get(declared.service_key, "") for row in rows]
    return LogColumns(env, declared.source, NsTimes(times), column["level"], services, column["body"],
                      column["attributes"], **{kw: column[role] for role, kw in _KEYWORDS.items()})


def _element(members: tuple[Member, ...], message: Any, above: dict[str, Any], rows: list[dict]) -> None:
    """One element: its values over those of the levels ``above`` it, then its own elements' rows, or its
    own row when it is of the innermost level."""
    own = dict(above)
    below = _read(members, message, own)
    if below is None:
        rows.append(own)
        return
    level, elements = below
    for element in elements:
        _element(level.members, element, own, rows)


def _read(members: tuple[Member, ...], message: Any, into: dict[str, Any]) -> tuple[Member, list] | None:
    """The mapped values of ``message`` (and of the messages in it) into ``into`` by role; its repeated
    member and that member's elements, if it has one."""
    below = None
    for m in members:
        value = getattr(message, m.name)
        if m.form == "repeated":
            below = (m, value)
        elif m.form == "message":
            below = _read(m.members, value, into) or below
        elif m.role:
            into[m.role] = _VALUES[m.form](value)
    return below


def plain(value: Any) -> Any:
    """An AnyValue (protobuf or the mirror's) as a Python value: None when none is set, bytes as base64."""
    if value is None:
        return None
    if not hasattr(value, "WhichOneof"):
        return _plain_mirror(value)
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: plain(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _plain_mirror(value: Any) -> Any:
    # The order bounds.py checks a value that sets more than one of its oneof in.
    if value.string_value is not None:
        return value.string_value
    if value.array_value is not None:
        return [plain(v) for v in value.array_value.values]
    if value.kvlist_value is not None:
        return {kv.key: plain(kv.value) for kv in value.kvlist_value.values}
    if value.bytes_value is not None:
        return base64.b64encode(value.bytes_value).decode()
    for scalar in (value.bool_value, value.int_value, value.double_value):
        if scalar is not None:
            return scalar
    return None


def attributes(key_values: Any) -> dict[str, str]:
    """A KeyValue list flattened (``schemas.rows.normalize.flatten``)."""
    return flatten({kv.key: plain(kv.value) for kv in key_values})


def _text(value: Any) -> str:
    """An AnyValue as a column's text: none is "", a string as it is, anything else its JSON."""
    found = plain(value)
    if found is None:
        return ""
    return found if isinstance(found, str) else _json.encode(found).decode()


_VALUES = {
    "string": lambda v: v,
    "int": lambda v: v,
    "enum": lambda v: v or None,  # 0 is unset: the number the level names
    "any_value": _text,
    "key_values": attributes,
    "hex_id": lambda v: v.hex() if isinstance(v, bytes) else v.lower(),  # ids in lower-case hex
}
