"""Every dialect's decoder against the storability contract: each bound accepted at the bound and
rejected just beyond it, with the dialect's code and the field's path (schemas/formats.decode,
the gateway's decode path, and the workers')."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.storable import MAX_DEPTH, MAX_ENTRIES, TIMESTAMP

FIRST, LAST = "1900-01-01T00:00:00Z", "2262-04-11T23:47:16.854775Z"  # the microseconds a datetime can hold
BEFORE, AFTER = "1899-12-31T23:59:59.999999Z", "2262-04-11T23:47:16.854776Z"
OUT, DEEP, MANY = "invalid_field", "nested_too_deeply", "too_many_attributes"


def entries(n: int) -> dict[str, int]:
    return {f"k{i}": i for i in range(n)}


def nested(depth: int) -> dict:
    """An object ``depth`` levels deep, the outermost one."""
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


# (dialect field, value) -> (code, path) or None: the table shared by the JSON dialects.
def common(ts_field: str, attributes: str) -> list[tuple[str, Any, tuple[str, str] | None]]:
    return [
        (ts_field, FIRST, None), (ts_field, LAST, None),
        (ts_field, BEFORE, (OUT, ts_field)), (ts_field, AFTER, (OUT, ts_field)),
        (ts_field, "9999-12-31T00:00:00Z", (OUT, ts_field)),
        (attributes, entries(MAX_ENTRIES), None), (attributes, entries(MAX_ENTRIES + 1), (MANY, attributes)),
        (attributes, {"a": entries(MAX_ENTRIES)}, None), (attributes, {"a": entries(MAX_ENTRIES), "b": 1},
                                                          (MANY, attributes)),
        (attributes, nested(MAX_DEPTH), None), (attributes, nested(MAX_DEPTH + 1), (DEEP, attributes)),
    ]


def astralog(field: str, value: Any) -> bytes:
    entry = {"project_id": "p", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "service": "s",
             "message": "m", field: value}
    return json.dumps({"logs": [entry]}).encode()


def logtrace(field: str, value: Any) -> bytes:
    return json.dumps({"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": "m",
                                 field: value}]}).encode()


def loginformant(field: str, value: Any) -> bytes:
    return json.dumps({"logs": [{"level": "Error", "message": "m", field: value}]}).encode()


def native(field: str, value: Any) -> bytes:
    return json.dumps({"records": [{"body": "b", field: value}]}).encode()


def logstash(field: str, value: Any) -> bytes:
    event = {"message": "m", "level": "INFO", "service": "s", "host": "h", "@version": "1",
             "@timestamp": "2026-01-01T00:00:00Z"}
    if field == "fields":
        event.update(value)  # every other field of an event is an attribute
    else:
        event[field] = value
    return json.dumps([event]).encode()


CASES: list[tuple[Format, Callable[[str, Any], bytes], str, Any, tuple[str, str] | None]] = [
    *[(Format.ASTRALOG_DRAIN, astralog, f, v, e) for f, v, e in common("timestamp", "metadata")],
    *[(Format.LOGTRACE_INGEST, logtrace, f, v, e) for f, v, e in common("timestamp", "attributes")],
    *[(Format.LOGINFORMANT_BATCH, loginformant, f, v, e) for f, v, e in common("timestamp", "properties")],
    *[(Format.NATIVE_BATCH, native, f, v, e) for f, v, e in common("timestamp", "attributes")],
    *[(Format.NATIVE_BATCH, native, f, v, e) for f, v, e in common("timestamp", "resource_attributes")[5:]],
    (Format.NATIVE_BATCH, native, "trace_flags", 255, None),
    (Format.NATIVE_BATCH, native, "trace_flags", 256, (OUT, "trace_flags")),
    (Format.NATIVE_BATCH, native, "severity_number", 24, None),
    (Format.NATIVE_BATCH, native, "severity_number", 25, (OUT, "severity_number")),
    *[(Format.LOGSTASH_LINES, logstash, "@timestamp", v, e and (OUT, "['@timestamp']"))
      for _, v, e in common("@timestamp", "")[:5]],
    (Format.LOGSTASH_LINES, logstash, "fields", entries(MAX_ENTRIES), None),
    (Format.LOGSTASH_LINES, logstash, "fields", entries(MAX_ENTRIES + 1), (MANY, "$[0]")),
    (Format.LOGSTASH_LINES, logstash, "fields", {"extra": nested(MAX_DEPTH - 1)}, None),
    (Format.LOGSTASH_LINES, logstash, "fields", {"extra": nested(MAX_DEPTH)}, (DEEP, "$[0]")),
    (Format.LOGSTASH_LINES, logstash, "@timestamp", "not a time", None),  # unreadable: the receive time
]


@pytest.mark.parametrize("fmt, body, field, value, error", CASES,
                         ids=[f"{c[0].dialect}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_json_dialects_at_and_beyond_every_bound(fmt, body, field, value, error):
    if error is None:
        assert decode(fmt, body(field, value))
        return
    with pytest.raises(InvalidBody) as info:
        decode(fmt, body(field, value))
    code, where = error
    assert info.value.code == code, info.value.message
    assert where in info.value.details and f"at `{info.value.details}`" in info.value.message
    if code == OUT and "timestamp" in field:
        assert str(TIMESTAMP) in info.value.message  # the bound, in words
    assert info.value.status == 400


def test_loginformant_counts_the_exception_among_the_attributes():
    body = json.dumps({"level": "Error", "message": "m", "properties": entries(MAX_ENTRIES), "exception": "e"})
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGINFORMANT_SINGLE, body.encode())
    assert (info.value.code, info.value.details) == (MANY, "$.properties")
    assert decode(Format.LOGINFORMANT_SINGLE, json.dumps({"level": "Error", "message": "m", "exception": "e",
                                                          "properties": entries(MAX_ENTRIES - 1)}).encode())


@pytest.mark.parametrize("fmt", [Format.LOGFLUX_SINGLE, Format.LOGFLUX_BATCH])
@pytest.mark.parametrize("timestamp, ok", [(FIRST, True), (LAST, True), ("2262-04-11T23:47:16.854775+00:00", True),
                                           (BEFORE, False), (AFTER, False), ("1900-01-01T00:30:00+01:00", False)])
def test_logflux_timestamps_at_and_beyond_the_bound(fmt, timestamp, ok):
    entry = {"node": "n", "payload": base64.b64encode(bytes(16)).decode(), "loglevel": 7, "timestamp": timestamp,
             "encryption_mode": 1, "iv": base64.b64encode(bytes(12)).decode(),
             "salt": base64.b64encode(bytes(32)).decode()}
    body = json.dumps({"entries": [entry]} if fmt is Format.LOGFLUX_BATCH else entry).encode()
    if ok:
        assert decode(fmt, body)
        return
    with pytest.raises(InvalidBody) as info:
        decode(fmt, body)
    path = "$.entries[0].timestamp" if fmt is Format.LOGFLUX_BATCH else "$.timestamp"
    assert (info.value.code, info.value.details) == ("INVALID_TIMESTAMP", path)
    assert "2262-04-11T23:47:16.854775807Z" in info.value.message


# --- OTLP -------------------------------------------------------------------

RECORD = "$.resourceLogs[0].scopeLogs[0].logRecords[0]"


def kv(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


def kvlist(depth: int) -> dict:
    """An AnyValue of ``depth`` nested key-value lists."""
    value: dict = {"intValue": "1"}
    for _ in range(depth):
        value = {"kvlistValue": {"values": [kv("n", value)]}}
    return value


def otlp_json(record: dict | None = None, resource: list | None = None, scope: list | None = None) -> bytes:
    return json.dumps({"resourceLogs": [{"resource": {"attributes": resource or []}, "scopeLogs": [
        {"scope": {"attributes": scope or []}, "logRecords": [{"body": {"stringValue": "x"}, **(record or {})}]}]}]
    }).encode()


def many(n: int) -> list[dict]:
    return [kv(f"k{i}", {"intValue": str(i)}) for i in range(n)]


OTLP_CASES = [
    ({"timeUnixNano": str(2**63 - 1)}, None), ({"timeUnixNano": str(2**63)}, ("invalid_otlp", ".timeUnixNano")),
    ({"timeUnixNano": str(TIMESTAMP.low)}, None),
    ({"timeUnixNano": str(TIMESTAMP.low - 1)}, ("invalid_otlp", ".timeUnixNano")),
    ({"observedTimeUnixNano": str(2**63 - 1)}, None),
    ({"observedTimeUnixNano": str(2**64 - 1)}, ("invalid_otlp", ".observedTimeUnixNano")),
    ({"severityNumber": 255}, None), ({"severityNumber": 256}, ("invalid_otlp", ".severityNumber")),
    ({"severityNumber": 300}, ("invalid_otlp", ".severityNumber")),
    ({"severityNumber": -1}, ("invalid_otlp", ".severityNumber")),
    ({"attributes": many(MAX_ENTRIES)}, None), ({"attributes": many(MAX_ENTRIES + 1)}, (MANY, ".attributes")),
    ({"attributes": [kv("a", {"kvlistValue": {"values": many(MAX_ENTRIES)}})]}, None),
    ({"attributes": [kv("a", {"kvlistValue": {"values": many(MAX_ENTRIES)}}), kv("b", {})]}, (MANY, ".attributes")),
    ({"attributes": [kv("a", {"arrayValue": {"values": [{"intValue": "1"}] * 5000}})]}, None),
    ({"attributes": [kv("a", kvlist(MAX_DEPTH - 1))]}, None),
    ({"attributes": [kv("a", kvlist(MAX_DEPTH))]}, (DEEP, ".attributes")),
    ({"body": kvlist(MAX_DEPTH)}, None), ({"body": kvlist(MAX_DEPTH + 1)}, (DEEP, ".body")),
]


@pytest.mark.parametrize("record, error", OTLP_CASES)
def test_otlp_json_records_at_and_beyond_every_bound(record, error):
    body = otlp_json(record)
    if error is None:
        assert decode(Format.OTLP_JSON, body)
        return
    with pytest.raises(InvalidBody) as info:
        decode(Format.OTLP_JSON, body)
    assert (info.value.code, info.value.details) == (error[0], RECORD + error[1])
    assert info.value.details in info.value.message


@pytest.mark.parametrize("where", ["resource", "scope"])
def test_otlp_resource_and_scope_attributes_are_capped_too(where):
    assert decode(Format.OTLP_JSON, otlp_json(**{where: many(MAX_ENTRIES)}))
    with pytest.raises(InvalidBody) as info:
        decode(Format.OTLP_JSON, otlp_json(**{where: many(MAX_ENTRIES + 1)}))
    path = "$.resourceLogs[0].resource.attributes" if where == "resource" else \
        "$.resourceLogs[0].scopeLogs[0].scope.attributes"
    assert (info.value.code, info.value.details) == (MANY, path)


def protobuf(**fields: int) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = "x"
    for name, value in fields.items():
        setattr(record, name, value)
    return request


@pytest.mark.parametrize("fields, error", [
    ({"time_unix_nano": 2**63 - 1}, None), ({"time_unix_nano": 2**63}, ".time_unix_nano"),
    ({"time_unix_nano": 2**64 - 1}, ".time_unix_nano"),
    ({"observed_time_unix_nano": 2**63 - 1}, None), ({"observed_time_unix_nano": 2**63}, ".observed_time_unix_nano"),
    ({"severity_number": 255}, None), ({"severity_number": 256}, ".severity_number"),
    ({"severity_number": -5}, ".severity_number"),
])
def test_otlp_protobuf_records_at_and_beyond_every_bound(fields, error):
    body = protobuf(**fields).SerializeToString()
    if error is None:
        assert decode(Format.OTLP_PROTOBUF, body)
        return
    with pytest.raises(InvalidBody) as info:
        decode(Format.OTLP_PROTOBUF, body)
    assert (info.value.code, info.value.details) == ("invalid_otlp", "resource_logs[0].scope_logs[0].log_records[0]"
                                                     + error)


def test_otlp_protobuf_attributes_flatten_within_the_cap():
    request = protobuf()
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    nested_list = record.attributes.add(key="a").value.kvlist_value
    for i in range(MAX_ENTRIES):
        nested_list.values.add(key=f"k{i}").value.int_value = i
    assert decode(Format.OTLP_PROTOBUF, request.SerializeToString())
    record.attributes.add(key="b").value.bool_value = True
    with pytest.raises(InvalidBody) as info:
        decode(Format.OTLP_PROTOBUF, request.SerializeToString())
    assert (info.value.code, info.value.details) == (MANY, "resource_logs[0].scope_logs[0].log_records[0].attributes")
