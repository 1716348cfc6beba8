"""Batching: a record at idle is visible at once, and the worker's memory stays bounded by bytes.

    python -m bench.batching [--probes 50] [--big-records 400] [--record-mib 1] [--engine embedded|process]
                             [--set NAME=VALUE ...] [--json out.json]

One broker, gateway and worker. With ``--engine embedded`` (``make run``'s topology) the worker holds
the ClickHouse engine, so its memory includes the engine's; with ``--engine process`` the engine runs
in a process of its own behind ClickHouse's HTTP interface (sluice/local/chdb_server.py), as a
ClickHouse server would for a deployed worker, and the worker's memory is its own:

* idle freshness — one LogTrace record at a time, the system otherwise idle:
  the time from its 202 to the first query that sees it (polled every
  ``--poll-ms``), p50 / p99 / max over ``--probes`` records;
* peak worker RSS — ``--big-records`` LogTrace records of about
  ``--record-mib`` MiB each, posted over 4 connections as fast as the gateway
  takes them (the worker falls behind: a backlog), until every row is stored;
  the worker's peak resident set (``VmHWM``) and its throughput (and the engine process's peak).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.harness import (Bench, add_set_option, broker, machine, processes, provision, report, send_all,
                           setting_overrides)
from bench.tools import percentile
from sluice.local.chdb_server import engine_process
from sluice.local.harness import post, sql


def idle_freshness(bench: Bench, probes: int, poll_s: float) -> dict:
    url = bench.settings.gateway_url + "/v1/logs/ingest"
    headers = {"Authorization": f"Bearer {bench.probe_key}", "Content-Type": "application/json"}
    seen_ms = []
    for n in range(probes):
        marker = f"idle-{n}-{time.time_ns()}"
        body = {"logs": [{"timestamp": datetime.now(timezone.utc).isoformat(), "level": "INFO",
                          "message": "idle probe", "service": "probe", "trace_id": marker}]}
        status, answer, _ = post(url, json.dumps(body).encode(), headers, timeout=30)
        if status != 202:
            raise RuntimeError(f"probe answered {status}: {answer}")
        acked = time.perf_counter()
        deadline = acked + 60
        while not sql(bench.settings, f"SELECT count() FROM sluice.logs WHERE TenantId = 'probe' "
                                      f"AND TraceId = '{marker}'")[0][0]:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"probe {marker} not visible after 60 s")
            time.sleep(poll_s)
        seen_ms.append((time.perf_counter() - acked) * 1000)
        time.sleep(0.2)  # idle again before the next probe
    seen_ms.sort()
    return {"idle_probes": probes, "idle_freshness_p50_ms": round(percentile(seen_ms, 0.5), 1),
            "idle_freshness_p99_ms": round(percentile(seen_ms, 0.99), 1),
            "idle_freshness_max_ms": round(percentile(seen_ms, 1.0), 1), "poll_ms": poll_s * 1000}


def big_bodies(records: int, record_mib: float) -> tuple[list[bytes], int]:
    message = "x" * 1500
    per_record = max(1, int(record_mib * 2**20 / 1650))
    now = datetime.now(timezone.utc).isoformat()
    bodies = [json.dumps({"logs": [{"timestamp": now, "level": "INFO", "message": f"{r}-{i} {message}",
                                    "service": "big", "trace_id": f"t{r}"} for i in range(per_record)]}).encode()
              for r in range(records)]
    return bodies, per_record


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status (Linux only)")


def big_records(bench: Bench, worker_pid: int, records: int, record_mib: float, engine_pid: int | None) -> dict:
    bodies, per_record = big_bodies(records, record_mib)
    headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
    before_mib = peak_rss_mib(worker_pid)
    started = time.perf_counter()
    sent_s = asyncio.run(send_all(bench.settings.gateway_url + "/v1/logs/ingest", headers, bodies, 4, 202))
    rows, last = bench.settled(records * per_record, quiet_s=2.0)
    return {"big_records": records, "big_record_mib": round(sum(map(len, bodies)) / len(bodies) / 2**20, 2),
            "big_rows": rows, "big_send_s": round(sent_s, 1), "big_stored_s": round(last - started, 1),
            "big_stored_mib_per_s": round(sum(map(len, bodies)) / 2**20 / (last - started), 1),
            "worker_peak_rss_mib_idle": round(before_mib), "worker_peak_rss_mib": round(peak_rss_mib(worker_pid)),
            **({"engine_peak_rss_mib": round(peak_rss_mib(engine_pid))} if engine_pid else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--big-records", type=int, default=400)
    parser.add_argument("--record-mib", type=float, default=1.0)
    parser.add_argument("--batch-max-bytes", type=int, help="the worker's batch_max_bytes (default: the setting's)")
    parser.add_argument("--engine", choices=("embedded", "process"), default="embedded",
                        help="the ClickHouse engine in the worker, or in a process of its own")
    add_set_option(parser)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sets = setting_overrides(args.set, parser)
    with broker() as (b, tmp), contextlib.ExitStack() as stack:
        overrides = {"batch_max_bytes": args.batch_max_bytes} if args.batch_max_bytes else {}
        overrides.update(sets)
        engine_pid = None
        if args.engine == "process":
            url, engine = stack.enter_context(engine_process(tmp / "engine"))
            overrides["clickhouse_url"], engine_pid = url, engine.pid
        bench = provision(b.config.bootstrap, tmp, **overrides)
        with processes(bench, "worker", "gateway") as (worker, _):
            assert worker.proc is not None
            results = {"machine": machine(), "engine": args.engine, "settings": args.set,
                       **idle_freshness(bench, args.probes, args.poll_ms / 1000)}
            results.update(big_records(bench, worker.proc.pid, args.big_records, args.record_mib, engine_pid))
    report(results, args.json, "Sluice batching: idle freshness and worker memory")


if __name__ == "__main__":
    main()
