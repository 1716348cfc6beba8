"""The worker stage alone: a pre-filled native topic drained into ClickHouse, for both native encodings.

    python -m bench.worker [--json-records 1000000] [--arrow-records 4000000] [--per-message 1000]

Measured in one run, on the same records:

* raw insert      — ``insert_arrow`` of ready Arrow tables into the embedded
                    engine: ClickHouse's own ceiling here;
* chain           — decode + normalize + Arrow + insert in one process, no
                    Kafka: the worker's code without the consumer;
* worker          — a real worker process consuming the pre-filled topic.
                    ``*_steady_rps`` runs from its first stored row to its
                    last; ``*_worker_rps`` also counts the group join.

once per encoding: ``json`` (``sluice.batch.v1``) and ``arrow``
(``sluice.arrow.v1``, the columnar encoding).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import pyarrow as pa

from bench.harness import Bench, broker, machine, processes, provision, report, tables_of
from schemas.formats import Format
from schemas.dialects.native.arrow import CONTENT_TYPE, encode
from sluice.kafka.clients import producer
from sluice.settings import load_settings
from sluice.storage import Storage, migrate

SERVICES = [f"svc-{i}" for i in range(8)]


def _record(m: int, i: int) -> dict:
    return {"body": f"GET /api/orders/{m}/{i} 200 {i % 250}ms", "severity_text": "INFO",
            "service_name": SERVICES[i % 8], "timestamp": "2026-11-23T10:22:01.123456Z",
            "attributes": {"http.status_code": "200", "user.id": f"u{i % 1000}"}}


def json_messages(records: int, per_message: int) -> list[bytes]:
    return [json.dumps({"records": [_record(m, i) for i in range(per_message)]}).encode()
            for m in range(records // per_message)]


def arrow_messages(records: int, per_message: int) -> list[bytes]:
    """The same records as ``json_messages``, in columns (what an Arrow-writing producer sends)."""
    ts = pa.array([1795429321123456000] * per_message, pa.timestamp("ns", tz="UTC"))
    out = []
    for m in range(records // per_message):
        rows = [_record(m, i) for i in range(per_message)]
        out.append(encode(pa.table({
            "body": [r["body"] for r in rows],
            "timestamp": ts,
            "severity_text": [r["severity_text"] for r in rows],
            "service_name": [r["service_name"] for r in rows],
            "attributes": pa.array([list(r["attributes"].items()) for r in rows], pa.map_(pa.string(), pa.string())),
        })))
    return out


HEADERS = {
    "json": [("sluice-format", Format.NATIVE_BATCH.value.encode()), ("sluice-tenant", b"bench")],
    "arrow": [("sluice-format", Format.NATIVE_ARROW.value.encode()), ("sluice-tenant", b"bench"),
              ("content-type", CONTENT_TYPE.encode())],
}


def in_process(state: Path, messages: dict[str, list[bytes]], max_rows: int) -> dict[str, float]:
    """Rows/s of the raw insert of prepared tables and of each encoding's whole chain."""
    settings = load_settings({}, state_dir=state)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)

    def insert_all(tables) -> int:
        n = 0
        for table in tables:
            storage.run_sync(lambda c: c.insert_arrow("sluice.logs", table))
            n += table.num_rows
        return n

    out = {}
    prepared = tables_of(messages["json"], HEADERS["json"], max_rows)
    started = time.perf_counter()
    out["raw_insert_rps"] = insert_all(prepared) / (time.perf_counter() - started)
    for encoding, values in messages.items():
        started = time.perf_counter()
        n = insert_all(tables_of(values, HEADERS[encoding], max_rows))
        out[f"{encoding}_chain_rps"] = n / (time.perf_counter() - started)
    storage.close()
    return out


async def prefill(settings, messages: list[bytes], headers) -> None:
    p = producer(settings, linger_ms=20)
    await p.start()
    try:
        futures = [await p.send(settings.native_topic, m, headers=headers) for m in messages]
        await asyncio.gather(*futures)
    finally:
        await p.stop()


def drain(bench: Bench, already: int, records: int) -> tuple[float, float]:
    """Start a worker on the pre-filled topic; (rows/s with the group join, steady rows/s)."""
    target = already + records
    with processes(bench, "worker"):
        started = time.perf_counter()
        first = None
        while (count := bench.rows()) < target:
            if count > already and first is None:
                first = (time.perf_counter(), count)
            time.sleep(0.1)
        finished = time.perf_counter()
    steady = (target - first[1]) / (finished - first[0]) if first and finished > first[0] else float("nan")
    return records / (finished - started), steady


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json-records", type=int, default=1_000_000)
    ap.add_argument("--arrow-records", type=int, default=4_000_000)
    ap.add_argument("--per-message", type=int, default=1000)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    counts = {"json": args.json_records, "arrow": args.arrow_records}
    messages = {"json": json_messages(counts["json"], args.per_message),
                "arrow": arrow_messages(counts["arrow"], args.per_message)}
    results: dict = {**machine(), "per_message": args.per_message}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp)
        sample = {k: v[: max(1, 200_000 // args.per_message)] for k, v in messages.items()}
        results.update(in_process(tmp / "ceiling", sample, bench.settings.batch_max_rows))
        stored = 0
        for encoding, values in messages.items():
            records = len(values) * args.per_message
            asyncio.run(prefill(bench.settings, values, HEADERS[encoding]))
            total, steady = drain(bench, stored, records)
            stored += records
            results[f"{encoding}_records"] = records
            results[f"{encoding}_worker_rps"] = total
            results[f"{encoding}_steady_rps"] = steady
            results[f"{encoding}_steady_vs_raw_insert"] = steady / results["raw_insert_rps"]
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
