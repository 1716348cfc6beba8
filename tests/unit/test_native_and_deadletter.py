import pytest

from schemas.envelope import Envelope, to_headers
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.dialects.native.wire import JSON_DIR, json_schemas, render
from workers.deadletter import DeadLetter, dlq_headers
from tests.rows import log_rows
from workers.records import MAPPINGS, Context, rows_of
from workers.records import entries_rows as normalize

ENV = Envelope(Format.NATIVE_RECORD.value, "acme", "", 1_800_000_000_000_000_000)


def test_checked_in_json_schemas_match_the_code():
    for name, schema in json_schemas().items():
        path = JSON_DIR / name
        assert path.exists(), f"{path} missing: run python -m schemas.dialects.native"
        assert path.read_text() == render(schema), f"{path} is stale: run python -m schemas.dialects.native"


def test_native_record_maps_onto_otel_columns():
    body = b"""{"body": "payment failed", "timestamp": "2026-11-23T10:00:00Z", "severity_text": "WARN",
      "service_name": "billing", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
      "trace_flags": 1, "scope_name": "billing.http", "scope_version": "1.2",
      "resource_attributes": {"host": {"name": "h1"}}, "attributes": {"order": {"id": 7}, "retry": false},
      "field_from_the_future": 1}"""
    (row,) = log_rows(normalize(Format.NATIVE_RECORD, decode(Format.NATIVE_RECORD, body), ENV))
    assert (row.source, row.body, row.severity_number, row.service) == ("native", "payment failed", 13, "billing")
    assert (row.trace_flags, row.scope_name, row.scope_version) == (1, "billing.http", "1.2")
    assert row.resource_attributes == {"host.name": "h1"}
    assert row.log_attributes == {"order.id": "7", "retry": "false"}


def test_native_defaults_explicit_severity_and_kafka_time():
    body = b'{"records": [{"body": "a", "severity_number": 17}, {"body": "b"}]}'
    rows = log_rows(normalize(Format.NATIVE_BATCH, decode(Format.NATIVE_BATCH, body), ENV))
    assert [(r.severity_number, r.timestamp_ns) for r in rows] == [(17, ENV.received_ns), (0, ENV.received_ns)]


def test_native_validation_names_the_record():
    with pytest.raises(InvalidBody, match=r"\$\.records\[1\]"):
        decode(Format.NATIVE_BATCH, b'{"records": [{"body": "a"}, {"severity_text": "x"}]}')
    with pytest.raises(InvalidBody, match="severity_number"):
        decode(Format.NATIVE_RECORD, b'{"body": "a", "severity_number": 25}')


def test_native_record_without_received_header_uses_the_kafka_timestamp():
    headers = [("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"acme")]
    rows, rejected, _ = rows_of(b'{"body": "x"}', headers, timestamp_ns=123_000_000)
    (row,) = log_rows(rows)
    assert (row.received_ns, row.timestamp_ns, row.tenant, rejected) == (123_000_000, 123_000_000, "acme", [])
    rows, [(_, why)], _ = rows_of(b'{"body": "x"}', headers)
    assert (rows, why.reason) == ([], "bad_envelope")  # no fallback: the header is required


@pytest.mark.parametrize("headers, value, reason", [
    ([("sluice-format", b"sluice.record.v1")], b'{"body": "x"}', "bad_envelope"),
    ([("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"acme"), ("content-type", b"text/csv")],
     b'{"body": "x"}', "bad_envelope"),
    ([("sluice-format", b"sluice.record.v7"), ("sluice-tenant", b"acme")], b'{"body": "x"}', "unknown_format"),
    ([("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"ghost")], b'{"body": "x"}', "unknown_tenant"),
    ([("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"acme")], b'{"body": 1}', "invalid_field"),
    ([("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"acme")], b'\xff\xfe', "malformed_json"),
    ([("sluice-format", b"sluice.record.v1"), ("sluice-tenant", b"acme")], None, "empty_value"),
])
def test_every_unstorable_kind_has_a_reason(headers, value, reason):
    rows, [(kept, why)], _ = rows_of(value, headers, timestamp_ns=1, context=Context(tenant_known=lambda t: t == "acme"))
    assert rows == [] and kept == value and why.reason == reason and why.detail


def test_dead_letter_headers_keep_the_originals_and_say_why():
    original = to_headers(ENV) + [("sluice-dlq-reason", b"old")]
    letter = DeadLetter("sluice-records", 3, 42, b"k", b"v", original, "unknown_tenant", "no tenant named 'x'")
    headers = dict(dlq_headers(letter, now=0))
    assert headers["sluice-tenant"] == b"acme" and headers["sluice-format"] == ENV.format.encode()
    assert headers["sluice-dlq-reason"] == b"unknown_tenant"
    assert (headers["sluice-dlq-topic"], headers["sluice-dlq-partition"], headers["sluice-dlq-offset"]) == (
        b"sluice-records", b"3", b"42")
    assert headers["sluice-dlq-time"] == b"1970-01-01T00:00:00+00:00"
    assert [k for k, _ in dlq_headers(letter)].count("sluice-dlq-reason") == 1


def test_a_record_no_normalizer_foresaw_is_dead_lettered_not_fatal(monkeypatch):
    # A native producer can write the Profound format without the gateway's checks: the
    # worker checks them again, and a failure no check foresaw is dead-lettered, not fatal.
    headers = [("sluice-format", b"profound.custom.v1"), ("sluice-tenant", b"acme")]
    value = b'{"visit_ids": ["v1"], "entries": [{"timestamp": "not a time", "method": "GET", "host": "h", ' \
            b'"path": "/", "status_code": 200, "ip": "1.2.3.4", "user_agent": "ua"}]}'
    rows, [(kept, why)], _ = rows_of(value, headers, timestamp_ns=1)
    assert rows == [] and kept == value
    assert why.reason == "invalid_field" and "timestamp" in why.detail
    fine = value.replace(b'"not a time"', b'"2026-01-01T00:00:00Z"')

    def unforeseen(entries, envelope):
        raise KeyError("a case nobody foresaw")

    monkeypatch.setitem(MAPPINGS, "profound",
                        lambda fmt, entries, envelope, value, context: unforeseen(entries, envelope))
    rows, [(kept, why)], _ = rows_of(fine, headers, timestamp_ns=1)
    assert rows == [] and kept == fine
    assert why.reason == "normalize_failed" and "KeyError" in why.detail