"""Accepted means storable, against the real ClickHouse engine: values at every bound of the contract
(schemas/storable.py), in every dialect, pass the decoders and are stored as sent, nothing dead-lettered."""

from __future__ import annotations

import json
import time
import uuid

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.envelope import Envelope, to_headers
from schemas.dialects import decode
from schemas.formats import Format
from schemas.dialects.native.arrow import ATTRIBUTES, encode
from schemas.storable import MAX_DEPTH, MAX_ENTRIES, TIMESTAMP
from tests.integration.test_sink import RecordingDeadLetters
from tests.unit.test_logflux import fast_cache, fast_entry
from tests.unit.test_profound import good
from workers.batches import BatchPlanner
from workers.decrypt import Decryptor
from workers.consumed import Consumed
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink

pytestmark = pytest.mark.integration

FIRST, LAST = "1900-01-01T00:00:00Z", "2262-04-11T23:47:16.854775Z"
FIRST_NS, LAST_NS = TIMESTAMP.low, TIMESTAMP.high // 1000 * 1000  # what a datetime's microseconds make
SECRET = "bounds-secret"


def fields(n: int) -> dict[str, str]:
    return {f"k{i}": "v" for i in range(n)}


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def otlp_protobuf() -> bytes:
    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    for ns in (2**63 - 1, 1):
        record = scope_logs.log_records.add(time_unix_nano=ns, severity_number=255)
        record.body.string_value = "protobuf"
    return request.SerializeToString()


def arrow() -> bytes:
    return encode(pa.table({
        "body": ["arrow", "arrow"],
        "timestamp": pa.array([TIMESTAMP.low, TIMESTAMP.high], pa.timestamp("ns", "UTC")),
        "trace_flags": pa.array([255, 0], pa.uint8()),
        "attributes": pa.array([list(fields(MAX_ENTRIES).items()), []], ATTRIBUTES),
    }))


# format -> (value, the (Timestamp ns) of its rows, in insertion order)
BODIES = {
    Format.LOGTRACE_INGEST: (json.dumps({"logs": [
        {"timestamp": FIRST, "level": "INFO", "message": "logtrace", "attributes": fields(MAX_ENTRIES)},
        {"timestamp": LAST, "level": "INFO", "message": "logtrace", "attributes": nested(MAX_DEPTH)}]}).encode(),
        [FIRST_NS, LAST_NS]),
    Format.ASTRALOG_DRAIN: (json.dumps({"logs": [{"project_id": "p", "timestamp": LAST, "level": "info", "service": "s",
                                                  "message": "astralog", "metadata": fields(MAX_ENTRIES)}]}).encode(),
                            [LAST_NS]),
    Format.LOGINFORMANT_SINGLE: (json.dumps({"level": "Error", "message": "loginformant", "timestamp": FIRST,
                                             "exception": "e", "properties": fields(MAX_ENTRIES - 1)}).encode(),
                                 [FIRST_NS]),
    Format.NATIVE_BATCH: (json.dumps({"records": [
        {"body": "native", "timestamp": LAST, "trace_flags": 255, "severity_number": 24,
         "resource_attributes": fields(MAX_ENTRIES), "attributes": nested(MAX_DEPTH)}]}).encode(), [LAST_NS]),
    Format.NATIVE_ARROW: (arrow(), [TIMESTAMP.low, TIMESTAMP.high]),
    Format.OTLP_JSON: (json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": str(2**63 - 1), "severityNumber": 255, "body": {"stringValue": "otlp"},
         "attributes": [{"key": f"k{i}", "value": {"stringValue": "v"}} for i in range(MAX_ENTRIES)]},
        {"timeUnixNano": str(TIMESTAMP.low), "body": {"stringValue": "otlp"}}]}]}]}).encode(),
        [2**63 - 1, TIMESTAMP.low]),
    Format.OTLP_PROTOBUF: (otlp_protobuf(), [2**63 - 1, 1]),
    Format.LOGSTASH_LINES: (json.dumps([{"@timestamp": FIRST, "message": "logstash", **fields(MAX_ENTRIES)},
                                        {"@timestamp": LAST, "message": "logstash"}]).encode(), [FIRST_NS, LAST_NS]),
    Format.LOGFLUX_BATCH: (json.dumps({"entries": [
        {**fast_entry(json.dumps({"message": "logflux", **fields(MAX_ENTRIES)}), SECRET), "timestamp": LAST},
        {**fast_entry("logflux", SECRET), "timestamp": "1900-01-01T01:00:00+01:00"}]}).encode(),
        [LAST_NS, FIRST_NS]),
}

ADDRESSES = ["2001:db8:1:2::3a", "1.2.3.4", "::ffff:0:1.2.3.4", "::"]  # the first and third are 16 characters


def profound() -> bytes:
    entries = [good(ip=ip, bytes_sent=2**64 - 1, query_params=fields(MAX_ENTRIES), status_code=599)
               for ip in ADDRESSES]
    return json.dumps({"visit_ids": [str(uuid.uuid4()) for _ in entries], "entries": entries}).encode()


async def test_values_at_every_bound_are_stored_as_sent(storage):
    run = uuid.uuid4().hex[:8]
    records = []
    for offset, (fmt, (value, _)) in enumerate([*BODIES.items(), (Format.PROFOUND_CUSTOM, (profound(), None))]):
        decode(fmt, value)  # what the gateway's decode path accepts
        env = Envelope(fmt.value, "acme", f"{run}-{fmt.value}", time.time_ns())  # older: dropped by the TTL
        records.append(Consumed(f"bounds-{run}", 0, offset, None, value, to_headers(env), env.received_ns, offset))
    dead_letters = RecordingDeadLetters()
    context = Context(decryptor=Decryptor(lambda tenant: [(1, SECRET.encode())], fast_cache()))
    pipeline = Pipeline(ClickHouseSink(storage, storage.settings), BatchPlanner(max_rows=100_000), dead_letters,
                        Quarantine(0.99, 100, 100, 60), context)
    stored = await pipeline.process(records)
    assert [letter.reason for letter in dead_letters.sent] == []
    assert [h for batch in stored for h in batch.handles] == list(range(len(records)))

    def query(sql: str) -> list:
        return storage.run_sync(lambda c: c.query(sql, parameters={"p": run + "-%"}).result_rows)

    found: dict[str, list] = {}
    for request_id, ns, severity, flags, attributes in query(
            "SELECT RequestId, toUnixTimestamp64Nano(Timestamp), SeverityNumber, TraceFlags, length(LogAttributes) "
            "FROM sluice.logs WHERE RequestId LIKE {p:String} ORDER BY RequestId"):
        found.setdefault(request_id.split("-", 1)[1], []).append((ns, severity, flags, attributes))
    assert found.keys() == {fmt.value for fmt in BODIES}
    for fmt, (_, times) in BODIES.items():
        assert sorted(ns for ns, *_ in found[fmt.value]) == sorted(times), fmt
    assert {row[1] for row in found[Format.OTLP_PROTOBUF.value]} == {255}
    assert max(row[3] for row in found[Format.LOGTRACE_INGEST.value]) == MAX_ENTRIES
    assert max(row[3] for row in found[Format.LOGINFORMANT_SINGLE.value]) == MAX_ENTRIES  # the exception's included
    assert max(row[2] for row in found[Format.NATIVE_ARROW.value]) == 255
    http = query("SELECT toString(ClientIP), Bytes, length(QueryParams) FROM sluice.http_logs "
                 "WHERE RequestId LIKE {p:String} ORDER BY Body")
    assert sorted(ip for ip, *_ in http) == sorted(["2001:db8:1:2::3a", "::ffff:1.2.3.4", "::ffff:0:102:304", "::"])
    assert {(size, params) for _, size, params in http} == {(2**64 - 1, MAX_ENTRIES)}
