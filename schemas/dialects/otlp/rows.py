"""OTLP log records to ``logs`` columns: resource, scope and log attributes straight onto the otel_logs columns.

One walk reads both decodings: the protobuf message and its msgspec mirror
(schemas/dialects/otlp/json_mirror.py) have the same field names. They differ only in how an
AnyValue says which of its values is set, and in ids (bytes vs. hex).
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.dialects.otlp import json_mirror as otlp_json
from schemas.envelope import Envelope
from schemas.rows.columnar import LogColumns, NsTimes
from schemas.rows.normalize import flatten

_json = msgspec.json.Encoder()


def plain(value: Any) -> Any:
    """An OTLP AnyValue (protobuf or OTLP/JSON) as a Python value."""
    if value is None:
        return None
    if isinstance(value, otlp_json.AnyValue):
        return _plain_json(value)
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


def _plain_json(value: otlp_json.AnyValue) -> Any:
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


def _hex(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value


def attributes(key_values: Any) -> dict[str, str]:
    return flatten({kv.key: plain(kv.value) for kv in key_values})


def _body(value: Any) -> str:
    body = plain(value)
    if body is None:
        return ""
    return body if isinstance(body, str) else _json.encode(body).decode()


def normalize_otlp(requests: list[ExportLogsServiceRequest | otlp_json.ExportLogsServiceRequest],
                   env: Envelope) -> LogColumns:
    """The rows of one record's requests, in order: a log record's own time, else its observed time,
    else the receive time; its severity number, else the one its text names."""
    times, text, numbers, services, bodies, trace_ids, span_ids = [], [], [], [], [], [], []
    resources, attrs, flags, scope_names, scope_versions, scopes = [], [], [], [], [], []
    for request in requests:
        for resource_logs in request.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            service = resource.get("service.name", "")
            for scope_logs in resource_logs.scope_logs:
                scope = scope_logs.scope
                scope_attributes = attributes(scope.attributes)
                for r in scope_logs.log_records:
                    times.append(r.time_unix_nano or r.observed_time_unix_nano or None)
                    text.append(r.severity_text)
                    numbers.append(r.severity_number or None)
                    services.append(service)
                    bodies.append(_body(r.body))
                    trace_ids.append(_hex(r.trace_id))
                    span_ids.append(_hex(r.span_id))
                    resources.append(resource)
                    attrs.append(attributes(r.attributes))
                    flags.append(r.flags & 0xFF)
                    scope_names.append(scope.name)
                    scope_versions.append(scope.version)
                    scopes.append(scope_attributes)
    return LogColumns(env, "otlp", NsTimes(times), text, services, bodies, attrs, resource=resources,
                      severity_number=numbers, trace_id=trace_ids, span_id=span_ids, trace_flags=flags,
                      scope_name=scope_names, scope_version=scope_versions, scope_attributes=scopes)
