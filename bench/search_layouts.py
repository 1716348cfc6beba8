"""Layouts of the logs table by measurement: sort key, tiebreak, body index and codecs, in the embedded engine.

    python -m bench.search_layouts [--records 1000000] [--runs 7] [--only NAME,...] [--json FILE]

The records of bench/search_corpus.py are loaded once into a scratch chDB
(never Sluice's data) and copied into one database per variant, each holding
a ``logs`` table: the declared columns and the indexes before migration 7
(schemas/clickhouse.py) with the variant's changes; ``production`` is the table
the migrations leave (migration 7's layout, migration 9's default codec, migration 10's indexes),
``migration_7`` its indexes in LZ4 as before migration 9. Each variant's table is merged to
one part (``OPTIMIZE … FINAL``), so every variant is measured on settled data. Then,
for the query shapes of bench/search.py, the median engine time of ``--runs``
warm rounds (one run first, not counted; every variant in turn in each round),
through the same clickhouse-connect client the worker uses, and the bytes on disk (``system.parts``), split by
column and by skip index. ``production`` runs the production SQL (sluice/query/
search.py and stats.py, unchanged); the other variants run the same query with
the variant's spelling of the tiebreak and the body checks, and every answer
is checked against production's: the same rids in the same order, the same
count, the same buckets. ``before`` is the layout and SQL before migration 7.

The SQL each variant runs, and its body checks, are spelled in bench/search_sql.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from bench.harness import machine, report
from bench.search import shapes
from bench.search_corpus import HOUR_NS, records
from bench.search_sql import ENVIRONMENT, TENANT, normalized, statement
from schemas.clickhouse import BODY_INDEX, LOGS_COLUMNS, LOGS_COLUMNS_10, LOGS_DEFAULT_CODEC, SORT_KEY
from schemas.tables import LOGS

TODAY_ORDER = "TenantId, toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp"  # before migration 7
NEW_ORDER = SORT_KEY
HASH = "cityHash64(RequestId, Body, ServiceName, SeverityText, toString(LogAttributes))"  # the tiebreak before it
_BODY_INDEX = re.compile(r"^\s*INDEX idx_lower_body .*$", re.M)


@dataclass(frozen=True)
class Variant:
    name: str
    what: str  # what differs from the layout before migration 7, in a few words
    order_by: str = NEW_ORDER
    tiebreak: str = "Seq"  # the page order's second key: "Seq" (written at insert) or the hash before migration 7
    body: str = "proven"  # how a text value is checked: check, proven, tokenbf, ngram (see the docstring)
    body_index: str | None = "text(tokenizer = 'splitByNonAlpha')"  # on lower(Body); None: no body index
    codecs: dict[str, str] = field(default_factory=dict)  # column -> CODEC(...) replacing the declared one
    types: dict[str, str] = field(default_factory=dict)  # column -> type replacing the declared one
    settings: str = ""  # table SETTINGS, e.g. the text index's serialization version
    base: str = "before"  # whose columns and indexes the changes apply to: "before" migration 7, or "production"
    # The table's default codec (its skip indexes', those of what declares none); None: the base's
    # (production's since migration 9, LZ4 before it).
    default_codec: str | None = None


PACKED = "text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')"  # bit-packed, default dictionary blocks


VARIANTS = (
    Variant("production", "the table the migrations leave and the production SQL", body_index=BODY_INDEX,
            base="production"),
    Variant("prod_big_blocks", "production, compression blocks of 1-8 MiB instead of 64 KiB-1 MiB", body_index=BODY_INDEX,
            base="production", settings="min_compress_block_size = 1048576, max_compress_block_size = 8388608"),
    Variant("prod_request_id_lowcard", "production, RequestId LowCardinality", body_index=BODY_INDEX,
            base="production", types={"RequestId": "LowCardinality(String)"}),
    Variant("migration_7", "production's table with its skip indexes in LZ4, as before migration 9",
            body_index=BODY_INDEX, base="production", default_codec="LZ4"),
    Variant("prod_index_zstd3", "production, ZSTD(3) instead of ZSTD(1) for the skip indexes", body_index=BODY_INDEX,
            base="production", default_codec="ZSTD(3)"),
    Variant("prod_dict_16k", "production, dictionary blocks of 16384 tokens",
            body_index=BODY_INDEX.replace("4096", "16384"), base="production"),
    Variant("prod_dict_1k", "production, dictionary blocks of 1024 tokens",
            body_index=BODY_INDEX.replace("4096", "1024"), base="production"),
    Variant("prod_raw_postings", "production, posting lists not bit-packed (ZSTD alone)",
            body_index=BODY_INDEX.replace("posting_list_codec = 'bitpacking', ", ""), base="production"),
    Variant("prod_text_granularity_1", "production, text index declared GRANULARITY 1 (the engine keeps one per part)",
            body_index=f"{BODY_INDEX} GRANULARITY 1", base="production"),
    Variant("before", "the table and SQL before migration 7", TODAY_ORDER, HASH, "check"),
    Variant("sort_tenant_env_time", "sort key (TenantId, Environment, Timestamp); hash tiebreak, position checks",
            "TenantId, Environment, Timestamp", HASH, "check"),
    Variant("seq_tiebreak", "+ Seq tiebreak written at insert", body="check"),
    Variant("proven_words", "+ no position check for a single word (proposed)"),
    Variant("text_frontcoding", "proposed, text index with front coding and 512-token dictionary blocks",
            body_index="text(tokenizer = 'splitByNonAlpha', dictionary_block_frontcoding_compression = 1, "
                       "dictionary_block_size = 512)"),
    Variant("text_bitpacking", "proposed, text index posting lists bit-packed",
            body_index="text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')"),
    Variant("text_no_positions", "proposed, bit-packed text index without token positions",
            body_index="text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')",
            settings="text_index_serialization_version = 'v1_with_codec'"),
    Variant("phrase_index", "proposed, bit-packed text index answers phrases too (hasPhrase)", body="phrase",
            body_index="text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')"),
    Variant("five_minute_key", "today's sort key (+ Environment), Seq tiebreak, bit-packed text, phrases by index",
            "TenantId, Environment, toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp, Seq", body="phrase",
            body_index="text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')"),
    Variant("recommended", "phrase_index with Body ZSTD(9) and RequestId LowCardinality", body="phrase",
            body_index="text(tokenizer = 'splitByNonAlpha', posting_list_codec = 'bitpacking')",
            codecs={"Body": "ZSTD(9)"}, types={"RequestId": "LowCardinality(String)"}),
    Variant("tokenbf", "proposed, tokenbf_v1(32768, 3, 0) instead of the text index", body="tokenbf",
            body_index="tokenbf_v1(32768, 3, 0) GRANULARITY 1"),
    Variant("ngrambf", "proposed, ngrambf_v1(4, 32768, 3, 0) instead of the text index", body="ngram",
            body_index="ngrambf_v1(4, 32768, 3, 0) GRANULARITY 1"),
    Variant("no_body_index", "proposed, no body index", body_index=None),
    Variant("zstd3", "proposed, ZSTD(3) for Body and the maps", codecs={
        "Body": "ZSTD(3)", "LogAttributes": "ZSTD(3)", "ResourceAttributes": "ZSTD(3)"}),
    Variant("body_zstd9", "proposed, ZSTD(9) for Body", codecs={"Body": "ZSTD(9)"}),
    Variant("doubledelta_times", "proposed, DoubleDelta for the times", codecs={
        "Timestamp": "DoubleDelta, ZSTD(1)", "ReceivedAt": "DoubleDelta, ZSTD(1)"}),
    Variant("lowcard_request_id", "proposed, RequestId LowCardinality", types={"RequestId": "LowCardinality(String)"}),
)


def ddl(v: Variant, db: str) -> str:
    """The variant's CREATE TABLE: the columns and indexes before migration 7 (or production's,
    migration 10's) with its changes (``Seq`` is declared; the benchmark writes it)."""
    columns = LOGS_COLUMNS_10 if v.base == "production" else LOGS_COLUMNS
    for name, codec in v.codecs.items():
        declared = LOGS.column(name)
        columns = columns.replace(f"    {declared.ddl}", f"    {declared.name} {declared.type} CODEC({codec})")
    for name, type_ in v.types.items():
        declared = LOGS.column(name)
        columns = columns.replace(f"    {declared.ddl}", f"    {declared.name} {type_} CODEC({declared.codec})")
    body = f"    INDEX idx_lower_body lower(Body) TYPE {v.body_index}" if v.body_index else ""
    columns = _BODY_INDEX.sub(body, columns).replace(",\n\n", "\n").rstrip().rstrip(",")
    codec = v.default_codec or (LOGS_DEFAULT_CODEC if v.base == "production" else None)
    settings = ", ".join(s for s in (v.settings, codec and f"default_compression_codec = '{codec}'") if s)
    return (f"CREATE TABLE {db}.logs ({columns}\n) ENGINE = MergeTree "
            f"PARTITION BY toDate(ReceivedAt) ORDER BY ({v.order_by})" + (f" SETTINGS {settings}" if settings else ""))


_LEVELS = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}


def arrow_batch(n: int, start_ns: int, first: int, count: int, now_ns: int) -> pa.Table:
    """Records ``first`` .. ``first + count`` as the worker inserts them (LogTrace): without ``Seq``, which
    the engine writes as production's does (its DEFAULT), so its bytes on disk are production's."""
    batch = list(records(n, start_ns, first=first, count=count))
    size = len(batch)
    known = {
        "TenantId": [TENANT] * size, "Environment": [ENVIRONMENT] * size, "Source": ["logtrace"] * size,
        "RequestId": [f"req-{(first + i) // 1000:08d}" for i in range(size)],
        "ReceivedAt": [now_ns] * size,
        "Timestamp": [start_ns + ((first + i) * (HOUR_NS // 1000) // n) * 1000 for i in range(size)],
        "SeverityText": [r["level"] for r in batch], "SeverityNumber": [_LEVELS[r["level"]] for r in batch],
        "ServiceName": [r["service"] for r in batch], "Body": [r["message"] for r in batch],
        "LogAttributes": [list(r["attributes"].items()) for r in batch],
    }
    schema = LOGS.arrow_schema
    arrays = []
    for f in schema:
        if f.name in known:
            arrays.append(pa.array(known[f.name], f.type))
        elif pa.types.is_map(f.type):
            arrays.append(pa.array([[]] * size, f.type))
        elif pa.types.is_string(f.type):
            arrays.append(pa.array([""] * size, f.type))
        else:
            arrays.append(pa.array([0] * size, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def granules(client, sql: str, params: dict) -> str:
    """The last ``Granules: selected/total`` of ``EXPLAIN indexes = 1``: what every index left to read."""
    lines = [r[0] for r in client.query("EXPLAIN indexes = 1 " + sql, parameters=params).result_rows]
    found = [line.split("Granules:")[1].strip() for line in lines if "Granules:" in line]
    return found[-1] if found else ""


def disk(client, db: str) -> dict:
    total, rows = client.query(f"SELECT sum(bytes_on_disk), sum(rows) FROM system.parts "
                               f"WHERE database = '{db}' AND active").result_rows[0]
    columns = client.query(f"SELECT column, sum(column_bytes_on_disk) AS b FROM system.parts_columns "
                           f"WHERE database = '{db}' AND active GROUP BY column ORDER BY b DESC").result_rows
    indexes = client.query(f"SELECT name, data_compressed_bytes FROM system.data_skipping_indices "
                           f"WHERE database = '{db}'").result_rows
    return {"bytes": int(total), "bytes_per_record": int(total) / max(int(rows), 1),
            "columns": {c: int(b) for c, b in columns if int(b) > 1024},
            "indexes": {name: int(b) for name, b in indexes}}


def measure(client, tables: dict[str, tuple[Variant, str]], n: int, runs: int, start_ns: int, now_ns: int) -> dict:
    """Each variant's answers to the query shapes, checked against production's (the first variant's),
    then ``runs`` rounds in which every variant asks every shape once, the variants' order turning each
    round, so work elsewhere on the machine falls on all of them alike. Per variant and shape: the
    median wall and CPU ms, and what the indexes left to read; and the answers."""
    from sluice.query.search import LIMITS
    end_ns = start_ns + HOUR_NS - 1
    queries = {name: [(shape, *statement(v, db, shape, start_ns, end_ns, now_ns)) for shape in shapes(n)]
               for name, (v, db) in tables.items()}
    out = {name: {"what": v.what, "medians_ms": {}, "cpu_ms": {}, "granules": {}} for name, (v, _) in tables.items()}
    expected: dict = {}
    for name, asked in queries.items():
        for shape, sql, params in asked:
            got = normalized(shape, client.query(sql, parameters=params, settings=LIMITS).result_rows)
            expected.setdefault(shape.name, got)
            if got != expected[shape.name]:
                raise RuntimeError(f"{name}: {shape.name} answered differently from production: {str(got)[:200]}")
            if shape.kind != "histogram":
                out[name]["granules"][shape.name] = granules(client, sql, params)
    wall: dict = {key: [] for key in ((name, s.name) for name in queries for s in shapes(n))}
    cpu: dict = {key: [] for key in wall}
    names = list(queries)
    for r in range(runs):
        for name in names[r % len(names):] + names[:r % len(names)]:
            for shape, sql, params in queries[name]:
                began, began_cpu = time.perf_counter(), time.process_time()
                client.query(sql, parameters=params, settings=LIMITS)
                wall[name, shape.name].append((time.perf_counter() - began) * 1000)
                # CPU of this process (the engine runs in it): what the query costs, less skewed by other work.
                cpu[name, shape.name].append((time.process_time() - began_cpu) * 1000)
    for (name, shape), times in wall.items():
        out[name]["medians_ms"][shape] = statistics.median(times)
        out[name]["cpu_ms"][shape] = statistics.median(cpu[name, shape])
    return {"variants": out, "answers": expected}


def run(args) -> dict:
    import clickhouse_connect
    n, runs = args.records, args.runs
    now_ns = time.time_ns()
    start_ns = (now_ns // HOUR_NS - 2) * HOUR_NS
    chosen = [v for v in VARIANTS if not args.only or v.name in args.only.split(",")]
    if not chosen or chosen[0].name != "production":
        chosen.insert(0, VARIANTS[0])  # the answers every variant is checked against
    tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-layouts-"))
    results: dict = {**machine(), "records": n, "runs": runs, "variants": {},
                     "load_average_1m_at_start": os.getloadavg()[0]}  # other work on the machine skews figures
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{tmp / 'clickhouse'}")
        client.command("CREATE DATABASE src")
        client.command(ddl(Variant("src", "", "tuple()"), "src"))
        began = time.perf_counter()
        for first in range(0, n, 100_000):
            client.insert_arrow("src.logs", arrow_batch(n, start_ns, first, 100_000, now_ns))
        results["generate_and_load_s"] = time.perf_counter() - began
        tables = {}
        for v in chosen:
            db = tables.setdefault(v.name, (v, f"layout_{v.name}"))[1]
            client.command(f"CREATE DATABASE {db}")
            client.command(ddl(v, db))
            began, began_cpu = time.perf_counter(), time.process_time()
            client.command(f"INSERT INTO {db}.logs SELECT * FROM src.logs")
            client.command(f"OPTIMIZE TABLE {db}.logs FINAL")
            results["variants"][v.name] = {"insert_and_merge_s": time.perf_counter() - began,
                                           "insert_and_merge_cpu_s": time.process_time() - began_cpu,
                                           **disk(client, db)}
        measured = measure(client, tables, n, runs, start_ns, now_ns)
        for name, figures in measured["variants"].items():
            results["variants"][name].update(figures)
            print(f"{name:24} {results['variants'][name]['bytes_per_record']:6.1f} B/record  "
                  + "  ".join(f"{k}={ms:.1f}" for k, ms in figures["cpu_ms"].items()), file=sys.stderr)
        client.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["answers"] = {name: (a if isinstance(a, int) else len(a)) for name, a in measured["answers"].items()}
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    return results


def table(results: dict) -> str:
    """The figures as the Markdown table of docs/search.md: the copy and merge's CPU s, per query wall ms / CPU ms."""
    names = list(next(iter(results["variants"].values()))["medians_ms"])
    head = "| variant | B/record | copy+merge CPU s | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 3)]
    for name, v in results["variants"].items():
        lines.append(f"| {name} | {v['bytes_per_record']:.1f} | {v['insert_and_merge_cpu_s']:.1f} | "
                     + " | ".join(f"{v['medians_ms'][k]:.0f} / {v['cpu_ms'][k]:.0f}" for k in names) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7, help="warm runs per query; the median is reported")
    ap.add_argument("--only", help="comma-separated variant names (production is always measured)")
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    results = run(args)
    report(results, args.json, "layouts of the logs table, by measurement")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
