"""End to end against the peer a user would pick instead: the same records into VictoriaLogs and into Sluice.

    python -m bench.peer [--seconds 30] [--batch 500] [--connections 16] [--engine embedded|process]
                         [--workers N] [--set NAME=VALUE ...] [--json FILE]

The same LogTrace records (bench/e2e.make_bodies: 64 bodies in turn) go to
VictoriaLogs' ``/insert/jsonline`` as JSON lines and to Sluice's
``/v1/logs/ingest``, each driven by the same closed-loop wrk for the same
time, one system at a time (the other is not running). Each is timed from
the first request until the last record is visible to a count query:

* accepted records/s    — answered 2xx ÷ wrk's duration; accept p50/p99 from wrk;
* stored records/s      — records stored ÷ time from the first request until the last is queryable;
* queryable after load  — seconds from the end of the load until all are queryable;
* CPU                   — user + system seconds of the system's process trees (Sluice: worker,
                          gateway and Kafka broker) over the same span, and per record;
* disk                  — bytes of the stored data (VictoriaLogs' data directory after a flush;
                          Sluice's active ``sluice.logs`` parts), and per record.

Counts are checked exactly: what the system says it accepted (its own
counter, which includes requests wrk abandoned when its time was up) must
equal what a query sees once nothing more arrives for ``QUIET_S``, and be
at least what wrk saw answered: no accepted record missing, none twice.

Sluice's topology: ``--engine embedded`` (``make run``'s) puts the ClickHouse
engine in the one worker; ``--engine process`` runs it in a process of its own
behind ClickHouse's HTTP interface (sluice/local/chdb_server.py), which
``--workers N`` worker processes share, one consumer group. The engine
process's CPU counts as Sluice's (``engine`` in ``cpu_s_by_process``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench import tools, victorialogs
from bench.e2e import BODIES, make_bodies
from bench.harness import add_set_option, body_files, broker, machine, processes, provision, report, setting_overrides
from sluice.local.chdb_server import engine_process
from sluice.local.harness import free_port, metric, sql
from sluice.settings import load_settings

WARM_S = 3  # a short load first: connections, first parts, Kafka group join
QUIET_S = 3.0  # no record more for this long after all arrived: nothing late, nothing twice
SLUICE_ACCEPTED = 'sluice_gateway_records_accepted_total{dialect="logtrace"}'


@dataclass(frozen=True)
class System:
    """One system under load: where to send, and how to read it back."""

    name: str
    url: str  # ingest URL
    files: list[Path]  # request bodies, sent in turn
    headers: dict[str, str]
    count: Callable[[], int]  # records a query sees now
    accepted: Callable[[], int]  # records the system has acknowledged so far, by its own counter
    pids: dict[str, int]  # the roots of its process trees, by role
    disk: Callable[[], tuple[int, int]]  # (bytes on disk, records in them)


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, clock ticks of the process and its reaped children) from /proc; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15])  # ppid; utime, stime, cutime, cstime


def tree(root: int) -> list[int]:
    """``root`` and all its descendants now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(entry.name)):
            children.setdefault(st[0], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        found.append(pid := todo.pop())
        todo.extend(children.get(pid, ()))
    return found


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far, their reaped children included."""
    return sum(st[1] for pid in pids if (st := _stat(str(pid)))) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root: int) -> float:
    """CPU seconds so far of ``root`` and its descendants."""
    return cpu_s(tree(root))


def settle(count: Callable[[], int], at_least: int, sample: Callable[[], dict], quiet_s: float = QUIET_S,
           timeout_s: float = 900, poll_s: float = 0.05) -> tuple[int, float, dict]:
    """Poll ``count`` until it reaches ``at_least`` and then stays unchanged for ``quiet_s``.

    Returns (the count, ``time.perf_counter()`` when the query that first saw
    it began, ``sample()`` taken then): a rate up to that time leaves the quiet
    wait out, and so does a CPU figure up to that sample.
    """
    deadline = time.monotonic() + timeout_s
    changed = time.perf_counter()
    rows, at_change = count(), sample()
    while rows < at_least or time.perf_counter() - changed < quiet_s:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {rows:,} of {at_least:,} records queryable after {timeout_s:.0f}s")
        time.sleep(poll_s)
        asked = time.perf_counter()
        now = count()
        if now != rows:
            rows, changed, at_change = now, asked, sample()
    return rows, changed, at_change


def measure(system: System, cache_dir: Path, seconds: int, connections: int, batch: int,
            warm_s: int = WARM_S, quiet_s: float = QUIET_S) -> dict:
    """One system's figures under ``seconds`` of closed-loop load; raises when a count is not exact."""
    members = {role: tree(pid) for role, pid in system.pids.items()}  # once: a sample then reads only these
    cpu = lambda: {role: cpu_s(pids) for role, pids in members.items()}  # noqa: E731
    # bench/wrk/post.lua formats the requests of several bodies before wrk knows the host, so they carry no
    # Host header: Go's HTTP server (VictoriaLogs) refuses such an HTTP/1.1 request and closes the connection.
    headers = {"Host": urllib.parse.urlsplit(system.url).netloc, **system.headers}
    warm = tools.wrk(cache_dir, system.url, system.files, headers, warm_s, connections)
    before, _, _ = settle(system.count, warm.requests * batch, dict, quiet_s)
    before_accepted, cpu_before = system.accepted(), cpu()
    started = time.perf_counter()
    r = tools.wrk(cache_dir, system.url, system.files, headers, seconds, connections)
    ended = time.perf_counter()
    if r.non_2xx:
        raise RuntimeError(f"{system.name}: {r.non_2xx} requests were not answered 2xx")
    answered = r.requests * batch
    rows, last, cpu_last = settle(system.count, before + answered, cpu, quiet_s)
    stored, accepted = rows - before, system.accepted() - before_accepted
    if stored != accepted or accepted < answered:
        raise RuntimeError(f"{system.name}: {stored:,} records stored, {accepted:,} accepted by its own count, "
                           f"{answered:,} answered 2xx: records missing or stored twice")
    used = {role: cpu_last[role] - cpu_before[role] for role in system.pids}
    disk_bytes, disk_records = system.disk()
    return {
        "accepted_rps": answered / r.seconds,
        "stored_rps": stored / (last - started),
        "accept_p50_ms": r.latency_ms.get("p50", float("nan")),
        "accept_p99_ms": r.latency_ms.get("p99", float("nan")),
        "queryable_after_load_s": max(0.0, last - ended),
        "records_answered": answered,
        "records_accepted": accepted,
        "records_stored": stored,
        "wrk_timeouts": r.timeouts,
        "cpu_s": sum(used.values()),
        "cpu_us_per_record": sum(used.values()) / stored * 1e6,
        "cpu_s_by_process": used,
        "load_generator_cpu_s": r.cpu_s,
        "disk_bytes": disk_bytes,
        "disk_bytes_per_record": disk_bytes / disk_records,
    }


def ratios(sluice: dict, peer: dict) -> dict:
    """Sluice ÷ VictoriaLogs for the figures a user compares."""
    return {"ratio_sluice_vs_victorialogs_stored": sluice["stored_rps"] / peer["stored_rps"],
            "ratio_sluice_vs_victorialogs_accepted": sluice["accepted_rps"] / peer["accepted_rps"],
            "ratio_sluice_vs_victorialogs_cpu_per_record": sluice["cpu_us_per_record"] / peer["cpu_us_per_record"],
            "ratio_sluice_vs_victorialogs_disk_per_record":
                sluice["disk_bytes_per_record"] / peer["disk_bytes_per_record"]}


def run(args) -> dict:
    bodies = make_bodies(BODIES, args.batch)
    cache = load_settings({}).cache_dir
    results: dict = {**machine(), "seconds": args.seconds, "batch": args.batch, "connections": args.connections,
                     "victorialogs_version": victorialogs.VERSION,
                     "load_average_1m_at_start": os.getloadavg()[0]}  # other work on the machine skews both
    started = time.perf_counter()
    binary = victorialogs.build(cache)
    results["victorialogs_build_s"] = time.perf_counter() - started  # ~0 once it is in the cache
    tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-peer-"))
    try:
        files = body_files(tmp / "bodies", [victorialogs.jsonlines(b) for b in bodies], "jsonl")
        with victorialogs.running(binary, tmp) as vl:
            peer = System("victorialogs", vl.url + victorialogs.INSERT_PATH, files,
                          {"Content-Type": "application/stream+json"}, vl.count, vl.ingested,
                          {"victorialogs": vl.pid}, lambda: (vl.disk_bytes(), vl.count()))
            results["victorialogs"] = measure(peer, cache, args.seconds, args.connections, args.batch)
            if dropped := vl.dropped():
                raise RuntimeError(f"VictoriaLogs dropped {dropped:,} accepted records (see its /metrics)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with broker() as (b, btmp), contextlib.ExitStack() as stack:
        pids = {"broker": b.running_pid()}
        overrides = setting_overrides(args.set)
        if args.engine == "process":
            url, engine = stack.enter_context(engine_process(btmp / "engine"))
            overrides["clickhouse_url"], pids["engine"] = url, engine.pid
        bench = provision(b.config.bootstrap, btmp, **overrides)
        s = bench.settings
        files = body_files(btmp / "bodies", bodies, "logtrace")
        for i in range(args.workers):
            settings = s if i == 0 else s.replace(worker_port=free_port())
            (worker,) = stack.enter_context(processes(bench, "worker", settings=settings))
            pids[f"worker{i or ''}"] = worker.proc.pid
        (gateway,) = stack.enter_context(processes(bench, "gateway"))
        pids["gateway"] = gateway.proc.pid
        parts = ("SELECT sum(bytes_on_disk), sum(rows) FROM system.parts "
                 "WHERE database = 'sluice' AND table = 'logs' AND active")
        system = System("sluice", s.gateway_url + "/v1/logs/ingest", files,
                        {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"},
                        bench.rows, lambda: int(metric(s.gateway_url, SLUICE_ACCEPTED)), pids,
                        lambda: tuple(int(v) for v in sql(s, parts)[0]))
        results["sluice"] = measure(system, s.cache_dir, args.seconds, args.connections, args.batch)
        results["sluice"]["topology"] = {"engine": args.engine, "workers": args.workers, "settings": args.set}
    results.update(ratios(results["sluice"], results["victorialogs"]))
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--engine", choices=("embedded", "process"), default="embedded",
                    help="Sluice's ClickHouse engine in its worker, or in a process of its own")
    ap.add_argument("--workers", type=int, default=1, help="worker processes (above 1: --engine process)")
    add_set_option(ap)
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    if args.workers > 1 and args.engine != "process":
        ap.error("--workers above 1 needs --engine process: the embedded engine has one owner")
    if args.workers < 1:
        ap.error(f"--workers: expected 1 or more, got {args.workers}")
    setting_overrides(args.set, ap)  # refused now, not after the peer's run
    report(run(args), args.json, "end to end against VictoriaLogs: the same records, until queryable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
