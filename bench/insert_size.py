"""ClickHouse's CPU per stored row by insert size, its background merges included.

    python -m bench.insert_size [--rows 2400000] [--sizes 12500,25000,50000,100000] [--merge-bases 10] [--json FILE]

For each size, a fresh embedded engine (the migrations' ``logs`` table, its
indexes and codecs) takes ``--rows`` LogFlux rows as inserts of that many
rows, each with its own deduplication token as the worker sends them; the
figure is the process's CPU (every thread: the insert and the merges it
causes) from the first insert until the table's parts stop changing, per row.
The rows are built by the worker's own chain (decrypt, map, ``to_table``)
from the same kind of encrypted batches, so only the insert size differs.

What it decides: how many rows a worker should put in one insert
(``SLUICE_BATCH_MAX_RECORDS``, cut per partition). A merge rewrites every row
of the parts it merges, and small parts take more rounds of merging to reach
the sizes the table settles at. ``--merge-bases`` runs each size again with the
table's ``merge_selector_base`` set to each value (migration 6 sets 10): a larger
base merges more parts at once, so fewer rounds, and leaves more parts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa

from bench.harness import machine, report
from bench.logflux import SECRET, batches, session_entries, session_keys
from bench.tools import process_cpu_s
from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format
from sluice.settings import load_settings
from sluice.storage import connect, migrate
from schemas.rows.columnar import to_table
from workers.decrypt import Decryptor, KeyCache
from workers.logflux import normalize_logflux

QUIET_S = 5.0  # parts unchanged and no merge running for this long: the table has settled


def logflux_rows(count: int) -> pa.Table:
    """``count`` rows as the worker builds them from encrypted batches of 100."""
    decryptor = Decryptor(lambda tenant: [(1, SECRET)], KeyCache(100))
    env = Envelope(Format.LOGFLUX_BATCH.value, "bench", "req_bench", time.time_ns())
    parts = [normalize_logflux(decode(Format.LOGFLUX_BATCH, body), env, decryptor)[0]
             for body in batches(session_entries(count, session_keys(16), "size"))]
    return to_table(parts)


def cpu_per_row(size: int, total: int, merge_base: int | None = None) -> dict[str, float]:
    """Insert ``total`` rows ``size`` at a time into a fresh engine (``logs`` with ``merge_base`` as its
    ``merge_selector_base``, or as the migrations leave it); CPU µs per row, and the parts left.
    Run in a process of its own: chDB has one engine per process."""
    block = logflux_rows(size)
    settings = load_settings({}, state_dir=Path(tempfile.mkdtemp(prefix="sluice-insert-size-")))
    client = connect(settings)
    migrate(client, settings)
    if merge_base is not None:
        client.command(f"ALTER TABLE {settings.clickhouse_database}.logs "
                       f"MODIFY SETTING merge_selector_base = {merge_base}")
    started, inserted = process_cpu_s(os.getpid()), 0
    while inserted < total:
        token = f"bench:{size}:{inserted}"
        client.insert_arrow(f"{settings.clickhouse_database}.logs", block,
                            settings={"insert_deduplicate": 1, "insert_deduplication_token": token})
        inserted += size
    inserts_done = process_cpu_s(os.getpid())
    parts = settle(client, settings.clickhouse_database)
    finished = process_cpu_s(os.getpid())
    client.close()
    return {"inserts_us_per_row": (inserts_done - started) / inserted * 1e6,
            "with_merges_us_per_row": (finished - started) / inserted * 1e6, "parts_left": parts}


def settle(client, db: str) -> int:
    """Wait until ``logs`` has had the same active parts and no merge for ``QUIET_S``; the part count."""
    last, since = None, time.monotonic()
    while True:
        parts = client.query(f"SELECT count() FROM system.parts WHERE database = '{db}' AND table = 'logs' "
                             "AND active").result_rows[0][0]
        merging = client.query(f"SELECT count() FROM system.merges WHERE database = '{db}'").result_rows[0][0]
        if parts != last or merging:
            last, since = parts, time.monotonic()
        elif time.monotonic() - since >= QUIET_S:
            return parts
        time.sleep(0.25)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_400_000, help="rows inserted at each size")
    ap.add_argument("--sizes", default="12500,25000,50000,100000", help="rows per insert, comma-separated")
    ap.add_argument("--merge-bases", default="", help="merge_selector_base values to run each size with, "
                                                       "comma-separated (default: the migrations' own)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    bases = [int(base) for base in args.merge_bases.split(",") if base]
    results: dict = {**machine(), "rows_per_size": args.rows}
    spawn = multiprocessing.get_context("spawn")
    for size in sizes:
        for base in bases or [None]:
            name = f"insert_{size}" if base is None else f"insert_{size}_base_{base}"
            with ProcessPoolExecutor(1, mp_context=spawn) as child:
                results[name] = child.submit(cpu_per_row, size, args.rows, base).result()
    if bases:
        report(results, args.json, "ClickHouse CPU per row by insert size and merge base")
        return 0
    smallest, largest = results[f"insert_{sizes[0]}"], results[f"insert_{sizes[-1]}"]
    results["largest_vs_smallest_with_merges"] = largest["with_merges_us_per_row"] / smallest["with_merges_us_per_row"]
    report(results, args.json, "ClickHouse CPU per row by insert size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
