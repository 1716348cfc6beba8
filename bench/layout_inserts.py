"""What a layout of the logs table costs to write: the CPU of inserts and of the merge, per variant.

    python -m bench.layout_inserts [--records 1000000] [--rounds 6] [--only production,migration_7]

The variants are bench/search_layouts.py's. The records of bench/search_corpus.py, as Arrow
tables of 16,000 records (about what a worker inserts per partition at a time), are inserted
into each variant's ``logs`` table in a scratch chDB with merges stopped, then merged to one
part (``OPTIMIZE … FINAL``). The CPU of this process (the engine runs in it) is measured for the
inserts and for the merge apart. Each round builds every variant's table once, in the opposite
order to the round before, so other work on the machine falls on all alike; the median of the
rounds is reported.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import machine, report
from bench.search_corpus import HOUR_NS
from bench.search_layouts import VARIANTS, arrow_batch, ddl

BATCH = 16_000


def run(records: int, rounds: int, names: list[str]) -> dict:
    import clickhouse_connect
    by_name = {v.name: v for v in VARIANTS}
    now_ns = time.time_ns()
    start_ns = (now_ns // HOUR_NS - 2) * HOUR_NS
    batches = [arrow_batch(records, start_ns, first, min(BATCH, records - first), now_ns)
               for first in range(0, records, BATCH)]
    inserts: dict[str, list[float]] = {name: [] for name in names}
    merges: dict[str, list[float]] = {name: [] for name in names}
    tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-inserts-"))
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{tmp / 'clickhouse'}")
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                db = f"inserts_{name}_{r}"
                client.command(f"CREATE DATABASE {db}")
                client.command(ddl(by_name[name], db))
                client.command(f"SYSTEM STOP MERGES {db}.logs")
                began = time.process_time()
                for batch in batches:
                    client.insert_arrow(f"{db}.logs", batch)
                inserts[name].append(time.process_time() - began)
                client.command(f"SYSTEM START MERGES {db}.logs")
                began = time.process_time()
                client.command(f"OPTIMIZE TABLE {db}.logs FINAL")
                merges[name].append(time.process_time() - began)
                client.command(f"DROP DATABASE {db} SYNC")
        client.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {**machine(), "records": records, "rounds": rounds, "batch_records": BATCH, "variants": {
        name: {"insert_cpu_s": statistics.median(inserts[name]), "merge_cpu_s": statistics.median(merges[name]),
               "insert_cpu_s_each": inserts[name], "merge_cpu_s_each": merges[name]} for name in names}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--only", default="production,migration_7", help="comma-separated variant names")
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    results = run(args.records, args.rounds, args.only.split(","))
    report(results, args.json, "what a layout costs to write")
    return 0


if __name__ == "__main__":
    sys.exit(main())
