"""Logstash json_lines over TCP, end to end, against the same events over HTTP in the same run.

    python -m bench.logstash [--events 200000] [--connections 8]

Starts its own broker, gateway (with the TCP listener) and worker. The same
events — Logstash-shaped, about 300 bytes each — go once over
``--connections`` TCP connections as json_lines, once as LogTrace HTTP
batches of 500 over as many connections; each phase is timed from its first
byte until its last event is queryable in ClickHouse. (When the senders' last
byte leaves says little: socket buffers on both ends hold tens of megabytes.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from bench.harness import broker, processes, provision, report, send_all
from sluice.local.harness import free_port


def events(n: int, tag: str) -> list[dict]:
    return [{"@timestamp": "2026-11-23T10:22:01.123Z", "@version": "1", "message": f"{tag} {i} GET /api/orders/{i}",
             "level": "ERROR" if i % 10 == 0 else "INFO", "logger_name": f"app.module{i % 8}",
             "host": f"web-{i % 4}", "tags": ["bench"], "user_id": i % 1000, "duration_ms": i % 250}
            for i in range(n)]


def send_tcp(host: str, port: int, token: str, items: list[dict], connections: int) -> float:
    payloads = []
    for c in range(connections):
        part = items[c::connections]
        payloads.append(b"".join(json.dumps({**e, "sluice_token": token}).encode() + b"\n" for e in part))

    def one(payload: bytes) -> None:
        with socket.create_connection((host, port)) as conn:
            view = memoryview(payload)
            for start in range(0, len(view), 1 << 16):
                conn.sendall(view[start:start + (1 << 16)])

    threads = [threading.Thread(target=one, args=(p,)) for p in payloads]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    n = args.events
    results: dict = {"cores": os.cpu_count(), "events": n, "connections": args.connections}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, logstash_tcp_port=free_port(), logstash_batch_events=500)
        s = bench.settings
        with processes(bench, "worker", "gateway"):
            started = time.perf_counter()
            send_tcp(s.logstash_host, s.logstash_tcp_port, bench.key, events(n, "tcp"), args.connections)
            bench.wait_rows(n)
            tcp_e2e_s = time.perf_counter() - started

            items = events(n, "http")
            bodies = [json.dumps({"logs": [{"timestamp": e["@timestamp"], "level": e["level"], "message": e["message"],
                                            "service": e["logger_name"], "host": e["host"], "user_id": e["user_id"]}
                                           for e in items[i:i + 500]]}).encode() for i in range(0, n, 500)]
            started = time.perf_counter()
            headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
            asyncio.run(send_all(s.gateway_url + "/v1/logs/ingest", headers, bodies, args.connections, expect=202))
            bench.wait_rows(2 * n)
            http_e2e_s = time.perf_counter() - started
    results.update({
        "tcp e2e events/s": n / tcp_e2e_s,
        "http (LogTrace, batches of 500) e2e events/s": n / http_e2e_s,
        "tcp e2e vs http e2e": http_e2e_s / tcp_e2e_s,
    })
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
