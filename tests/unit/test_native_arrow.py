"""The columnar native format: the contract's casts and rejections, and rows equal to the JSON path's."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from schemas import storable
from schemas.dialects.native import arrow_size
from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.dialects.native.arrow import ATTRIBUTES, RECORD_SCHEMA, Limits, encode, read
from schemas.rows.arrow import LOGS_SCHEMA
from schemas.rows.columnar import ArrowRows, IsoTimes, LogColumns, NsTimes, SameKeys, same_keys, to_table
from workers.records import entries_rows as normalize
from workers.records import rows_of

ROOT = Path(__file__).resolve().parents[2]
ENV = Envelope(Format.NATIVE_ARROW.value, "acme", "req_1", 1_800_000_000_000_000_000, "staging")
HEADERS = [("sluice-format", b"sluice.arrow.v1"), ("sluice-tenant", b"acme"),
           ("sluice-environment", b"staging"), ("sluice-request-id", b"req_1"),
           ("sluice-received-at", str(ENV.received_ns).encode()),
           ("content-type", b"application/vnd.apache.arrow.stream")]

RECORDS = [
    {"body": "payment failed", "timestamp": "2026-11-23T10:00:00.25Z", "severity_text": "WARN",
     "service_name": "billing", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
     "trace_flags": 1, "scope_name": "billing.http", "scope_version": "1.2",
     "resource_attributes": {"host.name": "h1"}, "attributes": {"order.id": "7"}},
    {"body": "no time, explicit number", "severity_number": 17},
    {"body": "unknown level", "severity_text": "chatty", "attributes": {}},
]


def as_columns(records: list[dict]) -> pa.Table:
    """The records as a producer would write them: only the columns they use, attributes as maps."""
    names = [f.name for f in RECORD_SCHEMA if any(f.name in r for r in records)]
    columns = {}
    for name in names:
        values = [r.get(name) for r in records]
        if name == "timestamp":
            values = [None if v is None else datetime.fromisoformat(v) for v in values]
        if name.endswith("attributes"):
            values = [None if v is None else list(v.items()) for v in values]
        columns[name] = pa.array(values, RECORD_SCHEMA.field(name).type)
    return pa.table(columns)


def test_columnar_rows_equal_the_json_rows_of_the_same_records():
    """One contract, two encodings: the same records give the same logs rows."""
    env_json = ENV._replace(format=Format.NATIVE_BATCH.value)
    from_json = normalize(Format.NATIVE_BATCH, decode(Format.NATIVE_BATCH, json.dumps({"records": RECORDS}).encode()),
                          env_json).table
    outcome = rows_of(encode(as_columns(RECORDS)), HEADERS)
    assert outcome.rejected == [] and isinstance(outcome.rows, ArrowRows) and len(outcome.rows) == 3
    assert outcome.rows.table.schema.equals(LOGS_SCHEMA)
    assert outcome.rows.table.to_pylist() == from_json.to_pylist()


def test_numbers_are_derived_and_defaults_filled():
    (table,) = decode(Format.NATIVE_ARROW, encode(as_columns(RECORDS)))
    rows = rows_of(encode(table), HEADERS).rows.table.to_pylist()
    assert [r["SeverityNumber"] for r in rows] == [13, 17, 0]
    assert rows[1]["Timestamp"] == datetime.fromtimestamp(ENV.received_ns / 1e9, timezone.utc)
    assert (rows[1]["ServiceName"], rows[1]["LogAttributes"], rows[1]["TraceFlags"]) == ("", [], 0)
    assert {(r["TenantId"], r["Environment"], r["Source"], r["RequestId"]) for r in rows} == {
        ("acme", "staging", "native", "req_1")}


def test_compatible_types_are_cast_and_unknown_columns_ignored():
    table = pa.table({
        "body": pa.array(["a", "b"], pa.large_string()),
        "timestamp": pa.array([0, 1_000], pa.timestamp("ms")),  # naive: UTC
        "severity_text": pa.array(["info", "info"]).dictionary_encode(),
        "severity_number": pa.array([9, None], pa.int64()),
        "attributes": pa.array([[("k", "v")], [("k", None)]], pa.map_(pa.large_string(), pa.large_string())),
        "from_a_newer_producer": pa.array([1, 2]),
    })
    rows = rows_of(encode(table), HEADERS).rows.table.to_pylist()
    assert [r["Timestamp"].timestamp() for r in rows] == [0.0, 1.0]
    assert [r["SeverityNumber"] for r in rows] == [9, 9]
    assert [r["LogAttributes"] for r in rows] == [[("k", "v")], [("k", "")]]


def test_several_record_batches_in_one_stream():
    sink = pa.BufferOutputStream()
    part = as_columns(RECORDS[:1])
    with pa.ipc.new_stream(sink, part.schema) as writer:
        for _ in range(3):
            writer.write(part)
    assert len(rows_of(sink.getvalue().to_pybytes(), HEADERS).rows) == 3


@pytest.mark.parametrize("table, code, words", [
    (pa.table({"service_name": ["x"]}), "missing_column", "'body'"),
    (pa.table({"body": pa.array(["a", None])}), "invalid_column", "nulls"),
    (pa.table({"body": ["a"], "severity_number": pa.array([25], pa.int32())}), "invalid_column", "0-24"),
    (pa.table({"body": ["a"], "severity_number": pa.array([-1], pa.int32())}), "invalid_column", "severity_number"),
    (pa.table({"body": ["a"], "timestamp": pa.array([3_000_000_000_000], pa.timestamp("s"))}), "invalid_column",
     "timestamp"),
    (pa.table({"body": ["a"], "attributes": pa.array([1])}), "invalid_column", "attributes"),
])
def test_rejections_name_the_column(table, code, words):
    with pytest.raises(InvalidBody, match=words) as caught:
        decode(Format.NATIVE_ARROW, encode(table))
    assert caught.value.code == code


def test_a_value_that_is_not_arrow_is_dead_lettered_whole():
    rows, [(value, why)], _ = rows_of(b'{"records": []}', HEADERS)
    assert (len(rows), value, why.reason) == (0, b'{"records": []}', "malformed_arrow")
    assert read(encode(as_columns(RECORDS))).schema.equals(RECORD_SCHEMA.with_metadata(None))


def test_a_batch_inserts_as_one_block_whatever_its_records_chunks():
    """ClickHouse deduplicates per block: a replay must insert the same single block."""
    from workers.batches import Batch, Pending
    from workers.insert_rows import split

    items = [Pending(offset, rows_of(encode(as_columns(RECORDS)), HEADERS).rows, None) for offset in range(3)]
    table, http = split(Batch("t", 0, 0, 2, items, replay=False))
    assert (table.num_rows, http) == (9, None)
    assert {column.num_chunks for column in table.columns} == {1}


def test_same_keys_maps_every_key_to_its_rows_value():
    maps = same_keys(("host.name", "service.name"), ["web-1", "", "db"])
    assert maps.to_pylist() == [[("host.name", "web-1"), ("service.name", "web-1")],
                                [("host.name", ""), ("service.name", "")],
                                [("host.name", "db"), ("service.name", "db")]]
    assert same_keys(("k",), []).to_pylist() == []


def test_given_severity_numbers_are_kept_and_missing_ones_derived():
    env = Envelope("x", "acme", "r", 5)
    rows = LogColumns(env, "t", [None, None], ["WARNING", "ERROR"], ["s", "s"], ["a", "b"], [{}, {}],
                      severity_number=[10, None])
    assert rows.table.column("SeverityNumber").to_pylist() == [10, 17]
    assert rows.table.column("Timestamp").cast(pa.int64()).to_pylist() == [5, 5] and rows.tenant == "acme"


def test_a_batch_of_records_becomes_one_table_equal_to_the_records_one_by_one():
    one = LogColumns(Envelope("x", "acme", "r1", 5), "logflux", [None, datetime(2026, 1, 1, tzinfo=timezone.utc)],
                     ["INFO", "ERROR"], ["a", "b"], ["m1", "m2"], [{"k": "v"}, {}],
                     resource=SameKeys(("host.name", "service.name"), ["a", "b"]), severity_number=[9, None])
    two = LogColumns(Envelope("x", "beta", "r2", 7, "prod"), "logtrace", [None], ["WARN"], ["c"], ["m3"], [{}],
                     resource=[{"host.name": "h"}], trace_id=["4bf92f3577b34da6a3ce929d0e0e4736"], trace_flags=[1])
    three = LogColumns(Envelope("x", "acme", "r3", 9), "astralog", [None], ["DEBUG"], ["d"], ["m4"], [{}])
    table = to_table([one, two, three])
    assert table.schema == LOGS_SCHEMA and {column.num_chunks for column in table.columns} == {1}
    assert table.to_pylist() == one.table.to_pylist() + two.table.to_pylist() + three.table.to_pylist()
    c = {name: table.column(name).to_pylist() for name in table.column_names}
    assert c["TenantId"] == ["acme", "acme", "beta", "acme"] and c["Environment"] == ["production", "production", "prod", "production"]
    assert c["Source"] == ["logflux", "logflux", "logtrace", "astralog"]
    assert table.column("Timestamp").cast(pa.int64()).to_pylist() == [5, 1767225600000000000, 7, 9]
    assert c["SeverityNumber"] == [9, 17, 13, 5] and c["TraceFlags"] == [0, 0, 1, 0]
    assert c["ResourceAttributes"] == [[("host.name", "a"), ("service.name", "a")],
                                       [("host.name", "b"), ("service.name", "b")], [("host.name", "h")], []]
    assert c["LogAttributes"] == [[("k", "v")], [], [], []]
    assert c["TraceId"] == ["", "", "4bf92f3577b34da6a3ce929d0e0e4736", ""]


def test_records_that_give_their_times_in_different_forms_keep_their_order_in_one_batch():
    """OTLP's nanoseconds, LogFlux's unparsed text and the reference mapping's datetimes in one batch:
    each run becomes Arrow on its own, and the rows stay in the records' order."""
    env = Envelope("x", "acme", "r", 5)

    def part(times, n):
        return LogColumns(env, "t", times, ["INFO"] * n, [""] * n, ["m"] * n, [{}] * n,
                          scope_attributes=[{"n": str(n)}] * n if n == 2 else None)

    parts = [part(NsTimes([11, None]), 2), part(NsTimes([12]), 1), part(IsoTimes(["1970-01-01T00:00:00.000013+00:00"]), 1),
             part([datetime(1970, 1, 1, 0, 0, 0, 14, tzinfo=timezone.utc)], 1), part(NsTimes([15]), 1)]
    table = to_table(parts)
    assert table.column("Timestamp").cast(pa.int64()).to_pylist() == [11, 5, 12, 13_000, 14_000, 15]
    assert table.column("ScopeAttributes").to_pylist() == [[("n", "2")], [("n", "2")], [], [], [], []]


# --- storability and size bounds ---------------------------------------------

NS = storable.TIMESTAMP


@pytest.mark.parametrize("table, error", [
    (pa.table({"body": ["a"], "timestamp": pa.array([NS.low], pa.timestamp("ns", "UTC"))}), None),
    (pa.table({"body": ["a"], "timestamp": pa.array([NS.low - 1], pa.timestamp("ns", "UTC"))}),
     ("invalid_column", "1900-01-01T00:00:00Z")),
    (pa.table({"body": ["a"], "timestamp": pa.array([NS.high], pa.timestamp("ns", "UTC"))}), None),
    # microseconds past the nanoseconds' end: the cast overflows and says so
    (pa.table({"body": ["a"], "timestamp": pa.array([NS.high // 1000 + 1], pa.timestamp("us", "UTC"))}),
     ("invalid_column", "timestamp")),
    (pa.table({"body": ["a"], "attributes": pa.array([[(f"k{i}", "v") for i in range(storable.MAX_ENTRIES)]],
                                                     ATTRIBUTES)}), None),
    (pa.table({"body": ["a", "b"], "resource_attributes": pa.array(
        [[], [(f"k{i}", "v") for i in range(storable.MAX_ENTRIES + 1)]], ATTRIBUTES)}),
     ("too_many_attributes", "'resource_attributes'")),
])
def test_values_at_and_beyond_what_the_columns_hold(table, error):
    if error is None:
        assert len(rows_of(encode(table), HEADERS).rows) == table.num_rows
        return
    with pytest.raises(InvalidBody, match=error[1]) as caught:
        decode(Format.NATIVE_ARROW, encode(table))
    assert caught.value.code == error[0]


def compressed_stream(batch: pa.RecordBatch, times: int, compression: str = "zstd") -> bytes:
    """``batch`` written ``times`` times, compressed: the stream holds one copy's memory while it is built."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        for _ in range(times):
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def megabyte_of_zeros() -> pa.RecordBatch:
    return pa.record_batch({"body": pa.array(["\0" * (1 << 20)], pa.string())})


def test_sizes_are_read_from_the_metadata_without_decompressing():
    table = as_columns(RECORDS * 50)
    for compression in (None, "zstd", "lz4"):
        value = compressed_stream(table.to_batches()[0], 3, compression) if compression else encode(table)
        decoded = pa.ipc.open_stream(value).read_all()
        buffers = sum(b.size for column in decoded.columns for chunk in column.chunks for b in chunk.buffers() if b)
        assert arrow_size.measure(value) == (buffers, decoded.num_rows)


@pytest.mark.parametrize("value", [b"", b"\xff\xff\xff\xff" + b"\x10\x00\x00\x00" + bytes(16), b"not arrow"])
def test_a_stream_whose_metadata_does_not_read_is_malformed(value):
    with pytest.raises(InvalidBody) as caught:
        decode(Format.NATIVE_ARROW, value)
    assert caught.value.code == "malformed_arrow"


def test_limits_on_rows_and_bytes_are_the_callers():
    value = compressed_stream(megabyte_of_zeros(), 4)
    assert len(decode(Format.NATIVE_ARROW, value)[0]) == 4
    with pytest.raises(InvalidBody, match="native_arrow_max_rows") as caught:
        decode(Format.NATIVE_ARROW, value, Limits(max_bytes=1 << 30, max_rows=3))
    assert caught.value.code == "arrow_too_large"
    with pytest.raises(InvalidBody, match="native_arrow_max_bytes"):
        decode(Format.NATIVE_ARROW, value, Limits(max_bytes=4 << 20, max_rows=10))


def test_a_dictionary_of_one_long_string_on_every_row_is_measured_expanded():
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(100_000, dtype=np.int32)), pa.array(["x" * 4096]))
    value = compressed_stream(pa.record_batch({"body": column}), 1)
    assert len(value) < 100_000  # a 400 MB body once cast to plain strings
    with pytest.raises(InvalidBody, match="native_arrow_max_bytes") as caught:
        decode(Format.NATIVE_ARROW, value)
    assert caught.value.code == "arrow_too_large"


def test_a_dictionary_inside_a_map_is_refused():
    keys = pa.array(["k"]).dictionary_encode()
    attributes = pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), keys, pa.array(["v"]))
    with pytest.raises(InvalidBody, match="dictionary inside") as caught:
        decode(Format.NATIVE_ARROW, encode(pa.table({"body": ["a"], "attributes": attributes})))
    assert caught.value.code == "invalid_column"


BOMB_CHECK = """
import json, sys
import pyarrow as pa
from tests.unit.test_native_arrow import HEADERS
from workers.records import rows_of

with open(sys.argv[1], "rb") as f:
    outcome = rows_of(f.read(), HEADERS)
print(json.dumps({"rows": len(outcome.rows), "reasons": [why.reason for _, why in outcome.rejected],
                  "arrow_peak": pa.default_memory_pool().max_memory(),
                  # VmHWM, not ru_maxrss: that one keeps the peak of the parent this process was forked from
                  "rss_peak": next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                                   if line.startswith("VmHWM:"))}))
"""


def test_a_zstd_bomb_is_dead_lettered_without_being_inflated(tmp_path):
    """A gigabyte of zeros in a few dozen kilobytes, refused from its metadata by a worker process
    whose memory is measured on its own (its peak RSS, and the peak of Arrow's allocations)."""
    eighth = pa.record_batch({"body": pa.array(["\0" * (128 << 20)], pa.string())})
    bomb = tmp_path / "bomb.arrow"
    bomb.write_bytes(compressed_stream(eighth, 8))
    del eighth
    assert bomb.stat().st_size < 64 << 10 and arrow_size.measure(bomb.read_bytes()).bytes > 1 << 30
    run = subprocess.run([sys.executable, "-c", BOMB_CHECK, str(bomb)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout)
    assert (found["rows"], found["reasons"]) == (0, ["arrow_too_large"])
    assert found["arrow_peak"] < 8 << 20  # nothing of the bomb was allocated
    assert found["rss_peak"] < 384 << 20  # the interpreter and its libraries; the bomb alone is 1 GiB
