import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from schemas.envelope import Envelope
from schemas.formats import Format, InvalidBody, decode
from tests.unit.test_gateway import make_gateway
from workers.otlp import normalize_otlp

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
    first, second = normalize_otlp([parsed], Envelope("otlp.logs.v1.protobuf", "acme", "r", 5))
    assert (first.timestamp_ns, first.severity_number, first.severity_text) == (1_700_000_000_123_456_789, 17, "ERROR")
    assert (first.service, first.body, first.trace_id, first.span_id, first.trace_flags) == (
        "checkout", "payment failed", TRACE, SPAN, 1)
    assert first.resource_attributes == {"service.name": "checkout", "host.name": "h1"}
    assert (first.scope_name, first.scope_version, first.scope_attributes) == ("checkout.http", "1.4.0", {"sampled": "true"})
    assert first.log_attributes == {"order.id": "42"} and first.source == "otlp"
    assert (second.timestamp_ns, second.severity_number, second.body) == (1_700_000_001_000_000_000, 13, '{"msg":"structured"}')


def test_json_uses_hex_ids():
    (parsed,) = decode(Format.OTLP_JSON, json.dumps(OTLP_JSON).encode())
    (row,) = normalize_otlp([parsed], Envelope("otlp.logs.v1.json", "acme", "r", 5))
    assert (row.trace_id, row.span_id, row.service, row.body) == (TRACE, SPAN, "api", "hello")


@pytest.mark.parametrize("fmt, body", [
    (Format.OTLP_PROTOBUF, b"\xff\xff\xff"), (Format.OTLP_JSON, b"[1]"), (Format.OTLP_JSON, b"{\"resourceLogs\": 5}"),
    (Format.OTLP_JSON, json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}).encode()),
])
def test_bad_otlp_bodies(fmt, body):
    with pytest.raises(InvalidBody) as info:
        decode(fmt, body)
    assert info.value.code == "invalid_otlp"


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
    from workers.logstash import normalize_logstash

    events = [{"@timestamp": "2026-11-23T10:00:00Z", "@version": "1", "message": "m", "level": "INFO",
               "logger_name": "app", "service": "billing", "host": "h1", "extra": {"k": 1}, "sluice_token": "x"},
              {"message": "no time", "host": {"hostname": "h2"}}]
    first, second = normalize_logstash([events], Envelope("logstash.lines.v1", "acme", "r", 99))
    assert (first.body, first.severity_number, first.scope_name, first.service) == ("m", 9, "app", "billing")
    assert first.resource_attributes == {"host.name": "h1"} and first.log_attributes == {"extra.k": "1"}
    assert (second.timestamp_ns, second.resource_attributes) == (99, {"host.name": "h2"})
