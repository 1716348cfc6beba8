"""Search against VictoriaLogs on the same records: per-query warm medians, the same rows, disk and freshness.

    python -m bench.search [--records 1000000] [--runs 7] [--concurrency-rounds 5] [--json FILE]

The records of bench/search_corpus.py (16 systems, a unique ``rid=<n>`` each,
timestamps over one hour) go to VictoriaLogs (``/insert/jsonline``) and to
Sluice (its own broker, worker and gateway; LogTrace ``/v1/logs/ingest``),
1,000 a request, one system at a time (the other is not running). For each:

* queryable_s        — from the first request until a count sees every record;
* disk_bytes_per_record — VictoriaLogs' data directory after a flush; ClickHouse's
  ``system.parts`` ``bytes_on_disk`` of the active ``sluice.logs`` parts (every column
  and every skip index; the Kafka log is not counted), with the per-column and
  per-index split beside it;
* per query shape, the median client wall time of ``--runs`` warm runs (one run
  first, not counted), and Sluice ÷ VictoriaLogs;
* concurrency: the records again under a second tenant (Sluice: a second key's tenant;
  VictoriaLogs: ``AccountID`` 1), then rounds of 8 searches at once, 4 per tenant
  (bench/search_concurrency.py): the median slowdown against a single search, overall
  and per tenant, for both systems in the same run.

Equivalence (checked: the run fails when the two systems answer differently —
the same rids in the same order, the same count, the same non-empty buckets):

| shape | Sluice (`/v1/logs/query`, `/v1/logs/stats`) | VictoriaLogs LogsQL |
|---|---|---|
| rare token | `"rid=N"` | `"rid=N"` |
| frequent word | `failed` (any case) | `(failed OR Failed OR FAILED)` |
| field filters | `service:HDFS AND level:ERROR` | `service:=HDFS level:=ERROR` |
| phrase | `"authentication failure"` (any case) | `"authentication failure"` |
| field AND NOT word | `service:Linux AND NOT "authentication"` | `service:=Linux -authentication` |
| count | stats `failed`, count | `(failed OR Failed OR FAILED) \\| stats count()` |
| histogram | stats, ``interval: 1m`` | `* \\| stats by (_time:1m) count()` |

Sluice's words and phrases ignore case; VictoriaLogs' do only inside ``i(…)``,
its slower path. The corpus holds ``failed`` only as failed/Failed/FAILED and
``authentication`` only in lower case, so the case-sensitive LogsQL above
selects exactly the rows Sluice's case-insensitive filter does. Row queries are
the newest 100 over the hour: Sluice's default sort, VictoriaLogs'
``| sort by (_time desc) | limit 100``. Both time windows are the hour,
``[start, start + 1h)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bench import search_concurrency as concurrency, victorialogs
from bench.peer import cpu_s, tree
from bench.harness import broker, machine, processes, provision, report, send_all
from bench.search_corpus import HOUR_NS, records
from sluice.local.harness import post, sql, wait_for
from sluice.settings import load_settings

BATCH = 1000
CONNECTIONS = 8
_RID = re.compile(r"rid=(\d+)")


@dataclass(frozen=True)
class Shape:
    """One query shape as each system spells it, and how its answer is compared."""

    name: str
    kind: str  # "rows": newest 100 rids; "count": one number; "histogram": {bucket second: count}
    sluice: dict  # the request body (the stats endpoint's for count and histogram)
    logsql: str


def shapes(n: int) -> list[Shape]:
    rare = n * 8642 // 10_000  # one record, deep in the hour
    failed = "(failed OR Failed OR FAILED)"
    newest = " | sort by (_time desc) | limit 100"
    return [
        Shape("rare_token", "rows", {"filter": f'"rid={rare}"'}, f'"rid={rare}"' + newest),
        Shape("frequent_word", "rows", {"filter": "failed"}, failed + newest),
        Shape("field_filters", "rows", {"filter": "service:HDFS AND level:ERROR"}, "service:=HDFS level:=ERROR" + newest),
        Shape("phrase", "rows", {"filter": '"authentication failure"'}, '"authentication failure"' + newest),
        Shape("field_and_not_word", "rows", {"filter": 'service:Linux AND NOT "authentication"'},
              "service:=Linux -authentication" + newest),
        Shape("count_word", "count", {"filter": "failed"}, failed + " | stats count() as n"),
        Shape("histogram_60", "histogram", {"interval": "1m"}, "* | stats by (_time:1m) count() as n"),
    ]


def _rids(messages) -> list[int]:
    return [int(_RID.search(m).group(1)) for m in messages]


def _epoch_s(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")[:19] + "+00:00").timestamp())


def victorialogs_answer(url: str, shape: Shape, start: str, end: str, account: int = 0):
    """VictoriaLogs' answer to ``shape`` over [start, end) in tenant ``account``, normalized for comparison."""
    query = f"_time:[{start}, {end}) {shape.logsql}"
    request = urllib.request.Request(url + "/select/logsql/query?query=" + urllib.parse.quote(query),
                                     headers=victorialogs.tenant_headers(account))
    with urllib.request.urlopen(request, timeout=120) as resp:
        lines = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    if shape.kind == "rows":
        return _rids(line["_msg"] for line in lines)
    if shape.kind == "count":
        return int(lines[0]["n"]) if lines else 0
    return {_epoch_s(line["_time"]): int(line["n"]) for line in lines if int(line["n"])}


def sluice_answer(base: str, key: str, shape: Shape, start: str, last: str):
    """Sluice's answer to ``shape`` over [start, last], normalized for comparison."""
    path = "/v1/logs/query" if shape.kind == "rows" else "/v1/logs/stats"
    status, body, _ = post(base + path, {**shape.sluice, "from": start, "to": last},
                           {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, timeout=120)
    if status != 200:
        raise RuntimeError(f"Sluice answered {status} to {shape.name}: {body}")
    if shape.kind == "rows":
        return _rids(r["message"] for r in body["logs"])
    if shape.kind == "count":
        return body["count"]
    return {_epoch_s(b["start"]): b["count"] for b in body["histogram"] if b["count"]}


def timed(ask: Callable[[], object], runs: int, cpu: Callable[[], float] = lambda: 0.0) -> tuple[object, float, float]:
    """(the answer, the median milliseconds of ``runs`` runs after one warm-up, and the mean CPU
    milliseconds a run cost: ``cpu()``, the system's CPU seconds so far, over all runs, since the
    kernel counts them in 10 ms ticks, too coarse for one run)."""
    answer = ask()
    times, cpu_before = [], cpu()
    for _ in range(runs):
        started = time.perf_counter()
        again = ask()
        times.append((time.perf_counter() - started) * 1000)
        if again != answer:
            raise RuntimeError("the same query answered differently on a second run")
    return answer, statistics.median(times), (cpu() - cpu_before) * 1000 / runs


def bodies(n: int, start_ns: int, jsonlines: bool) -> list[bytes]:
    """The records in requests of BATCH: LogTrace bodies, or JSON lines for VictoriaLogs."""
    out = []
    for first in range(0, n, BATCH):
        batch = list(records(n, start_ns, first=first, count=BATCH))
        out.append(b"".join(json.dumps(r).encode() + b"\n" for r in batch) if jsonlines
                   else json.dumps({"logs": batch}).encode())
    return out


def load(url: str, headers: dict, payload: list[bytes], expect: int, count: Callable[[], int], n: int) -> float:
    """Seconds from the first request until ``count()`` sees all ``n`` records."""
    started = time.perf_counter()
    asyncio.run(send_all(url, headers, payload, CONNECTIONS, expect))
    wait_for(lambda: count() >= n, 900, 0.1, f"{n:,} records to be queryable")
    return time.perf_counter() - started


def measure(answer: Callable[[Shape], object], n: int, runs: int, pids: list[int]) -> tuple[dict, dict, dict]:
    """({shape: median ms}, {shape: mean CPU ms of ``pids``' trees}, {shape: answer}).

    CPU is what a query costs the system whatever else the machine runs; wall time is what a user waits.
    """
    members = [p for root in pids for p in tree(root)]
    medians, cpu, answers = {}, {}, {}
    for shape in shapes(n):
        answers[shape.name], medians[shape.name], cpu[shape.name] = timed(
            lambda: answer(shape), runs, lambda: cpu_s(members))
    return medians, cpu, answers


def merges_done(settings) -> None:
    """Wait until ClickHouse runs no merge of the logs table: figures then measure the settled parts."""
    wait_for(lambda: sql(settings, "SELECT count() FROM system.merges WHERE table = 'logs'")[0][0] == 0,
             600, 0.5, "ClickHouse's merges of sluice.logs to finish")


def clickhouse_disk(settings) -> dict:
    """Bytes of the active logs parts, and their split by column and by skip index."""
    total, rows = sql(settings, "SELECT sum(bytes_on_disk), sum(rows) FROM system.parts "
                                "WHERE database = 'sluice' AND table = 'logs' AND active")[0]
    columns = sql(settings, "SELECT column, sum(column_bytes_on_disk) AS b FROM system.parts_columns "
                            "WHERE database = 'sluice' AND table = 'logs' AND active GROUP BY column ORDER BY b DESC")
    indexes = sql(settings, "SELECT name, type, data_compressed_bytes FROM system.data_skipping_indices "
                            "WHERE database = 'sluice' AND table = 'logs'")
    return {"bytes": int(total), "rows": int(rows),
            "columns": {name: int(size) for name, size in columns if int(size)},
            "indexes": {f"{name} ({kind})": int(size) for name, kind, size in indexes}}


def run(args) -> dict:
    n, runs = args.records, args.runs
    hour_start = (time.time_ns() // HOUR_NS - 2) * HOUR_NS  # a whole hour, two hours ago
    start = datetime.fromtimestamp(hour_start // 10**9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = datetime.fromtimestamp(hour_start // 10**9 + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    last = datetime.fromtimestamp(hour_start // 10**9 + 3599, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.999999Z")
    cache = load_settings({}).cache_dir
    results: dict = {**machine(), "records": n, "runs": runs, "batch": BATCH,
                     "victorialogs_version": victorialogs.VERSION,
                     "load_average_1m_at_start": os.getloadavg()[0]}  # other work on the machine skews both
    binary = victorialogs.build(cache)

    tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-search-"))
    try:
        payload = bodies(n, hour_start, jsonlines=True)
        with victorialogs.running(binary, tmp) as vl:
            queryable = load(vl.url + victorialogs.INSERT_PATH, {"Content-Type": "application/stream+json"},
                             payload, 200, vl.count, n)
            del payload
            disk = vl.disk_bytes()
            medians, cpu, peer_answers = measure(lambda s: victorialogs_answer(vl.url, s, start, end), n, runs,
                                                 [vl.pid])
            results["victorialogs"] = {"queryable_s": queryable, "disk_bytes": disk,
                                       "disk_bytes_per_record": disk / n, "median_ms": medians, "cpu_ms": cpu}
            if args.concurrency_rounds:
                # The peer of the concurrency figures: the same records under a second tenant, the same rounds.
                load(vl.url + victorialogs.INSERT_PATH, {"Content-Type": "application/stream+json",
                                                         **victorialogs.tenant_headers(1)},
                     bodies(n, hour_start, jsonlines=True), 200, lambda: vl.count(1), n)
                accounts = {"bench": 0, "probe": 1}
                rows = [shape for shape in shapes(n) if shape.kind == "rows"]
                results["victorialogs"]["concurrency"] = concurrency.measure(
                    lambda tenant, shape: victorialogs_answer(vl.url, shape, start, end, accounts[tenant]),
                    list(accounts), rows, runs, args.concurrency_rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    with broker() as (b, btmp):
        bench = provision(b.config.bootstrap, btmp)
        s = bench.settings
        payload = bodies(n, hour_start, jsonlines=False)
        with processes(bench, "worker", "gateway") as started:
            headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
            queryable = load(s.gateway_url + "/v1/logs/ingest", headers, payload, 202, bench.rows, n)
            del payload
            merges_done(s)
            disk = clickhouse_disk(s)
            medians, cpu, answers = measure(lambda sh: sluice_answer(s.gateway_url, bench.key, sh, start, last),
                                            n, runs, [p.proc.pid for p in started])
            results["sluice"] = {"queryable_s": queryable, "disk_bytes": disk["bytes"],
                                 "disk_bytes_per_record": disk["bytes"] / n, "median_ms": medians, "cpu_ms": cpu,
                                 "disk_columns": disk["columns"], "disk_indexes": disk["indexes"]}
            if args.concurrency_rounds:
                # The same records again under a second tenant, then both tenants search at once.
                headers = {**headers, "Authorization": f"Bearer {bench.probe_key}"}
                load(s.gateway_url + "/v1/logs/ingest", headers, bodies(n, hour_start, jsonlines=False), 202,
                     lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId = 'probe'")[0][0], n)
                merges_done(s)
                keys = {"bench": bench.key, "probe": bench.probe_key}
                rows = [shape for shape in shapes(n) if shape.kind == "rows"]
                results["concurrency"] = concurrency.measure(
                    lambda tenant, shape: sluice_answer(s.gateway_url, keys[tenant], shape, start, last),
                    list(keys), rows, runs, args.concurrency_rounds)

    for name, mine in answers.items():
        if mine != peer_answers[name]:
            raise RuntimeError(f"{name}: the systems answered differently: Sluice {str(mine)[:300]} "
                               f"VictoriaLogs {str(peer_answers[name])[:300]}")
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    sizes = {name: (len(a) if not isinstance(a, int) else a) for name, a in answers.items()}
    results["answer_sizes"] = sizes  # rows (at most 100), the count, or non-empty buckets: both equal
    results["cpu_ratio_sluice_vs_victorialogs"] = {
        name: results["sluice"]["cpu_ms"][name] / max(results["victorialogs"]["cpu_ms"][name], 1e-3) for name in answers}
    results["ratio_sluice_vs_victorialogs"] = {
        **{name: results["sluice"]["median_ms"][name] / results["victorialogs"]["median_ms"][name]
           for name in answers},
        "disk_bytes_per_record": results["sluice"]["disk_bytes_per_record"]
        / results["victorialogs"]["disk_bytes_per_record"],
        "queryable_s": results["sluice"]["queryable_s"] / results["victorialogs"]["queryable_s"]}
    if "concurrency" in results:  # how much slower 8 searches at once get, against the peer's own slowdown
        results["ratio_sluice_vs_victorialogs"]["concurrent_slowdown"] = (
            results["concurrency"]["slowdown_median"] / results["victorialogs"]["concurrency"]["slowdown_median"])
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7, help="warm runs per query; the median is reported")
    ap.add_argument("--concurrency-rounds", type=int, default=5,
                    help="rounds of 8 concurrent searches from 2 tenants (0: skip; loads the records twice)")
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    report(run(args), args.json, "search against VictoriaLogs: the same records, the same rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
