"""OTLP/JSON logs as msgspec Structs: decoded in one pass in C, not through protobuf's JSON mapping.

The fields mirror the protobuf messages' names (``resource_logs``,
``time_unix_nano``, …) and are renamed to the lowerCamelCase keys OTLP/JSON
uses, so code that walks a request reads protobuf and JSON requests alike.
What OTLP/JSON asks beyond plain JSON is honoured: unknown fields are
ignored, 64-bit integers may come as strings, ``severityNumber`` may be the
enum's name, and trace and span ids are hex (lower-cased here).
"""

from __future__ import annotations

import msgspec
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber


class _Message(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class AnyValue(_Message):
    # A oneof: at most one is set. None of them set is an empty value.
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: bytes | None = None  # base64 in JSON


class KeyValue(_Message):
    key: str = ""
    value: AnyValue | None = None


class ArrayValue(_Message):
    values: list[AnyValue] = []


class KeyValueList(_Message):
    values: list[KeyValue] = []


class Resource(_Message):
    attributes: list[KeyValue] = []
    dropped_attributes_count: int = 0


class InstrumentationScope(_Message):
    name: str = ""
    version: str = ""
    attributes: list[KeyValue] = []
    dropped_attributes_count: int = 0


class LogRecord(_Message):
    time_unix_nano: int = 0
    observed_time_unix_nano: int = 0
    severity_number: int | str = 0  # the number or its name; an int after ``parse``
    severity_text: str = ""
    body: AnyValue | None = None
    attributes: list[KeyValue] = []
    dropped_attributes_count: int = 0
    flags: int = 0
    trace_id: str = ""  # hex
    span_id: str = ""  # hex
    event_name: str = ""


class ScopeLogs(_Message):
    scope: InstrumentationScope = msgspec.field(default_factory=InstrumentationScope)
    log_records: list[LogRecord] = []
    schema_url: str = ""


class ResourceLogs(_Message):
    resource: Resource = msgspec.field(default_factory=Resource)
    scope_logs: list[ScopeLogs] = []
    schema_url: str = ""


class ExportLogsServiceRequest(_Message):
    resource_logs: list[ResourceLogs] = []


# strict=False: proto3's JSON mapping writes 64-bit integers as strings ("1700000000000000000").
_decoder = msgspec.json.Decoder(ExportLogsServiceRequest, strict=False)


def parse(body: bytes) -> ExportLogsServiceRequest:
    """The request, ids checked and lower-cased and severity names made numbers.

    Raises ``ValueError`` naming the JSON path of what is wrong.
    """
    try:
        request = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ValueError(f"not a valid OTLP/JSON ExportLogsServiceRequest: {exc}") from None
    for i, resource_logs in enumerate(request.resource_logs):
        for j, scope_logs in enumerate(resource_logs.scope_logs):
            for k, record in enumerate(scope_logs.log_records):
                at = f"$.resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"
                record.trace_id = _hex(record.trace_id, 16, f"{at}.traceId")
                record.span_id = _hex(record.span_id, 8, f"{at}.spanId")
                if isinstance(record.severity_number, str):
                    record.severity_number = _severity(record.severity_number, f"{at}.severityNumber")
    return request


def _hex(value: str, size: int, at: str) -> str:
    if not value:
        return value
    try:
        if len(bytes.fromhex(value)) == size:
            return value.lower()
    except ValueError:
        pass
    raise ValueError(f"{value[:64]!r} at {at} is not {size} bytes of hex")


def _severity(value: str, at: str) -> int:
    if value.isdigit():
        return int(value)
    try:
        return SeverityNumber.Value(value)
    except ValueError:
        raise ValueError(f"{value[:64]!r} at {at} is not a SeverityNumber") from None
