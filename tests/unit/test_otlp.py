import base64
import json

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.dialects.otlp.wire import record_count
from tests.unit.test_gateway import make_gateway
from tests.rows import log_rows
from schemas.dialects.otlp.columns import REQUEST
from schemas.rows.nested import nested_rows

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def request() -> ExportLogsServiceRequest:
    r = ExportLogsServiceRequest()
    rl = r.resource_logs.add()
    for key, value in (("service.name", "checkout"), ("host.name", "h1")):
        a = rl.resource.attributes.add()
        a.key, a.value.string_value = key, value
    sl = rl.scope_logs.add()
    sl.scope.name, sl.scope.version = "checkout.http", "1.4.0"
    sa = sl.scope.attributes.add()
    sa.key, sa.value.bool_value = "sampled", True
    lr = sl.log_records.add()
    lr.time_unix_nano, lr.severity_number, lr.severity_text = 1_700_000_000_123_456_789, 17, "ERROR"
    lr.body.string_value = "payment failed"
    lr.trace_id, lr.span_id, lr.flags = bytes.fromhex(TRACE), bytes.fromhex(SPAN), 1
    attr = lr.attributes.add()
    attr.key = "order"
    kv = attr.value.kvlist_value.values.add()
    kv.key, kv.value.int_value = "id", 42
    second = sl.log_records.add()
    second.observed_time_unix_nano, second.severity_text = 1_700_000_001_000_000_000, "warn"
    second.body.kvlist_value.values.add(key="msg").value.string_value = "structured"
    return r


OTLP_JSON = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
             "scopeLogs": [{"scope": {"name": "s"}, "logRecords": [
                 {"timeUnixNano": "1700000000000000000", "severityNumber": 9, "severityText": "INFO",
                  "body": {"stringValue": "hello"}, "traceId": TRACE, "spanId": SPAN}]}]}]}


def test_protobuf_records_map_onto_otel_columns():
    (parsed,) = decode(Format.OTLP_PROTOBUF, request().SerializeToString())
    first, second = log_rows(nested_rows(REQUEST, [parsed], Envelope("otlp.logs.v1.protobuf", "acme", "r", 5)))
    assert (first.timestamp_ns, first.severity_number, first.severity_text) == (1_700_000_000_123_456_789, 17, "ERROR")
    assert (first.service, first.body, first.trace_id, first.span_id, first.trace_flags) == (
        "checkout", "payment failed", TRACE, SPAN, 1)
    assert first.resource_attributes == {"service.name": "checkout", "host.name": "h1"}
    assert (first.scope_name, first.scope_version, first.scope_attributes) == ("checkout.http", "1.4.0", {"sampled": "true"})
    assert first.log_attributes == {"order.id": "42"} and first.source == "otlp"
    assert (second.timestamp_ns, second.severity_number, second.body) == (1_700_000_001_000_000_000, 13, '{"msg":"structured"}')


def as_otlp_json(message: ExportLogsServiceRequest) -> bytes:
    """What an OTLP/JSON exporter sends: protobuf's JSON mapping (int64 as strings, enum names) with hex ids."""
    document = json_format.MessageToDict(message)
    for resource_logs in document.get("resourceLogs", []):
        for scope_logs in resource_logs.get("scopeLogs", []):
            for record in scope_logs.get("logRecords", []):
                for field in ("traceId", "spanId"):
                    if field in record:
                        record[field] = base64.b64decode(record[field]).hex().upper()  # case is free in hex
    return json.dumps(document).encode()


def every_kind_of_value() -> ExportLogsServiceRequest:
    r = request()
    record = r.resource_logs[0].scope_logs[0].log_records[0]
    for key, setter in (("d", lambda v: setattr(v, "double_value", 2.5)), ("b", lambda v: setattr(v, "bytes_value", b"\x00\xff")),
                        ("t", lambda v: setattr(v, "bool_value", False)), ("i", lambda v: setattr(v, "int_value", -7)),
                        ("empty", lambda v: None)):
        a = record.attributes.add()
        a.key = key
        setter(a.value)
    listed = record.attributes.add()
    listed.key = "list"
    listed.value.array_value.values.add().string_value = "x"
    listed.value.array_value.values.add().int_value = 3
    r.resource_logs.add().scope_logs.add().log_records.add().body.array_value.values.add().double_value = 1.0
    return r


@pytest.mark.parametrize("message", [request(), every_kind_of_value()], ids=["request", "every-kind"])
def test_json_and_protobuf_of_one_request_give_the_same_rows(message):
    env = Envelope("otlp", "acme", "r", 5)
    (from_proto,) = decode(Format.OTLP_PROTOBUF, message.SerializeToString())
    (from_json,) = decode(Format.OTLP_JSON, as_otlp_json(message))
    assert record_count(from_json) == record_count(from_proto) > 0
    assert log_rows(nested_rows(REQUEST, [from_json], env)) == log_rows(nested_rows(REQUEST, [from_proto], env))


def test_json_uses_hex_ids():
    (parsed,) = decode(Format.OTLP_JSON, json.dumps(OTLP_JSON).encode())
    (row,) = log_rows(nested_rows(REQUEST, [parsed], Envelope("otlp.logs.v1.json", "acme", "r", 5)))
    assert (row.trace_id, row.span_id, row.service, row.body) == (TRACE, SPAN, "api", "hello")


def one_record(**fields) -> bytes:
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [fields]}]}]}).encode()


@pytest.mark.parametrize("fmt, body, says", [
    (Format.OTLP_PROTOBUF, b"\xff\xff\xff", "ExportLogsServiceRequest"),
    (Format.OTLP_JSON, b"[1]", "Expected `object`"),
    (Format.OTLP_JSON, b"{\"resourceLogs\": 5}", "$.resourceLogs"),
    (Format.OTLP_JSON, one_record(traceId="zz"), "$.resourceLogs[0].scopeLogs[0].logRecords[0].traceId"),
    (Format.OTLP_JSON, one_record(traceId="abcd"), "is not 16 bytes of hex"),
    (Format.OTLP_JSON, one_record(spanId=TRACE), "logRecords[0].spanId"),
    (Format.OTLP_JSON, one_record(severityNumber="LOUD"), "is not a SeverityNumber"),
    (Format.OTLP_JSON, one_record(timeUnixNano="yesterday"), "timeUnixNano"),
    (Format.OTLP_JSON, one_record(body={"intValue": {"n": 1}}), "body.intValue"),
])
def test_bad_otlp_bodies(fmt, body, says):
    with pytest.raises(InvalidBody) as info:
        decode(fmt, body)
    assert info.value.code == "invalid_otlp" and says in info.value.message


def test_json_ignores_unknown_fields_and_takes_numbers_as_strings_or_names():
    (parsed,) = decode(Format.OTLP_JSON, one_record(timeUnixNano="17", severityNumber="SEVERITY_NUMBER_WARN",
                                                    futureField={"x": 1}, body={"intValue": "42"}))
    (row,) = log_rows(nested_rows(REQUEST, [parsed], Envelope("otlp", "acme", "r", 5)))
    assert (row.timestamp_ns, row.severity_number, row.body) == (17, 13, "42")


async def test_otlp_endpoint_answers_in_the_request_encoding():
    client, (key,), publisher = make_gateway()
    r = await client.post("/v1/logs", content=request().SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
    ExportLogsServiceResponse().ParseFromString(r.content)
    r = await client.post("/v1/logs", json=OTLP_JSON, headers={"X-API-Key": key})
    assert (r.status_code, r.json()) == (200, {})
    assert [env.format for _, env in publisher.published] == ["otlp.logs.v1.protobuf", "otlp.logs.v1.json"]
    r = await client.post("/v1/logs", content=b"x", headers={"Content-Type": "text/plain", "X-API-Key": key})
    assert r.status_code == 415
    r = await client.post("/v1/logs", content=b"\xff\xff", headers={"Content-Type": "application/x-protobuf",
                                                                     "X-API-Key": key})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_otlp")
    assert (await client.post("/v1/logs", json=OTLP_JSON)).status_code == 401


def test_logstash_events_map_onto_the_row():
    from schemas.dialects.logstash.columns import EVENT
    from schemas.rows.free_form import free_form_rows

    events = [{"@timestamp": "2026-11-23T10:00:00Z", "@version": "1", "message": "m", "level": "INFO",
               "logger_name": "app", "service": "billing", "host": "h1", "extra": {"k": 1}, "sluice_token": "x"},
              {"message": "no time", "host": {"hostname": "h2"}}]
    decoded = decode(Format.LOGSTASH_LINES, json.dumps(events).encode())
    first, second = log_rows(free_form_rows(EVENT, decoded, Envelope("logstash.lines.v1", "acme", "r", 99)))
    assert (first.body, first.severity_number, first.scope_name, first.service) == ("m", 9, "app", "billing")
    assert first.resource_attributes == {"host.name": "h1"} and first.log_attributes == {"extra.k": "1"}
    assert (second.timestamp_ns, second.resource_attributes) == (99, {"host.name": "h2"})
