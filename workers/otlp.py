"""OTLP log records to ``LogRow``s: resource, scope and log attributes straight onto the otel_logs columns."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.envelope import Envelope
from workers.normalize import LogRow, flatten
from workers.severity import severity_number

_json = msgspec.json.Encoder()


def plain(value: Any) -> Any:
    """An OTLP AnyValue as a Python value."""
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


def attributes(key_values: Any) -> dict[str, str]:
    return flatten({kv.key: plain(kv.value) for kv in key_values})


def _body(value: Any) -> str:
    body = plain(value)
    if body is None:
        return ""
    return body if isinstance(body, str) else _json.encode(body).decode()


def normalize_otlp(requests: list[ExportLogsServiceRequest], env: Envelope) -> list[LogRow]:
    rows = []
    for request in requests:
        for resource_logs in request.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            service = resource.get("service.name", "")
            for scope_logs in resource_logs.scope_logs:
                scope = scope_logs.scope
                scope_attributes = attributes(scope.attributes)
                for r in scope_logs.log_records:
                    ts = r.time_unix_nano or r.observed_time_unix_nano or env.received_ns
                    number = r.severity_number or severity_number(r.severity_text)
                    rows.append(LogRow(
                        env.tenant, env.environment, "otlp", env.request_id, env.received_ns, ts,
                        r.severity_text, number, service, _body(r.body), r.trace_id.hex(), r.span_id.hex(),
                        resource, attributes(r.attributes), r.flags & 0xFF, scope.name, scope.version,
                        scope_attributes,
                    ))
    return rows
