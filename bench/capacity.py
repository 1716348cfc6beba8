"""Sizing on paper: the measured CPU per record of each stage, turned into what 100k, 1M and 10M logs/s need.

    python -m bench.capacity [--peer .sluice/bench/peer.json] [--hot-path .sluice/bench/hot_path.json]
                             [--write docs/capacity.md]

Reads the reports ``make bench-peer`` and ``make bench-hot-path`` leave in ``.sluice/bench/`` (``make bench``
runs both, then this), so the table moves with the code:

* CPU µs per stored record of each process of Sluice under the peer benchmark's load (gateway, Kafka broker,
  worker with its embedded engine), and of VictoriaLogs on the same records;
* the worker's split between mapping and ClickHouse's insert, from the hot-path benchmark (LogTrace):
  ``hot`` is the mapping alone, ``hot+insert`` adds the engine's insert, so the insert's share of the
  worker moves to ClickHouse's own nodes once the worker writes to a server;
* bytes per record on the wire (the peer benchmark's LogTrace request bodies, made again here) and on disk.

Every target rate is then a matter of arithmetic under the assumptions ``ASSUMPTIONS`` names (pod size,
utilization target, replication factors): the document says them next to the table. Measured on one
2-core machine with everything co-located, so read the table as an order of magnitude for planning, and
re-measure on your own hardware with ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

RATES = (100_000, 1_000_000, 10_000_000)
POD_CORES = 2  # cores per gateway/worker pod
UTILIZATION = 0.6  # the share of a pod's cores a plan uses: headroom for bursts, rebalances and merges
KAFKA_RF = 3  # every record is written by three brokers (min.insync.replicas = 2)
CLICKHOUSE_REPLICAS = 2  # each replica merges its own copy of every part
PARTITIONS_PER_WORKER = 2  # so a rebalance moves whole partitions without leaving a worker idle
ASSUMPTIONS = {"pod_cores": POD_CORES, "utilization": UTILIZATION, "kafka_replication_factor": KAFKA_RF,
               "clickhouse_replicas": CLICKHOUSE_REPLICAS, "partitions_per_worker": PARTITIONS_PER_WORKER}
BEGIN, END = "<!-- capacity:begin -->", "<!-- capacity:end -->"


@dataclass(frozen=True)
class Stages:
    """CPU µs per stored record by stage, and bytes per record."""

    gateway_us: float
    broker_us: float  # one broker, replication factor 1
    worker_map_us: float  # the worker without ClickHouse's insert
    insert_us: float  # ClickHouse's insert (and the merges it causes, in the embedded engine)
    wire_bytes: float  # per record, as the clients send it (uncompressed JSON)
    disk_bytes: float  # per record, in ClickHouse
    peer_us: float  # VictoriaLogs, everything included


def wire_bytes(batch: int) -> float:
    """Bytes per record of the bodies bench.peer sends, at ``batch`` records a request."""
    from bench.e2e import BODIES, make_bodies
    bodies = make_bodies(BODIES, batch)
    return sum(map(len, bodies)) / (len(bodies) * batch)


def stages(peer: dict, hot: dict) -> Stages:
    """The per-stage figures of a peer report and a hot-path report."""
    sluice = peer["sluice"]
    per = {role: cpu_s / sluice["records_stored"] * 1e6 for role, cpu_s in sluice["cpu_s_by_process"].items()}
    lt = hot["logtrace"]
    insert_share = 1 - lt["hot_cpu_us_per_row"] / lt["hot+insert_cpu_us_per_row"]
    return Stages(per["gateway"], per["broker"], per["worker"] * (1 - insert_share), per["worker"] * insert_share,
                  wire_bytes(peer["batch"]), sluice["disk_bytes_per_record"],
                  peer["victorialogs"]["cpu_us_per_record"])


def plan(s: Stages, rate: int) -> dict:
    """What ``rate`` records/s needs under ``ASSUMPTIONS``."""
    def cores(us: float) -> float:
        return rate * us / 1e6

    def pods(us: float) -> int:
        return max(1, math.ceil(cores(us) / (POD_CORES * UTILIZATION)))

    workers = pods(s.worker_map_us)
    return {
        "rate": rate,
        "gateway_cores": cores(s.gateway_us), "gateway_pods": pods(s.gateway_us),
        "broker_cores": cores(s.broker_us) * KAFKA_RF,
        "partitions": workers * PARTITIONS_PER_WORKER,
        "worker_cores": cores(s.worker_map_us), "worker_pods": workers,
        "clickhouse_cores": cores(s.insert_us) * CLICKHOUSE_REPLICAS,
        "clickhouse_shards": max(1, math.ceil(cores(s.insert_us) / (8 * UTILIZATION))),  # 8-core replicas
        "ingress_mb_s": rate * s.wire_bytes / 1e6,
        # The records as the gateway publishes them; the producer's compression (SLUICE_KAFKA_COMPRESSION)
        # shrinks this several times on such text.
        "kafka_replication_mb_s": rate * s.wire_bytes * (KAFKA_RF - 1) / 1e6,
        "disk_gb_per_day": rate * s.disk_bytes * 86_400 * CLICKHOUSE_REPLICAS / 1e9,
        "victorialogs_cores": cores(s.peer_us),
    }


def _n(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"


def table(s: Stages) -> str:
    """The Markdown the document holds between its markers."""
    rows = [plan(s, rate) for rate in RATES]
    head = "| | " + " | ".join(f"{r['rate']:,} logs/s" for r in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]
    for label, key in (("gateway cores", "gateway_cores"), ("gateway pods", "gateway_pods"),
                       ("Kafka broker cores (RF 3)", "broker_cores"), ("partitions", "partitions"),
                       ("worker cores", "worker_cores"), ("worker pods", "worker_pods"),
                       ("ClickHouse insert + merge cores (2 replicas)", "clickhouse_cores"),
                       ("ClickHouse shards (8-core replicas)", "clickhouse_shards"),
                       ("ingress MB/s (uncompressed JSON)", "ingress_mb_s"),
                       ("Kafka replication MB/s (before compression)", "kafka_replication_mb_s"),
                       ("ClickHouse disk GB/day (2 replicas)", "disk_gb_per_day"),
                       ("VictoriaLogs cores, same records (for scale)", "victorialogs_cores")):
        lines.append(f"| {label} | " + " | ".join(_n(r[key]) for r in rows) + " |")
    measured = (f"Measured per record: gateway {s.gateway_us:.1f} µs, broker {s.broker_us:.1f} µs (one broker), "
                f"worker mapping {s.worker_map_us:.1f} µs, ClickHouse insert {s.insert_us:.1f} µs; "
                f"{s.wire_bytes:.0f} bytes on the wire, {s.disk_bytes:.1f} bytes on disk; "
                f"VictoriaLogs {s.peer_us:.1f} µs.")
    return "\n".join([measured, "", *lines])


def write(document: Path, s: Stages) -> None:
    """Replace the table between the document's markers."""
    text = document.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{document} has no {BEGIN} … {END} markers")
    document.write_text(pattern.sub(lambda _: f"{BEGIN}\n{table(s)}\n{END}", text))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", type=Path, default=Path(".sluice/bench/peer.json"))
    ap.add_argument("--hot-path", type=Path, default=Path(".sluice/bench/hot_path.json"))
    ap.add_argument("--write", type=Path, help="replace the table in this document (docs/capacity.md)")
    args = ap.parse_args()
    s = stages(json.loads(args.peer.read_text()), json.loads(args.hot_path.read_text()))
    if args.write:
        write(args.write, s)
    print(table(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
