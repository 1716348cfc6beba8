"""The values that were answered 2xx and then failed every insert: each is now refused where it
arrives, and the workers refuse the same values in records no gateway checked."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.envelope import Envelope, to_headers
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.storable import MAX_ENTRIES
from sluice import metrics
from tests.unit.test_gateway import make_gateway
from tests.unit.test_logflux import fast_cache, fast_entry
from tests.unit.test_profound import good
from workers.decrypt import Decryptor
from workers.records import Context, rows_of


@pytest.fixture
def gateway():
    client, (key,), publisher = make_gateway()
    return client, {"Authorization": f"Bearer {key}"}, {"X-API-KEY": key}, publisher


async def test_otlp_json_severity_300_is_a_400_naming_the_field_and_the_bound(gateway):
    client, bearer, _, publisher = gateway
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": 300, "body": {"stringValue": "x"}}]}]}]}
    r = await client.post("/v1/logs", json=body, headers=bearer)
    assert r.status_code == 400 and publisher.published == []
    error = r.json()["error"]
    assert error["code"] == "invalid_otlp"
    assert error["details"] == "$.resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber"
    assert "300 is outside SeverityNumber (UInt8): 0 to 255" in error["message"]


@pytest.mark.parametrize("field", ["time_unix_nano", "observed_time_unix_nano"])
async def test_otlp_protobuf_times_past_int64_are_a_400(gateway, field):
    client, bearer, _, publisher = gateway
    request = ExportLogsServiceRequest()
    setattr(request.resource_logs.add().scope_logs.add().log_records.add(), field, 2**63)
    r = await client.post("/v1/logs", content=request.SerializeToString(),
                          headers={**bearer, "Content-Type": "application/x-protobuf"})
    assert r.status_code == 400 and publisher.published == []
    assert r.json()["error"]["details"] == f"resource_logs[0].scope_logs[0].log_records[0].{field}"
    assert "2262-04-11T23:47:16.854775807Z" in r.json()["error"]["message"]


async def test_otlp_json_record_with_50000_attributes_is_a_400(gateway):
    client, bearer, _, publisher = gateway
    attributes = [{"key": f"k{i}", "value": {"stringValue": "v"}} for i in range(50_000)]
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": attributes}]}]}]}
    r = await client.post("/v1/logs", json=body, headers=bearer)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "too_many_attributes") and publisher.published == []


async def test_profound_address_with_a_zone_id_is_an_entry_error_and_not_published(gateway):
    client, _, api_key, publisher = gateway
    before = metrics.GATEWAY_ENTRIES_REJECTED.labels("profound", "ip")._value.get()
    r = await client.post("/v1/logs/custom", json=[good(ip="fe80::1%eth0"), good(ip="fe80::1")], headers=api_key)
    assert r.status_code == 200
    assert r.json()["errors"] == ["Invalid log format: entry 0: ip must be an IPv4 or IPv6 address without a zone "
                                  "id: the ClientIP column (IPv6) cannot store a zone id"]
    ((value, _),) = publisher.published
    assert [e.ip for e in decode(Format.PROFOUND_CUSTOM, value)[0].entries] == ["fe80::1"]
    assert metrics.GATEWAY_ENTRIES_REJECTED.labels("profound", "ip")._value.get() == before + 1


@pytest.mark.parametrize("change, error", [
    ({"bytes_sent": 2**64 - 1}, None),
    ({"bytes_sent": 2**64}, "bytes_sent must be within Bytes (Nullable(UInt64)): 0 to 18446744073709551615"),
    ({"query_params": {f"k{i}": "v" for i in range(MAX_ENTRIES)}}, None),
    ({"query_params": {f"k{i}": "v" for i in range(MAX_ENTRIES + 1)}},
     "query_params: More than 1000 query parameters in one entry (nested keys count one each)"),
    ({"timestamp": 10**400}, "timestamp out of reasonable range"),
])
async def test_profound_bounds_at_and_beyond(gateway, change, error):
    client, _, api_key, _ = gateway
    r = await client.post("/v1/logs/custom", json=[good(**change)], headers=api_key)
    assert r.status_code == 200
    assert r.json()["errors"] == ([] if error is None else [f"Invalid log format: entry 0: {error}"])


def headers(fmt: Format) -> list[tuple[str, bytes]]:
    return to_headers(Envelope(fmt.value, "acme", "req", 1_700_000_000 * 10**9))


def test_logstash_event_of_year_9999_is_refused_by_the_decoder():
    value = json.dumps([{"message": "ok"}, {"@timestamp": "9999-12-31T00:00:00Z", "message": "m"}]).encode()
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGSTASH_LINES, value)
    assert (info.value.code, info.value.details) == ("invalid_field", "$[1]['@timestamp']")
    # In the worker: the record is dead-lettered with the reason, not inserted.
    outcome = rows_of(value, headers(Format.LOGSTASH_LINES))
    assert outcome.rows == [] and [why.reason for _, why in outcome.rejected] == ["invalid_field"]


@pytest.mark.parametrize("fmt, value, reason", [
    (Format.NATIVE_RECORD, {"body": "b", "timestamp": "9999-01-01T00:00:00Z"}, "invalid_field"),
    (Format.NATIVE_BATCH, {"records": [{"body": "ok"}, {"body": "b", "attributes": {f"k{i}": i for i in range(1001)}}]},
     "too_many_attributes"),
    (Format.NATIVE_BATCH, {"records": [{"body": "b", "resource_attributes": {"a": json.loads("[" * 40 + "]" * 40)}}]},
     "nested_too_deeply"),
    # A Kafka-native producer may write the Profound format; no gateway judged it.
    (Format.PROFOUND_CUSTOM, {"visit_ids": ["v"], "entries": [good(ip="fe80::1%eth0")]}, "invalid_field"),
    (Format.PROFOUND_CUSTOM, {"visit_ids": ["v"], "entries": [good(timestamp="9999-01-01T00:00:00")]}, "invalid_field"),
])
def test_workers_dead_letter_records_no_gateway_checked(fmt, value, reason):
    raw = json.dumps(value).encode()
    outcome = rows_of(raw, headers(fmt))
    assert len(outcome.rows) == 0
    ((kept, why),) = outcome.rejected
    assert kept == raw and why.reason == reason and why.entry is None


def test_workers_refuse_one_logflux_entry_whose_decrypted_fields_are_too_many():
    secret = "s3cret"
    fields = {f"k{i}": i for i in range(MAX_ENTRIES + 1)}
    nested = "{" + '"a":{' * 40 + "}" * 41
    entries = [fast_entry(json.dumps({"message": "first"}), secret),
               fast_entry(json.dumps({"message": "too many", **fields}), secret),
               fast_entry(json.dumps({"message": "at the cap", **dict(list(fields.items())[:MAX_ENTRIES])}), secret),
               fast_entry(nested, secret)]
    value = json.dumps({"entries": entries}).encode()
    context = Context(decryptor=Decryptor(lambda tenant: [(1, secret.encode())], fast_cache()))
    outcome = rows_of(value, headers(Format.LOGFLUX_BATCH), context=context)
    assert outcome.rows.body == ["first", "at the cap"]
    assert [(why.reason, why.entry) for _, why in outcome.rejected] == [("too_many_attributes", 1),
                                                                        ("nested_too_deeply", 3)]
    assert "decrypted payload: More than 1000 fields" in outcome.rejected[0][1].detail
    # Each dead letter is its entry alone, replayable as a one-entry batch.
    assert json.loads(outcome.rejected[0][0]) == {"entries": [entries[1]]}
