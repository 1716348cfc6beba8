"""The storability contract's bounds, derived from the column declarations (schemas/storable.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from schemas import envelope, storable
from schemas.clickhouse import HTTP_LOGS_COLUMNS, LOGS_COLUMNS
from schemas.dialects.native.arrow import Limits
from schemas.storable import HTTP_LOGS, LOGS, MAX_DEPTH, MAX_ENTRIES, Unstorable, bound_of, columns
from sluice.settings import Settings

UTC = timezone.utc


@pytest.mark.parametrize("declared, low, high", [
    ("UInt8", 0, 255),
    ("UInt16", 0, 65_535),
    ("UInt32", 0, 2**32 - 1),
    ("Nullable(UInt64)", 0, 2**64 - 1),
    ("Int8", -128, 127),
    ("Int64", -(2**63), 2**63 - 1),
    ("LowCardinality(Nullable(Int16))", -32_768, 32_767),
])
def test_integer_widths(declared, low, high):
    bound = bound_of("C", declared)
    assert (bound.kind, bound.low, bound.high) == ("int", low, high)
    assert bound.holds(low) and bound.holds(high) and not bound.holds(low - 1) and not bound.holds(high + 1)


def ns(*when: int) -> int:
    delta = datetime(*when, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def test_datetime64_ranges_follow_the_precision():
    # Nanoseconds: Int64 ticks end at 2262-04-11T23:47:16.854775807, before the engine's 2299.
    nine = bound_of("T", "DateTime64(9)")
    assert (nine.kind, nine.low, nine.high) == ("time", ns(1900, 1, 1), 2**63 - 1)
    assert nine.range == "1900-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z"
    # Milliseconds reach the engine's own end, 2299-12-31T23:59:59.999.
    three = bound_of("T", "DateTime64(3, 'UTC')")
    assert (three.low, three.high) == (ns(1900, 1, 1), ns(2299, 12, 31, 23, 59, 59, 999000))
    # DateTime: UInt32 seconds.
    assert bound_of("T", "DateTime").high == (2**32 - 1) * 10**9


def test_other_types_and_an_unknown_one():
    assert bound_of("IP", "IPv6").kind == "ip" and bound_of("IP", "IPv4").kind == "ip"
    assert bound_of("M", "Map(LowCardinality(String), String)").max_entries == MAX_ENTRIES
    assert bound_of("S", "LowCardinality(String)").kind == "string"
    assert bound_of("F", "Nullable(Float64)").kind == "float"
    with pytest.raises(ValueError, match="no storability rule for column A of type Array"):
        bound_of("A", "Array(String)")


def test_every_column_of_both_tables_has_a_bound():
    """A column type the contract has no rule for fails here, not in an insert."""
    assert columns(LOGS_COLUMNS).keys() == LOGS.keys() and len(LOGS) == 22
    assert columns(HTTP_LOGS_COLUMNS).keys() == HTTP_LOGS.keys() and len(HTTP_LOGS) == 32 and "idx_path" not in HTTP_LOGS
    assert str(LOGS["SeverityNumber"]) == "SeverityNumber (UInt8): 0 to 255"
    assert str(HTTP_LOGS["Bytes"]) == "Bytes (Nullable(UInt64)): 0 to 18446744073709551615"
    assert HTTP_LOGS["Status"].high == 65_535 and HTTP_LOGS["ClientIP"].kind == "ip"
    assert HTTP_LOGS["Timestamp"] == LOGS["Timestamp"] == storable.TIMESTAMP  # one event-time bound for both
    assert {LOGS[c].kind for c in ("ResourceAttributes", "ScopeAttributes", "LogAttributes")} == {"map"}
    assert HTTP_LOGS["QueryParams"].max_entries == MAX_ENTRIES


def test_the_envelope_and_the_settings_agree_with_the_contract():
    """Bounds spelled elsewhere (headers, settings defaults) are those derived here."""
    received = LOGS["ReceivedAt"]
    assert (envelope._MIN_NS, envelope._MAX_NS) == (received.low, received.high)
    settings = Settings()
    assert Limits() == Limits(settings.native_arrow_max_bytes, settings.native_arrow_max_rows)


@pytest.mark.parametrize("ts, fits", [
    (datetime(1900, 1, 1, tzinfo=UTC), True),
    (datetime(1900, 1, 1) - timedelta(microseconds=1), False),  # naive: UTC
    (datetime(1900, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), False),  # 1899-12-31T23:30Z
    (datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC), True),
    (datetime(2262, 4, 11, 23, 47, 16, 854776, tzinfo=UTC), False),
    (datetime(2262, 4, 11, 23, 47, 16, 854775), True),
    (datetime(2262, 4, 11, 23, 0, tzinfo=timezone(timedelta(hours=-1))), False),  # 2262-04-12T00:00Z
    (datetime(9999, 12, 31, tzinfo=UTC), False),
    (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), False),
])
def test_times_at_and_beyond_the_nanosecond_range(ts, fits):
    assert storable.time_fits(ts) is fits


@pytest.mark.parametrize("text, packed", [
    ("1.2.3.4", bytes(10) + b"\xff\xff\x01\x02\x03\x04"),
    ("::ffff:1.2.3.4", bytes(10) + b"\xff\xff\x01\x02\x03\x04"),
    ("2001:db8:1:2::3a", bytes.fromhex("20010db8" "00010002" "00000000" "0000003a")),
    ("::", bytes(16)),
])
def test_addresses_become_the_sixteen_bytes_of_the_column(text, packed):
    assert storable.ipv6_bytes(text) == packed


@pytest.mark.parametrize("text", ["fe80::1%eth0", "fe80::1%1", "1.2.3.4%eth0", "999.1.1.1", "", "localhost"])
def test_addresses_the_column_cannot_hold(text):
    with pytest.raises(ValueError):
        storable.ipv6_bytes(text)


def nested(depth: int) -> dict:
    """An object ``depth`` levels deep (the outermost is one)."""
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


@pytest.mark.parametrize("values, error", [
    ({f"k{i}": i for i in range(MAX_ENTRIES)}, None),
    ({f"k{i}": i for i in range(MAX_ENTRIES + 1)}, storable.TOO_MANY_ENTRIES),
    ({"a": {f"k{i}": i for i in range(MAX_ENTRIES)}}, None),  # nested keys count one each
    ({"a": {f"k{i}": i for i in range(MAX_ENTRIES)}, "b": 1}, storable.TOO_MANY_ENTRIES),
    ({"a": [{f"k{i}": i} for i in range(5 * MAX_ENTRIES)]}, None),  # an array is one entry, its JSON text
    ({f"k{i}": {} for i in range(MAX_ENTRIES + 1)}, storable.TOO_MANY_ENTRIES),  # an empty object is one
    (nested(MAX_DEPTH), None),
    (nested(MAX_DEPTH + 1), storable.TOO_DEEP),
    ({"a": [[[1]]]}, None),
    ({"a": [nested(MAX_DEPTH - 1)]}, storable.TOO_DEEP),  # arrays are levels too
    ({"a": [nested(MAX_DEPTH - 2)]}, None),
])
def test_attribute_counts_and_depths(values, error):
    if error is None:
        storable.check_tree(values)
    else:
        with pytest.raises(Unstorable) as info:
            storable.check_tree(values)
        assert info.value.code == error and str(MAX_ENTRIES if error == storable.TOO_MANY_ENTRIES else MAX_DEPTH) \
            in info.value.message


def test_reserved_entries_count_against_the_cap():
    values = {f"k{i}": i for i in range(MAX_ENTRIES)}
    storable.check_tree(values)
    with pytest.raises(Unstorable):
        storable.check_tree(values, reserved=1)
