"""What the attribute indexes of ``logs`` cost at insert, and what they give back to attribute searches.

    python -m bench.attribute_indexes [--records 2000] [--rounds 3] [--runs 15] [--json FILE]

The records are bench/hot_path.py's LogTrace batches (500 entries each, seven attributes an entry:
an HTTP method and status, a user id of 5,000, a tier of three, a cache flag, a duration that is
nearly unique, two tags), mapped by the worker's hot path into Arrow tables of 20,000 rows, as a
worker inserts them. Each variant is a copy of the table the migrations leave (``production``,
read back with ``SHOW CREATE`` from a freshly migrated scratch engine) with skip indexes added or
dropped:

* ``production``  — what the migrations leave;
* ``key_blooms``  — plus the bloom filters on the attribute *keys* (``mapKeys`` of ``LogAttributes``
  and ``ResourceAttributes``) the table had before migration 10;
* ``no_value_bloom`` — production without the bloom filter on the attribute values.

Per round every batch is inserted into every variant (the variants' order turning), merges
stopped, so the CPU of this process (the engine runs in it) is the inserts'; then each table is
merged to one part and that merge's CPU is taken apart. The last round's tables then answer
the attribute searches of a KQL filter through production's SQL (``sluice.query.search.build``, scoped
to a tenant and an environment as a key's searches are):
a value of one row, a user's rows, a tier's, a value no row holds, a key every row holds and a
key none holds; every variant must return the same rows. Reported: median insert and merge CPU
µs per row, the skip indexes' bytes per row, and per search the median wall ms over ``--runs``
rounds and the granules the indexes left to read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import search_layouts
from bench.harness import machine, report
from schemas.clickhouse import ATTRIBUTE_KEY_BLOOMS

BATCH_RECORDS = 40  # of 500 entries: 20,000 rows an insert
# variant -> (indexes added to production's table, indexes dropped from it)
VARIANTS = {"production": ((), ()), "key_blooms": (ATTRIBUTE_KEY_BLOOMS, ()),
            "no_value_bloom": ((), ("idx_log_attr_value",))}


def tables(records: int) -> list:
    """The workload as the worker inserts it: hot-path-mapped Arrow tables of 20,000 rows."""
    import pyarrow as pa

    from bench.hot_path import FORMATS, workload
    from schemas.formats import Format
    from workers import hot

    fmt = Format(FORMATS["logtrace"])
    values, envelopes = workload("logtrace", records, 500)
    out = []
    for i in range(0, len(values), BATCH_RECORDS):
        mapped = hot.map_values(fmt, values[i:i + BATCH_RECORDS], envelopes[i:i + BATCH_RECORDS])
        assert not mapped.declined
        table = pa.concat_tables(hot.joined([r for r in mapped.rows if r is not None])).combine_chunks()
        # Received now: the table's retention counts from ReceivedAt, and the workload's fixed
        # envelopes would fall out of it a month after they were written, taking every row with them.
        received = pa.array([time.time_ns()] * table.num_rows, table.schema.field("ReceivedAt").type)
        out.append(table.set_column(table.schema.get_field_index("ReceivedAt"), "ReceivedAt", received))
    return out


#: the searches that find rows; the others must find none
FINDING = ("a value of one row", "one user's rows", "a tier's rows", "a key every row holds")


def searches(sample: dict) -> dict[str, str]:
    """KQL filters over the attributes, built around one stored row's values."""
    attributes = dict(sample["LogAttributes"])
    return {"a value of one row": f'duration_ms:"{attributes["duration_ms"]}"',
            "one user's rows": f"user.id:{attributes['user.id']}",
            "a tier's rows": "user.tier:pro",
            "a value no row holds": "user.id:u999999",
            "a key every row holds": "user.tier:*",
            "a key no row holds": "no.such.key:*"}


def _create(client, production_ddl: str, db: str, add: tuple[str, ...], drop: tuple[str, ...]) -> None:
    client.command(f"CREATE DATABASE {db}")
    client.command(production_ddl.replace("CREATE TABLE sluice.logs", f"CREATE TABLE {db}.logs", 1))
    for index in add:
        client.command(f"ALTER TABLE {db}.logs ADD INDEX {index.removeprefix('INDEX ')}")
    for name in drop:
        client.command(f"ALTER TABLE {db}.logs DROP INDEX {name}")


def _load(client, production: str, batches: list, r: int) -> dict[str, tuple[float, float]]:
    """Round ``r``: every variant's table made anew and given every batch, merges stopped, then merged to one
    part; per variant, (insert, merge) CPU seconds of this process."""
    names = list(VARIANTS) if r % 2 == 0 else list(VARIANTS)[::-1]
    for name in names:
        client.command(f"DROP DATABASE IF EXISTS attr_{name} SYNC")
        _create(client, production, f"attr_{name}", *VARIANTS[name])
        client.command(f"SYSTEM STOP MERGES attr_{name}.logs")
    spent = dict.fromkeys(names, 0.0)
    for i, batch in enumerate(batches):
        for name in names[i % len(names):] + names[:i % len(names)]:
            began = time.process_time()
            client.insert_arrow(f"attr_{name}.logs", batch, settings={"insert_deduplicate": 0})
            spent[name] += time.process_time() - began
    out = {}
    for name in names:
        client.command(f"SYSTEM START MERGES attr_{name}.logs")
        began = time.process_time()
        client.command(f"OPTIMIZE TABLE attr_{name}.logs FINAL")
        out[name] = (spent[name], time.process_time() - began)
    return out


def _ask(client, sample: dict, filters: dict[str, str], runs: int) -> dict:
    """Each search on each variant: the rows found (checked alike across variants), the granules the indexes
    left, the median wall ms over ``runs`` rounds (the order turning), and each variant's index bytes."""
    from sluice.query.search import LIMITS, SearchRequest, build

    # scoped as the gateway scopes a key's searches: its tenant and its environment
    queries = {(name, shape): build(SearchRequest(filter=f, from_="2026-11-01T00:00:00Z", to="2026-12-01T00:00:00Z",
                                                  limit=100),
                                    sample["TenantId"], f"attr_{name}", time.time_ns(), sample["Environment"])
               for name in VARIANTS for shape, f in filters.items()}
    answers, granules = {}, {}
    for (name, shape), (sql, params) in queries.items():
        # every column but Seq, which the engine numbers anew in each table
        got = [row[:-1] for row in client.query(sql, parameters=params, settings=LIMITS).result_rows]
        if answers.setdefault(shape, got) != got:
            raise RuntimeError(f"{name}: {shape} answered differently from production")
        if bool(got) != (shape in FINDING):  # timings of searches that found nothing by mistake mean nothing
            raise RuntimeError(f"{name}: {shape} found {len(got)} rows")
        granules[name, shape] = search_layouts.granules(client, sql, params)
    wall: dict = {key: [] for key in queries}
    keys = list(queries)
    for r in range(runs):
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            sql, params = queries[key]
            began = time.perf_counter()
            client.query(sql, parameters=params, settings=LIMITS)
            wall[key].append((time.perf_counter() - began) * 1000)
    sizes = {name: dict(client.query(
        "SELECT name, data_compressed_bytes FROM system.data_skipping_indices WHERE database = {d:String}",
        parameters={"d": f"attr_{name}"}).result_rows) for name in VARIANTS}
    return {"rows_found": {shape: len(a) for shape, a in answers.items()}, "granules": granules,
            "wall_ms": {key: statistics.median(times) for key, times in wall.items()}, "sizes": sizes}


def run(records: int, rounds: int, runs: int) -> dict:
    from sluice.settings import load_settings
    from sluice.storage import Storage, migrate

    batches = tables(records)
    rows = sum(t.num_rows for t in batches)
    sample = batches[len(batches) // 2].slice(1234, 1).to_pylist()[0]
    filters = searches(sample)
    state = Path(tempfile.mkdtemp(prefix="sluice-bench-attr-"))
    settings = load_settings({}, state_dir=state)
    storage = Storage(settings)
    try:
        storage.run_sync(migrate, settings)
        production = storage.run_sync(lambda c: c.query("SHOW CREATE TABLE sluice.logs").result_rows[0][0])
        spent = [storage.run_sync(_load, production, batches, r) for r in range(rounds)]
        asked = storage.run_sync(_ask, sample, filters, runs)
    finally:
        storage.close()
        shutil.rmtree(state, ignore_errors=True)
    out: dict = {**machine(), "records": records, "rows": rows, "rounds": rounds, "runs": runs, "variants": {}}
    for name in VARIANTS:
        inserts = [round(r[name][0] * 1e6 / rows, 2) for r in spent]
        out["variants"][name] = {
            "insert_cpu_us_per_row": round(statistics.median(inserts), 2),
            "merge_cpu_us_per_row": round(statistics.median(r[name][1] * 1e6 / rows for r in spent), 2),
            "insert_cpu_us_per_row_each": inserts,
            "index_bytes_per_row": {i: round(b / rows, 3) for i, b in asked["sizes"][name].items()},
            "search_wall_ms": {s: round(asked["wall_ms"][name, s], 2) for s in filters},
            "granules_read": {s: asked["granules"][name, s] for s in filters}}
    out["searches"] = {s: {"filter": f, "rows": asked["rows_found"][s]} for s, f in filters.items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2000, help="LogTrace batches of 500 entries")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    report(run(args.records, args.rounds, args.runs), args.json, "attribute indexes: insert cost against search")
    return 0


if __name__ == "__main__":
    sys.exit(main())
