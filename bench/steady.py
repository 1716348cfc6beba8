"""Steady state: one fixed rate for minutes, the engine's merges included.

    python -m bench.steady --rate 100000 [--windows 6] [--window-s 30] [--batch 500] [--set NAME=VALUE ...]
                           [--json FILE]

bench.e2e's phases each start with the engine's merges settled and last 30 s; a load kept up for
minutes also pays for the merges of the parts it made, which come due in bursts. This benchmark
starts its own broker, worker and gateway, warms them (until the broker's JIT has settled), settles
the merges once, and then sends LogTrace batches at one fixed rate (vegeta) for ``windows`` windows
with the freshness probes of bench/freshness.py. A window follows the one before once that one's probes
were seen (under a second while the worker keeps up, at most 5 s), so the load pauses no longer than
that and the merges never settle between windows. Each window reports:

* freshness p50 / p99 / max (202 → a query returns the probe) and accept p99;
* how far behind the worker is at the window's end: records accepted and not yet queryable, in
  seconds of the rate (as bench.e2e's trials judge it). A rate the machine keeps up with holds it
  near the freshness; one it does not grows it window after window;
* the worker's own ``sluice_worker_consumer_lag_seconds`` (the largest over the partitions), sampled
  every second: mean and max. It is the age of the oldest record past the group's committed offset,
  read from Kafka every few seconds, and commits trail the stored rows, so it reads a few seconds even
  when the worker keeps up: it is what an operator's alert sees, and its trend is what counts;
* CPU µs per record sent, by process: the worker (its merges apart, ``MergeMutate`` threads), the
  gateway, the broker and the load generator, and the share of the machine's CPU left idle;
* the active parts of ``logs`` at the window's end.

The load generator and the probes share the cores with what they measure: compare windows and
rates within one run, and ratios across machines.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench import freshness, tools, vegeta
from bench.e2e import make_bodies
from bench.harness import add_set_option, body_files, broker, machine, processes, provision, report, setting_overrides
from bench.peer import tree_cpu_s
from sluice.local.harness import sql

LAG_GAUGE = "sluice_worker_consumer_lag_seconds{"
MERGE_THREADS = "MergeMutate"  # the engine's merge threads, by the name they give themselves


def consumer_lag_s(metrics_text: str, topic: str) -> float:
    """The largest ``sluice_worker_consumer_lag_seconds`` over ``topic``'s partitions in a /metrics page
    (0 when none is exposed yet): how long ago the oldest record past the committed offset was accepted."""
    ages = [float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines()
            if line.startswith(LAG_GAUGE) and f'topic="{topic}"' in line]
    return max(ages, default=0.0)


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.perf_counter()
    by_role: dict[str, float]  # CPU seconds so far
    idle_ticks: int  # the machine's, from /proc/stat
    total_ticks: int


def machine_ticks() -> tuple[int, int]:
    """(idle, total) clock ticks of all CPUs so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user .. steal


def cpu_figures(before: CpuSample, after: CpuSample, records: float) -> dict:
    """µs of CPU per record by role between two samples, and the machine's idle share."""
    figures = {f"cpu_us_per_record_{role}": (after.by_role[role] - before.by_role[role]) / records * 1e6
               for role in after.by_role} if records else {}
    total = after.total_ticks - before.total_ticks
    figures["machine_idle_share"] = (after.idle_ticks - before.idle_ticks) / total if total else float("nan")
    return figures


@contextlib.contextmanager
def sampling_lag(worker_url: str, topic: str, every_s: float = 1.0) -> Iterator[list[float]]:
    """``consumer_lag_s`` every ``every_s`` while the block runs, in a list."""
    ages: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every_s):  # a sampling period, not a wait for a condition
            try:
                with urllib.request.urlopen(worker_url + "/metrics", timeout=5) as resp:
                    ages.append(consumer_lag_s(resp.read().decode(), topic))
            except OSError:
                continue  # the worker was busy past the timeout: one sample fewer

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield ages
    finally:
        done.set()
        sampler.join()


def run(args) -> dict:
    bodies = make_bodies(64, args.batch)
    results: dict = {**machine(), "rate": args.rate, "windows": args.windows, "window_s": args.window_s,
                     "batch": args.batch, "settings": args.set}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, **setting_overrides(args.set))
        s = bench.settings
        files = body_files(tmp, bodies)
        headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
        url = s.gateway_url + "/v1/logs/ingest"
        with processes(bench, "worker", "gateway") as (worker, gateway):
            # Warm-up: the group's join, the first parts, and the broker's JIT (a fresh broker compiles its
            # hot paths for a minute or more, on the cores the windows measure).
            results["warm_up_jit_shares"] = tools.warm_until_compiled(
                lambda: tools.wrk(s.cache_dir, url, files, headers, 3, 16), b.running_pid())
            bench.settled(0)
            paced = vegeta.build(s.cache_dir)
            results["merges_settled_after_s"] = bench.merges_settled()
            roots = {"worker": worker.proc.pid, "gateway": gateway.proc.pid, "broker": b.running_pid()}

            def sample() -> CpuSample:
                by_role = {role: tree_cpu_s(pid) for role, pid in roots.items()}
                by_role["worker_merges"] = tools.threads_cpu_s(worker.proc.pid, MERGE_THREADS)
                by_role["worker"] -= by_role["worker_merges"]
                return CpuSample(time.perf_counter(), by_role, *machine_ticks())

            windows, stored_before, accepted = [], bench.rows(), 0
            for _ in range(args.windows):
                before = sample()
                with sampling_lag(s.worker_url, s.ingest_topic) as lag, freshness.probing(bench, settle_s=5) as fresh:
                    v = vegeta.attack(paced, url, bodies[0], headers, args.rate / args.batch, args.window_s)
                    after = sample()
                    accepted += (v.requests - v.non_2xx) * args.batch
                    behind = accepted - (bench.rows() - stored_before)
                sent = v.requests * args.batch
                figures = {**v.figures(args.batch), **fresh.figures(), **cpu_figures(before, after, sent),
                           "cpu_us_per_record_generator": v.cpu_s / sent * 1e6 if sent else float("nan"),
                           "behind_at_end_s": behind / args.rate,
                           "consumer_lag_mean_s": statistics.fmean(lag) if lag else float("nan"),
                           "consumer_lag_max_s": max(lag, default=float("nan")),
                           "active_parts": sql(s, "SELECT count() FROM system.parts WHERE active "
                                                  "AND database = 'sluice' AND table = 'logs'")[0][0]}
                windows.append(figures)
                results[f"window_{len(windows)}"] = figures
    p99s = [w["freshness_p99_ms"] for w in windows]
    results["freshness_p99_ms_median_of_windows"] = statistics.median(p99s)
    results["freshness_p99_ms_worst_window"] = max(p99s)
    results["behind_at_end_s_by_window"] = " ".join(f"{w['behind_at_end_s']:.2f}" for w in windows)
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, required=True, help="records/s, sent as batches of --batch")
    ap.add_argument("--windows", type=int, default=6)
    ap.add_argument("--window-s", type=int, default=30)
    ap.add_argument("--batch", type=int, default=500)
    add_set_option(ap)
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    setting_overrides(args.set, ap)
    report(run(args), args.json, f"steady state: {args.rate:,.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
