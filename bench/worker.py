"""The worker stage alone: a pre-filled native topic drained into ClickHouse.

    python -m bench.worker [--records 300000] [--per-message 1000]

Measured in one run, on the same rows:

* raw insert      — ``insert_arrow`` of ready Arrow tables into the embedded
                    engine: ClickHouse's own ceiling here;
* chain           — decode + normalize + Arrow + insert in one process, no
                    Kafka: the worker's code without the consumer;
* worker          — a real worker process consuming the pre-filled topic,
                    from its first stored row to its last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bench.harness import broker, processes, provision, report
from schemas.envelope import Envelope
from schemas.formats import Format, decode
from sluice.kafka.clients import producer
from sluice.settings import load_settings
from sluice.storage import Storage, migrate
from workers.normalize import normalize
from workers.sink import to_arrow

HEADERS = [("sluice-format", b"sluice.batch.v1"), ("sluice-tenant", b"bench")]


def make_messages(records: int, per_message: int) -> list[bytes]:
    out = []
    for m in range(records // per_message):
        batch = [{"body": f"GET /api/orders/{m}/{i} 200 {i % 250}ms", "severity_text": "INFO",
                  "service_name": f"svc-{i % 8}", "timestamp": "2026-11-23T10:22:01.123456Z",
                  "attributes": {"http.status_code": 200, "user.id": f"u{i % 1000}"}} for i in range(per_message)]
        out.append(json.dumps({"records": batch}).encode())
    return out


def in_process(state: Path, messages: list[bytes], max_rows: int) -> tuple[float, float]:
    """Seconds for (raw insert of prepared tables, the whole chain), same rows."""
    settings = load_settings({}, state_dir=state)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    env = Envelope(Format.NATIVE_BATCH.value, "bench", "", time.time_ns())
    insert = lambda c, t: c.insert_arrow("sluice.logs", t)  # noqa: E731

    def chain(prepared: list | None) -> float:
        started = time.perf_counter()
        rows = []
        tables = iter(prepared or [])
        for body in messages:
            if prepared is None:
                rows += normalize(Format.NATIVE_BATCH, decode(Format.NATIVE_BATCH, body), env)
                if len(rows) >= max_rows:
                    storage.run_sync(insert, to_arrow(rows))
                    rows = []
        if prepared is not None:
            for table in tables:
                storage.run_sync(insert, table)
        elif rows:
            storage.run_sync(insert, to_arrow(rows))
        return time.perf_counter() - started

    all_rows = [r for body in messages for r in normalize(Format.NATIVE_BATCH, decode(Format.NATIVE_BATCH, body), env)]
    tables = [to_arrow(all_rows[i:i + max_rows]) for i in range(0, len(all_rows), max_rows)]
    raw = chain(tables)
    whole = chain(None)
    storage.close()
    return raw, whole


async def prefill(settings, messages: list[bytes]) -> None:
    p = producer(settings, linger_ms=20)
    await p.start()
    try:
        futures = [await p.send(settings.native_topic, m, headers=HEADERS) for m in messages]
        await asyncio.gather(*futures)
    finally:
        await p.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--per-message", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    messages = make_messages(args.records, args.per_message)
    records = len(messages) * args.per_message
    results: dict = {"records": records, "per_message": args.per_message}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp)
        raw_s, chain_s = in_process(tmp / "ceiling", messages, bench.settings.batch_max_rows)
        results["raw_insert_rps"] = records / raw_s
        results["chain_rps"] = records / chain_s
        asyncio.run(prefill(bench.settings, messages))
        # worker_rps: from the moment the worker answers (group join included) to
        # the last row. steady_rps: from the first stored batch to the last row.
        with processes(bench, "worker"):
            started = time.perf_counter()
            first = None
            while (count := bench.rows()) < records:
                if count and first is None:
                    first = (time.perf_counter(), count)
                time.sleep(0.02)
            finished = time.perf_counter()
            results["worker_rps"] = records / (finished - started)
            if first is not None and finished > first[0]:
                results["steady_rps"] = (records - first[1]) / (finished - first[0])
    results["worker_vs_raw_insert"] = results["worker_rps"] / results["raw_insert_rps"]
    results["worker_vs_chain"] = results["worker_rps"] / results["chain_rps"]
    if "steady_rps" in results:
        results["steady_vs_raw_insert"] = results["steady_rps"] / results["raw_insert_rps"]
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
