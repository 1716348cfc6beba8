from datetime import datetime, timedelta, timezone

from schemas.envelope import Envelope, from_headers, to_headers
from schemas.dialects import decode
from schemas.formats import Format
from tests.rows import log_rows
from schemas.rows.normalize import flatten, to_ns
from workers.records import entries_rows as normalize
from workers.records import Rejected, rows_of
from schemas.severity import severity_number

ENV = Envelope(Format.ASTRALOG_DRAIN.value, "acme", "req_1", 1_700_000_000_123_456_789)


def test_severity_numbers_follow_otel_ranges():
    assert severity_number("DEBUG") == 5
    assert severity_number("info") == severity_number("Information") == 9
    assert severity_number("Warning") == severity_number("warn") == 13
    assert severity_number("ERROR") == 17
    assert severity_number("Fatal") == 21
    assert severity_number("whatever") == 0


def test_to_ns_treats_naive_as_utc_and_converts_offsets():
    assert to_ns(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000_000
    plus3 = timezone(timedelta(hours=3))
    assert to_ns(datetime(1970, 1, 1, 3, 0, 0, 5, tzinfo=plus3)) == 5_000


def test_flatten_keeps_types_as_json_text():
    assert flatten({"s": "x", "n": 42, "f": 1.5, "b": True, "z": None, "l": [1, "a"], "o": {"k": {"j": 1}}, "e": {}}) == {
        "s": "x", "n": "42", "f": "1.5", "b": "true", "z": "null", "l": '[1,"a"]', "o.k.j": "1", "e": "{}",
    }


def test_astralog_row():
    body = b'{"logs": [{"project_id": "org-xyz", "timestamp": "2024-05-31T15:30:45Z", "level": "info", "service": "api-gateway", "message": "User logged in", "metadata": {"user_id": 123, "ip": "1.1.1.1"}}]}'
    (row,) = log_rows(normalize(Format.ASTRALOG_DRAIN, decode(Format.ASTRALOG_DRAIN, body), ENV))
    assert row.tenant == "acme" and row.source == "astralog" and row.request_id == "req_1"
    assert row.timestamp_ns == to_ns(datetime(2024, 5, 31, 15, 30, 45, tzinfo=timezone.utc))
    assert (row.severity_text, row.severity_number) == ("info", 9)
    assert row.service == "api-gateway" and row.body == "User logged in"
    assert row.resource_attributes == {"project_id": "org-xyz"}
    assert row.log_attributes == {"user_id": "123", "ip": "1.1.1.1"}


def test_logtrace_row_carries_trace_context():
    body = b'{"logs": [{"timestamp": "2024-03-15T10:22:01Z", "level": "ERROR", "message": "Connection timeout", "service": "payment-gateway", "trace_id": "abc", "host": "h1"}]}'
    (row,) = log_rows(normalize(Format.LOGTRACE_INGEST, decode(Format.LOGTRACE_INGEST, body), ENV))
    assert (row.severity_number, row.service, row.trace_id) == (17, "payment-gateway", "abc")
    assert row.resource_attributes == {"host.name": "h1"}


def test_logtrace_missing_timestamp_is_receive_time():
    body = b'{"logs": [{"level": "INFO", "message": "no clock"}, {"timestamp": "2024-03-15T10:22:01Z", "level": "INFO", "message": "m"}]}'
    first, second = log_rows(normalize(Format.LOGTRACE_INGEST, decode(Format.LOGTRACE_INGEST, body), ENV))
    assert first.timestamp_ns == ENV.received_ns and first.body == "no clock"
    assert second.timestamp_ns == to_ns(datetime(2024, 3, 15, 10, 22, 1, tzinfo=timezone.utc))


def test_loginformant_missing_timestamp_is_receive_time_and_exception_kept():
    body = b'{"level": "Warning", "message": "Cache miss", "source": "CacheService", "exception": "NullReferenceException: x", "properties": {"userId": 42, "gone": null}}'
    (row,) = log_rows(normalize(Format.LOGINFORMANT_SINGLE, decode(Format.LOGINFORMANT_SINGLE, body), ENV))
    assert row.timestamp_ns == ENV.received_ns
    assert row.service == "CacheService" and row.severity_number == 13
    assert row.log_attributes == {"userId": "42", "gone": "null", "exception.stacktrace": "NullReferenceException: x"}


def test_normalize_is_deterministic():
    body = b'{"logs": [{"level": "Error", "message": "m"}]}'
    entries = decode(Format.LOGINFORMANT_BATCH, body)
    assert normalize(Format.LOGINFORMANT_BATCH, entries, ENV).table.equals(normalize(Format.LOGINFORMANT_BATCH, entries, ENV).table)


def test_envelope_round_trips_through_headers():
    assert from_headers(to_headers(ENV)) == ENV


def test_rows_of_rejects_with_reasons():
    headers = to_headers(ENV)
    empty = rows_of(b'{"logs": []}', headers)
    assert (len(empty.rows), empty.rejected, empty.divert_for) == (0, [], None)
    assert rows_of(b"{", headers).rejected[0][1].reason == "malformed_json"
    assert rows_of(b"{}", [h for h in headers if h[0] != "sluice-tenant"]).rejected[0][1].reason == "bad_envelope"
    bad_format = [("sluice-format", b"nope.v9")] + headers[1:]
    assert rows_of(b"{}", bad_format).rejected == [(b"{}", Rejected("unknown_format", "unknown format 'nope.v9'"))]
