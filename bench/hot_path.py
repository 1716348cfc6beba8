"""Worker CPU per row by dialect: the hot path (workers/hot.py) against the reference mapping, in one run.

    python -m bench.hot_path [--records 200] [--per-record 500] [--runs 3] [--dialects logflux,...] [--json FILE]

The same realistic record values of each hot format (LogTrace, AstraLog, LogInformant batches; OTLP/JSON
requests of as many log records, attributes as KeyValue lists, and the same requests in protobuf's binary
form; LogFlux batches of 100 encrypted entries
and single entries) go through, in chunks of 20 records as the worker's runs give them (LogFlux: as many
records as make the same rows per chunk, and so per insert):

* ``reference``        decode (msgspec; OTLP/protobuf: protobuf's upb) + ``schemas.rows.normalize.mapped`` (OTLP:
                       ``schemas.rows.nested.nested_rows``) + ``to_table``: the chain before
                       the hot path, still the judge of what it declines; for LogFlux decode +
                       ``workers.records``' LogFlux mapping (``normalize_logflux``: decrypt, msgspec and
                       ``flatten`` per entry) + ``to_table``;
* ``hot``              ``workers.hot.map_values`` (``workers.logflux_hot.map_values``) + ``joined`` + one
                       table: what the worker runs now;
* ``py_decrypt``       LogFlux only: decode + one ``AESGCM.decrypt`` per entry in a tight Python loop and
                       nothing more, the part that would stay in Python if Rust mapped only the plaintexts;
* ``engine+insert``    LogTrace only: issue #25's floor, the values written to a file and mapped and
                       inserted by one ``INSERT … SELECT … FROM file()`` (bench/sql_floor.py);
* ``*+insert``         each plus ``insert_arrow`` into the embedded engine's ``logs`` table (a fresh
                       state directory per run; the engine runs in this process, so its threads count).

LogFlux keys are in the cache before the clock starts (derived with 1,000 PBKDF2 iterations: only
their derivation, which is not measured, depends on that; 16 client sessions, one salt each).

CPU is ``time.process_time`` (every thread of the process) per row; each variant runs in its own
child process, variants alternating, and the median of ``--runs`` is reported, with ``hot ÷ reference``.
The issue's goal is stated for the whole worker: ≤ 4 µs per row for the JSON dialects, ≤ 6 µs for LogFlux
with a warm key cache.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import machine, report
from bench import sql_floor
from bench.tools import otlp_protobuf

PER_CHUNK = 20
VARIANTS = ("reference", "hot", "reference+insert", "hot+insert")
SERVICES = [f"svc-{name}" for name in ("orders", "billing", "auth", "search", "cart", "mail", "ledger", "edge")]


def _attributes(rng: random.Random, i: int, status: int) -> dict:
    return {"http.method": "GET", "http.status_code": status,
            "user": {"id": f"u{rng.randrange(5000)}", "tier": rng.choice(("free", "pro", "enterprise"))},
            "cache.hit": rng.random() < 0.7, "duration_ms": round(rng.uniform(0.1, 900), 3),
            "tags": ["edge", f"az-{i % 3}"]}


def _entry(fmt: str, rng: random.Random, r: int, i: int) -> dict:
    level = ("INFO", "WARN", "ERROR")[rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2))]
    service = SERVICES[i % 8]
    status = 500 if level == "ERROR" else rng.choice((200, 200, 201, 204, 301, 404))
    when = f"2026-11-23T10:{r % 60:02d}:{i % 60:02d}.{rng.randrange(10**6):06d}Z"
    message = f"{rng.choice(('GET', 'POST', 'PUT'))} /api/{service[4:]}/{rng.randrange(10**6)} {status} in " \
              f"{rng.randrange(1, 900)}ms"
    attributes = _attributes(rng, i, status)
    if fmt == "logtrace":
        return {"timestamp": when, "level": level, "message": message, "service": service,
                "host": f"ip-10-0-{i % 16}-{r % 250}.internal", "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}", "attributes": attributes}
    if fmt == "astralog":
        return {"project_id": f"proj-{r % 4}", "timestamp": when, "level": level.lower(), "service": service,
                "message": message, "metadata": attributes}
    return {"timestamp": when, "level": {"INFO": "Information", "WARN": "Warning", "ERROR": "Error"}[level],
            "message": message, "source": service, "properties": attributes,
            "exception": "Traceback (most recent call last): ..." if level == "ERROR" else None}


FORMATS = {"logtrace": "logtrace.ingest.v1", "astralog": "astralog.drain.v1", "loginformant": "loginformant.batch.v1",
           "otlp": "otlp.logs.v1.json", "otlp_protobuf": "otlp.logs.v1.protobuf", "logflux": "logflux.batch.v1",
           "logflux_single": "logflux.ingest.v1"}
_SEVERITY_NUMBERS = {"INFO": 9, "WARN": 13, "ERROR": 17}


def _any_value(value) -> dict:
    """A Python value as an OTLP/JSON AnyValue."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _key_values(value)}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": value}


def _key_values(values: dict) -> list[dict]:
    return [{"key": k, "value": _any_value(v)} for k, v in values.items()]


def _otlp_request(rng: random.Random, r: int, per_record: int) -> dict:
    """One OTLP/JSON ExportLogsServiceRequest holding what a LogTrace batch holds: ``per_record`` log records
    of one service on one host, in one scope, as an SDK's batch exporter sends them."""
    records = []
    for i in range(per_record):
        e = _entry("logtrace", rng, r, i)
        records.append({"timeUnixNano": str(1_795_000_000_000_000_000 + r * 1000 + i),
                        "severityNumber": _SEVERITY_NUMBERS[e["level"]], "severityText": e["level"],
                        "body": {"stringValue": e["message"]}, "attributes": _key_values(e["attributes"]),
                        "traceId": e["trace_id"], "spanId": e["span_id"]})
    resource = {"service.name": SERVICES[r % 8], "host.name": f"ip-10-0-{r % 16}-{r % 250}.internal"}
    return {"resourceLogs": [{"resource": {"attributes": _key_values(resource)},
                              "scopeLogs": [{"scope": {"name": "bench", "version": "1.0"}, "logRecords": records}]}]}
LOGFLUX_SECRET, LOGFLUX_SESSIONS, LOGFLUX_BATCH = b"bench-secret", 16, 100  # logflux.txt: at most 100 per batch


def _logflux_key(salt: bytes) -> bytes:
    from workers.decrypt import derive

    return derive(LOGFLUX_SECRET, salt, iterations=1000)


def _logflux_salts() -> list[bytes]:
    return [bytes([s]) * 32 for s in range(LOGFLUX_SESSIONS)]


def _logflux_entry(rng: random.Random, r: int, i: int, ciphers: list) -> dict:
    """One encrypted entry whose plaintext holds what the JSON dialects' entries hold: a message and attributes."""
    import base64

    status = rng.choice((200, 200, 201, 204, 301, 404, 500))
    service = SERVICES[i % 8]
    plaintext = json.dumps({"message": f"{rng.choice(('GET', 'POST', 'PUT'))} /api/{service[4:]}/{rng.randrange(10**6)} "
                                       f"{status} in {rng.randrange(1, 900)}ms", **_attributes(rng, i, status)})
    session = r % LOGFLUX_SESSIONS  # a client's batch: one session, one salt (and its node)
    salt, cipher = ciphers[session]
    iv = rng.randbytes(12)
    return {"node": f"web-{session}", "loglevel": rng.choice((7, 7, 7, 7, 5, 4)),
            "timestamp": f"2026-11-23T10:{r % 60:02d}:{i % 60:02d}.{rng.randrange(10**6):06d}Z", "encryption_mode": 1,
            "iv": base64.b64encode(iv).decode(), "salt": base64.b64encode(salt).decode(),
            "payload": base64.b64encode(cipher.encrypt(iv, plaintext.encode(), None)).decode()}


def logflux_values(dialect: str, records: int, per_record: int) -> list[bytes]:
    """The same number of encrypted entries as the JSON dialects' workload: batches of 100, or one per record."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    rng = random.Random(25)
    ciphers = [(salt, AESGCM(_logflux_key(salt))) for salt in _logflux_salts()]
    total = records * per_record
    if dialect == "logflux_single":
        return [json.dumps(_logflux_entry(rng, r, 0, ciphers)).encode() for r in range(total)]
    return [json.dumps({"entries": [_logflux_entry(rng, r, i, ciphers) for i in range(LOGFLUX_BATCH)]}).encode()
            for r in range(total // LOGFLUX_BATCH)]


def logflux_context():
    """The worker's LogFlux context with every session's key cached (``rows_of`` and the hot path alike)."""
    from workers.budget import TokenBuckets
    from workers.decrypt import Decryptor, KeyCache
    from workers.records import Context

    cache = KeyCache(1000, lambda secret, salt: _logflux_key(salt))
    for salt in _logflux_salts():
        cache.cipher("tenant-0", 1, LOGFLUX_SECRET, salt)
    decryptor = Decryptor(lambda tenant: [(1, LOGFLUX_SECRET)], cache)
    return Context(decryptor=decryptor, kdf_budget=TokenBuckets(1.0, 10.0))


def workload(dialect: str, records: int, per_record: int) -> tuple[list[bytes], list]:
    from schemas.envelope import Envelope

    rng = random.Random(25)
    if dialect.startswith("logflux"):
        values = logflux_values(dialect, records, per_record)
    elif dialect == "otlp":
        values = [json.dumps(_otlp_request(rng, r, per_record)).encode() for r in range(records)]
    elif dialect == "otlp_protobuf":
        values = [otlp_protobuf(_otlp_request(rng, r, per_record)) for r in range(records)]
    else:
        values = [json.dumps({"logs": [_entry(dialect, rng, r, i) for i in range(per_record)]}).encode()
                  for r in range(records)]
    tenants = 1 if dialect.startswith("logflux") else 3  # LogFlux's keys are cached for tenant-0
    envelopes = [Envelope(FORMATS[dialect], f"tenant-{r % tenants}", f"req-{r}", 1_795_000_000_000_000_000 + r,
                          "production") for r in range(len(values))]
    return values, envelopes


def _child(variant: str, dialect: str, records: int, per_record: int) -> dict:
    """One variant's CPU and wall seconds over the workload, in this (child) process."""
    import pyarrow as pa

    from schemas.dialects import NESTED, decode
    from schemas.formats import Format
    from workers import hot, logflux_hot, records as worker_records
    from schemas.rows.columnar import to_table
    from schemas.rows.nested import nested_rows
    from schemas.rows.normalize import mapped

    fmt = Format(FORMATS[dialect])
    values, envelopes = workload(dialect, records, per_record)
    # The same rows per chunk (and so per insert, whose cost per row falls with its size) in every dialect.
    per_record_entries = {"logflux": LOGFLUX_BATCH, "logflux_single": 1}.get(dialect, per_record)
    per_chunk = max(1, PER_CHUNK * per_record // per_record_entries)
    chunks = [(values[i:i + per_chunk], envelopes[i:i + per_chunk]) for i in range(0, len(values), per_chunk)]
    logflux = fmt in logflux_hot.FORMATS
    context = logflux_context() if logflux else None

    def reference(vs, es) -> pa.Table:
        if logflux:
            outcomes = [worker_records.MAPPINGS["logflux"](fmt, decode(fmt, v), e, v, context) for v, e in zip(vs, es)]
            assert not any(o.rejected or o.divert_for for o in outcomes)
            return to_table([o.rows for o in outcomes])
        if fmt in NESTED:
            return to_table([nested_rows(NESTED[fmt], decode(fmt, v), e) for v, e in zip(vs, es)])
        return to_table([mapped(hot.COLUMNS[fmt], decode(fmt, v), e) for v, e in zip(vs, es)])

    def hot_path(vs, es) -> pa.Table:
        if logflux:
            out = logflux_hot.map_values(fmt, vs, es, context.decryptor)
        else:
            out = hot.map_values(fmt, vs, es)
        assert not out.declined, out.declined[:1]
        return pa.concat_tables(hot.joined([r for r in out.rows if r is not None])).combine_chunks()

    def py_decrypt(vs, es) -> pa.Table:
        rows = 0
        for v, e in zip(vs, es):
            decrypt = context.decryptor.session(e.tenant).decrypt
            for entry in decode(fmt, v):
                decrypt(entry.iv, entry.salt, entry.payload)
                rows += 1
        return pa.table({"n": pa.nulls(rows)})

    build = {"hot": hot_path, "reference": reference, "py_decrypt": py_decrypt,
             "engine": None}[variant.partition("+")[0]]
    insert = None
    if variant.endswith("+insert"):
        from sluice.settings import load_settings
        from sluice.storage import Storage, migrate

        state = Path(tempfile.mkdtemp(prefix="sluice-bench-hot-"))
        settings = load_settings({}, state_dir=state)
        storage = Storage(settings)
        storage.run_sync(migrate, settings)
        insert = lambda table: storage.run_sync(  # noqa: E731
            lambda c: c.insert_arrow("sluice.logs", table, settings={"insert_deduplicate": 0}))
    rows = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for vs, es in chunks:
        if build is None:  # the engine maps and inserts: the rows are counted after the clock stops
            sql_floor.write_chunk(state / "chunk.ndjson", vs, es)
            storage.run_sync(lambda c: c.command(sql_floor.insert_sql(state / "chunk.ndjson")))
            continue
        table = build(vs, es)
        rows += table.num_rows
        if insert is not None:
            insert(table)
    figures = {"rows": rows, "cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    if build is None:
        figures["rows"] = storage.run_sync(lambda c: c.command("SELECT count() FROM sluice.logs"))
        assert figures["rows"] == len(values) * per_record, \
            f"the SQL mapping stored {figures['rows']} of {len(values) * per_record} rows"
    if insert is not None:  # each child's engine and its parts: 6 MiB a run, 30 runs for `make bench-hot-path`
        storage.close()
        shutil.rmtree(state, ignore_errors=True)
    return figures


def run(args) -> dict:
    results: dict = {**machine(), "records": args.records, "per_record": args.per_record, "runs": args.runs,
                     "per_chunk": PER_CHUNK}
    floors: dict[str, float] = {}
    hots: dict[str, float] = {}
    for dialect in args.dialects.split(","):
        variants = VARIANTS + (("py_decrypt",) if dialect.startswith("logflux") else ()) \
            + (("engine+insert",) if dialect in sql_floor.DIALECTS else ())
        samples: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.runs):
            for variant in variants:
                out = subprocess.run([sys.executable, "-m", "bench.hot_path", "--child", variant, dialect,
                                      str(args.records), str(args.per_record)],
                                     check=True, capture_output=True).stdout
                figures = pickle.loads(out)
                samples[variant].append(figures["cpu_s"] * 1e6 / figures["rows"])
        medians = {v: statistics.median(s) for v, s in samples.items()}
        results[dialect] = {f"{v}_cpu_us_per_row": round(m, 2) for v, m in medians.items()}
        results[dialect]["hot_vs_reference"] = round(medians["hot"] / medians["reference"], 3)
        results[dialect]["hot_vs_reference_with_insert"] = round(medians["hot+insert"] / medians["reference+insert"], 3)
        if "engine+insert" in medians:
            floors[dialect] = medians["engine+insert"]
        hots[dialect] = medians["hot+insert"]
    # The goals, 4 µs a row for the JSON dialects and 6 for LogFlux warm, were set beside its 3.8 µs
    # floor: ratios of about 1.05 and 1.58 to the floor measured here, in the same run.
    if "logtrace" in floors:
        for dialect, hot_cost in hots.items():
            results[dialect]["hot_with_insert_vs_logtrace_floor"] = round(hot_cost / floors["logtrace"], 3)
    return results


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        variant, dialect, records, per_record = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        sys.stdout.buffer.write(pickle.dumps(_child(variant, dialect, records, per_record)))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--per-record", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dialects", default=",".join(FORMATS), help="a comma-separated subset of " + ", ".join(FORMATS))
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    report(run(args), args.json, "worker CPU per row: the hot path against the reference mapping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
