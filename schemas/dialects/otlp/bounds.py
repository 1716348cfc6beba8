"""OTLP requests against the storability contract (schemas/storable.py), both decodings in one walk.

What OTLP's types let through and the ``logs`` columns cannot hold: times past
Int64 nanoseconds (``fixed64`` goes to 2^64-1), severity numbers beyond UInt8
(an open enum), attribute sets that flatten to more than ``MAX_ENTRIES``
entries and values nested deeper than ``MAX_DEPTH``. The workers map the same
fields the same way (schemas/rows/nested.py), so what passes here converts.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from schemas.dialects.otlp import json_mirror as otlp_json
from schemas import storable
from schemas.storable import LOGS, MAX_DEPTH, MAX_ENTRIES, Unstorable

_KVLIST, _ARRAY = 1, 2
_SEVERITY = LOGS["SeverityNumber"]
Nested = Callable[[Any], "tuple[int, Sequence] | None"]


def _nested_proto(value: Any) -> tuple[int, Sequence] | None:
    which = value.WhichOneof("value")
    if which == "kvlist_value":
        return _KVLIST, value.kvlist_value.values
    if which == "array_value":
        return _ARRAY, value.array_value.values
    return None


def _nested_json(value: otlp_json.AnyValue | None) -> tuple[int, Sequence] | None:
    # In the order schemas/rows/nested.py reads a value that sets more than one of its oneof.
    if value is None or value.string_value is not None:
        return None
    if value.array_value is not None:
        return _ARRAY, value.array_value.values
    if value.kvlist_value is not None:
        return _KVLIST, value.kvlist_value.values
    return None


def _walk(stack: list, count: int, nested: Nested, what: str) -> None:
    """Go down nested values: every level checked against MAX_DEPTH, the leaves of key-value
    lists counted on from ``count`` against MAX_ENTRIES."""
    while stack:
        (kind, values), depth = stack.pop()
        if depth > MAX_DEPTH:
            storable.too_deep(what)
        for item in values:
            inner = nested(item.value if kind == _KVLIST else item)
            if inner is not None:
                stack.append((inner, depth + 1))
            if kind == _KVLIST and (inner is None or inner[0] == _ARRAY or not inner[1]):
                count += 1
        if count > MAX_ENTRIES:
            storable.too_many(what)


def check_attributes(key_values: Sequence, nested: Nested) -> None:
    """Raise ``Unstorable`` for key-values that flatten to too many entries or nest too deeply."""
    if len(key_values) > MAX_ENTRIES:
        storable.too_many()
    count, stack = 0, []
    for kv in key_values:
        found = nested(kv.value)
        if found is None:
            count += 1
            continue
        stack.append((found, 2))
        if found[0] == _ARRAY or not found[1]:  # an array is one entry, its JSON text; so is an empty list
            count += 1
    if stack:
        _walk(stack, count, nested, "attributes")


def check_body(body: Any, nested: Nested) -> None:
    found = None if body is None else nested(body)
    if found is not None:
        _walk([(found, 1)], -(2**62), nested, "body values")  # a body is one string: no entries to count


_PATHS = {
    True: ("$.resourceLogs[{}]", ".scopeLogs[{}]", ".logRecords[{}]", ".resource.attributes", ".scope.attributes",
           ".timeUnixNano", ".observedTimeUnixNano", ".severityNumber", ".attributes", ".body"),
    False: ("resource_logs[{}]", ".scope_logs[{}]", ".log_records[{}]", ".resource.attributes", ".scope.attributes",
            ".time_unix_nano", ".observed_time_unix_nano", ".severity_number", ".attributes", ".body"),
}


def unstorable(request: Any, as_json: bool) -> tuple[str, Unstorable] | None:
    """(path, why) for the first value of ``request`` the ``logs`` table cannot hold, or None.

    Paths are OTLP/JSON's (``$.resourceLogs[0]...``) or the protobuf fields' names."""
    nested = _nested_json if as_json else _nested_proto
    names = _PATHS[as_json]
    rl_at, sl_at, lr_at, resource_at, scope_at = names[:5]
    for i, resource_logs in enumerate(request.resource_logs):
        try:
            check_attributes(resource_logs.resource.attributes, nested)
        except Unstorable as exc:
            return rl_at.format(i) + resource_at, exc
        for j, scope_logs in enumerate(resource_logs.scope_logs):
            try:
                check_attributes(scope_logs.scope.attributes, nested)
            except Unstorable as exc:
                return rl_at.format(i) + sl_at.format(j) + scope_at, exc
            for k, record in enumerate(scope_logs.log_records):
                found = _record(record, nested, as_json, names)
                if found is not None:
                    return rl_at.format(i) + sl_at.format(j) + lr_at.format(k) + found[0], found[1]
    return None


def _record(record: Any, nested: Nested, as_json: bool, names: tuple[str, ...]) -> tuple[str, Unstorable] | None:
    time_at, observed_at, severity_at, attributes_at, body_at = names[5:]
    try:
        for at, value in ((time_at, record.time_unix_nano), (observed_at, record.observed_time_unix_nano)):
            if value:  # 0: not set
                storable.check_ns(value)
        at = severity_at
        storable.check_int(record.severity_number, _SEVERITY)
        at = attributes_at
        if record.attributes:
            check_attributes(record.attributes, nested)
        at = body_at
        if as_json or record.HasField("body"):
            check_body(record.body, nested)
    except Unstorable as exc:
        return at, exc
    return None
