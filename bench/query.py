"""Search latency over a large table: p50/p99 for a field filter, a full-text term and a combined filter.

    python -m bench.query [--rows 10000000] [--runs 50]

Fills the embedded engine of this process with ``--rows`` synthetic rows
(20 tenants, 50 services, a 5,000-message vocabulary, two attributes per row,
spread over the last 7 days), then times searches compiled exactly as the
API compiles them, each for one tenant over the last 24 hours, with the
query limits the API uses. Every run varies the tenant and the values, so the
figures are not a cache's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench.harness import report
from sluice.query.search import LIMITS, SearchRequest, build
from sluice.settings import load_settings
from sluice.storage import Storage, migrate

WORDS = ("timeout connection refused payment order user login cache miss retry failed database primary "
         "replica request response latency upstream gateway checkout cart inventory shipping token expired "
         "invalid session queue worker batch commit rollback deadlock disk full memory pressure").split()
LEVELS = np.array(["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"])


def vocabulary(rnd: random.Random, n: int = 5000) -> np.ndarray:
    return np.array([" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 10))) + f" #{i}" for i in range(n)])


def _flat(values, type_=None) -> pa.Array:
    array = pa.array(values, type_)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def chunk(rows: int, now_ns: int, messages: np.ndarray, gen: np.random.Generator) -> pa.Table:
    tenants = np.char.add("t", gen.integers(0, 20, rows).astype(str))
    services = np.char.add("svc-", gen.integers(0, 50, rows).astype(str))
    ts = now_ns - gen.integers(0, 7 * 86400 * 10**9, rows)
    keys = np.tile(np.array(["user_id", "status_code"]), rows)
    values = np.empty(rows * 2, dtype=object)
    values[0::2] = np.char.add("u", gen.integers(0, 100_000, rows).astype(str))
    values[1::2] = gen.choice(np.array(["200", "201", "404", "500", "503"]), rows)
    attrs = pa.MapArray.from_arrays(pa.array(np.arange(0, rows * 2 + 1, 2, dtype=np.int32)),
                                    _flat(keys, pa.string()), _flat(values, pa.string()))
    stamps = pa.array(ts, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    return pa.table({
        "TenantId": pa.array(tenants), "Environment": pa.array(np.full(rows, "production")),
        "Source": pa.array(np.full(rows, "logtrace")), "RequestId": pa.array(np.char.add("r", ts.astype(str))),
        "ReceivedAt": stamps, "Timestamp": stamps, "SeverityText": pa.array(gen.choice(LEVELS, rows)),
        "SeverityNumber": pa.array(np.full(rows, 9, dtype=np.uint8)), "ServiceName": pa.array(services),
        "Body": pa.array(gen.choice(messages, rows)), "LogAttributes": attrs,
    })


def timed(storage: Storage, request: SearchRequest, tenant: str) -> float:
    sql, params = build(request, tenant, "sluice", time.time_ns())
    started = time.perf_counter()
    storage.run_sync(lambda c: c.query(sql, parameters=params, settings=LIMITS).result_rows)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rnd, gen = random.Random(1), np.random.default_rng(1)
    messages = vocabulary(rnd)
    settings = load_settings({}, state_dir=Path(tempfile.mkdtemp(prefix="sluice-bench-query-")), retention_days=30)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    now = time.time_ns()
    started = time.perf_counter()
    for offset in range(0, args.rows, 1_000_000):
        table = chunk(min(1_000_000, args.rows - offset), now, messages, gen)
        storage.run_sync(lambda c, t: c.insert_arrow("sluice.logs", t), table)
    storage.run_sync(lambda c: c.command("OPTIMIZE TABLE sluice.logs FINAL"))
    results: dict = {"rows": args.rows, "load_s": round(time.perf_counter() - started, 1)}
    shapes = {
        "field": lambda: f"service:svc-{rnd.randrange(50)} AND level:ERROR",
        "full_text": lambda: rnd.choice(WORDS),
        "combined": lambda: f'(service:svc-{rnd.randrange(50)} OR service:svc-{rnd.randrange(50)}) '
                            f'AND "{rnd.choice(WORDS)}" AND status_code>=500',
    }
    for name, make in shapes.items():
        latencies = sorted(timed(storage, SearchRequest(filter=make(), from_="-24h", limit=100), f"t{rnd.randrange(20)}")
                           for _ in range(args.runs))
        results[f"{name}_p50_ms"] = round(statistics.median(latencies), 1)
        results[f"{name}_p99_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1)
    storage.close()
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
