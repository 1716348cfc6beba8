"""End-to-end throughput of the local topology, against ceilings measured in the same run.

    python -m bench.e2e [--records 200000] [--batch 500] [--concurrency 16]

Starts its own Kafka broker, gateway and worker (fresh state, free ports) and
measures, on the same request bodies:

* kafka ceiling   — aiokafka producing the bodies straight to a topic with the
                    gateway's producer settings (acks=all, idempotent, zstd):
                    what the gateway could do if HTTP, auth and parsing were free;
* storage ceiling — decode + normalize + insert_arrow into the embedded
                    ClickHouse in this process: what one worker could do if
                    Kafka were free;
* sluice accept   — HTTP requests answered 2xx by the gateway (records/s);
* sluice e2e      — first request sent until the last row is in ClickHouse.

The load generator shares the machine's cores with everything it measures;
the ratios, not the absolute figures, are what compares across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

from bench.harness import broker, processes, provision, report, send_all, tables_of
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format
from sluice.kafka.clients import ensure_topics, producer
from sluice.settings import load_settings
from sluice.storage import Storage, migrate


def make_bodies(records: int, batch: int) -> list[bytes]:
    bodies = []
    for r in range(records // batch):
        logs = [{"timestamp": "2026-11-23T10:22:01.123Z", "level": "ERROR" if i % 10 == 0 else "INFO",
                 "message": f"request {r}-{i} GET /api/v1/orders/{i} took {i % 250} ms",
                 "service": f"svc-{i % 8}", "trace_id": uuid.uuid4().hex,
                 "attributes": {"http.status": 200 + i % 5, "user": f"u{i % 1000}"}} for i in range(batch)]
        bodies.append(json.dumps({"logs": logs}).encode())
    return bodies


async def kafka_ceiling(settings, bodies: list[bytes], concurrency: int) -> float:
    topic = settings.ingest_topic + "-ceiling"
    await ensure_topics(settings.replace(ingest_topic=topic))
    p = producer(settings)
    await p.start()
    env = Envelope(Format.LOGTRACE_INGEST.value, "bench", "req", time.time_ns())
    queue = list(bodies)
    started = time.perf_counter()

    async def lane():
        while queue:
            await p.send_and_wait(topic, queue.pop(), headers=to_headers(env))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await p.stop()
    return elapsed


def storage_ceiling(state: Path, bodies: list[bytes], max_rows: int) -> float:
    settings = load_settings({}, state_dir=state)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    env = Envelope(Format.LOGTRACE_INGEST.value, "bench", "req", time.time_ns())
    started = time.perf_counter()
    for table in tables_of(bodies, to_headers(env), max_rows):
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", table))
    elapsed = time.perf_counter() - started
    storage.close()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    bodies = make_bodies(args.records, args.batch)
    records = len(bodies) * args.batch
    results = {"records": records, "batch": args.batch, "concurrency": args.concurrency,
               "body_bytes": sum(map(len, bodies))}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp)
        s = bench.settings
        results["kafka_ceiling_rps"] = records / asyncio.run(kafka_ceiling(s, bodies, args.concurrency))
        results["storage_ceiling_rps"] = records / storage_ceiling(tmp / "ceiling", bodies, s.batch_max_rows)
        with processes(bench, "worker", "gateway"):
            started = time.perf_counter()
            headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
            accept_s = asyncio.run(send_all(s.gateway_url + "/v1/logs/ingest", headers, bodies,
                                            args.concurrency, expect=202))
            bench.wait_rows(records)
            e2e_s = time.perf_counter() - started
    results["sluice_accept_rps"] = records / accept_s
    results["sluice_e2e_rps"] = records / e2e_s
    results["accept_vs_kafka_ceiling"] = results["sluice_accept_rps"] / results["kafka_ceiling_rps"]
    results["e2e_vs_storage_ceiling"] = results["sluice_e2e_rps"] / results["storage_ceiling_rps"]
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
