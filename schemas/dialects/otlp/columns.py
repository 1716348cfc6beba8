"""OTLP's requests as ``logs`` rows (schemas/nested.py): the OpenTelemetry data model onto the otel_logs
columns, one row per LogRecord. Resource, scope and record attributes flattened into their own maps;
``service.name`` of the resource is ``ServiceName``; a record's own time, else its observed time."""

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.formats import Format
from schemas.nested import Member, Nested

_RESOURCE = Member("resource", "message", members=(
    Member("attributes", "key_values", "resource_attributes"),
    Member("dropped_attributes_count", "int"),
))
_SCOPE = Member("scope", "message", members=(
    Member("name", "string", "scope_name"),
    Member("version", "string", "scope_version"),
    Member("attributes", "key_values", "scope_attributes"),
    Member("dropped_attributes_count", "int"),
))
_LOG_RECORD = (
    Member("time_unix_nano", "int", "time"),
    Member("observed_time_unix_nano", "int", "observed_time"),
    Member("severity_number", "enum", "severity_number"),
    Member("severity_text", "string", "level"),
    Member("body", "any_value", "body"),
    Member("attributes", "key_values", "attributes"),
    Member("dropped_attributes_count", "int"),
    Member("flags", "int", "trace_flags"),
    Member("trace_id", "hex_id", "trace_id", size=16),
    Member("span_id", "hex_id", "span_id", size=8),
    Member("event_name", "string"),
)

REQUEST = Nested("otlp", (
    Member("resource_logs", "repeated", members=(
        _RESOURCE,
        Member("scope_logs", "repeated", members=(
            _SCOPE,
            Member("log_records", "repeated", members=_LOG_RECORD),
            Member("schema_url", "string"),
        )),
        Member("schema_url", "string"),
    )),
), service_key="service.name", protobuf=ExportLogsServiceRequest.DESCRIPTOR)

#: Each format's requests. Both encodings map alike, on the hot path too.
NESTED = {Format.OTLP_PROTOBUF: REQUEST, Format.OTLP_JSON: REQUEST}
