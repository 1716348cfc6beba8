"""End-to-end: HTTP → queryable in ClickHouse, against ceilings measured in the same run, and freshness.

    python -m bench.e2e [--seconds 30] [--batch 500] [--connections 16] [--set NAME=VALUE ...] [--json FILE]

Starts its own Kafka broker, gateway and worker (fresh state, free ports):

* kafka ceiling   — aiokafka producing LogTrace bodies straight to a topic with
                    the gateway's producer settings (acks=all, idempotent, same compression);
* storage ceiling — decode + normalize + insert_arrow into an embedded
                    ClickHouse in this process: one worker if Kafka were free;
* sluice max      — wrk at full speed for ``--seconds`` (64 distinct bodies in
                    turn): accepted records/s, and stored records/s from the
                    first request to the last row visible, and the rows of the
                    worker's inserts meanwhile; py-spy samples the worker
                    (``profile_worker``);
* sustained       — the stored rate while that load runs (from a third of the way
                    in), then bisected up towards the rate to the last row with
                    paced 30 s loads, keeping the highest the worker kept up with:
                    at some moment of the trial's last third (sampled every 0.5 s) it
                    was within 1 s of the load (bench/rates.py; below the rate
                    under load when no trial was):
                    the maximum a steady load can be stored at.
                    The engine's merges settle before the first trial only, so
                    each trial pays for the merges the ones before it left;
* freshness       — vegeta sending at a fixed 25 %, 50 % and 90 % of the sustained rate,
                    each once the engine's merges left by the phase before have
                    settled, while probes measure 202 → visible in a query (p50/p99);
                    beside vegeta's share of answers over 50 ms, the gateway's
                    own share of requests it took that long to handle and to
                    publish (bench/gateway_view.py): where an accept tail comes from.

The load generator shares the machine's cores with everything it measures;
the ratios, not the absolute figures, are what compares across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

from bench import freshness, gateway_view, profile, tools, vegeta
from bench.rates import Trial, backlog, sustained, under_load
from bench.harness import (add_set_option, body_files, broker, machine, processes, provision, report,
                           setting_overrides, tables_of)
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format
from sluice.kafka.clients import ensure_topics, producer
from sluice.local.harness import metric
from sluice.settings import load_settings
from sluice.storage import Storage, migrate

BODIES = 64
PACED_SHARES = (0.25, 0.5, 0.9)  # of the sustained rate, for the freshness runs (issue #25 asks for all three)
SUSTAIN_STEPS, SUSTAIN_TRIAL_S = 3, 30  # the bisection for the sustained rate (bench/rates.py)
IDLE_PROBES, IDLE_INTERVAL_S = 20, 0.5  # single records at idle: each alone in the pipeline
WORKER_MODULES = ("workers/", "clickhouse_connect", "chdb", "pyarrow", "faust", "aiokafka/", "msgspec")


def make_bodies(count: int, batch: int) -> list[bytes]:
    bodies = []
    for r in range(count):
        logs = [{"timestamp": "2026-11-23T10:22:01.123Z", "level": "ERROR" if i % 10 == 0 else "INFO",
                 "message": f"request {r}-{i} GET /api/v1/orders/{i} took {i % 250} ms",
                 "service": f"svc-{i % 8}", "trace_id": uuid.uuid4().hex,
                 "attributes": {"http.status": 200 + i % 5, "user": f"u{i % 1000}"}} for i in range(batch)]
        bodies.append(json.dumps({"logs": logs}).encode())
    return bodies


async def kafka_ceiling(settings, bodies: list[bytes], concurrency: int) -> float:
    topic = settings.ingest_topic + "-ceiling"
    await ensure_topics(settings.replace(ingest_topic=topic))
    p = producer(settings)
    await p.start()
    env = Envelope(Format.LOGTRACE_INGEST.value, "bench", "req", time.time_ns())
    queue = list(bodies)
    started = time.perf_counter()

    async def lane():
        while queue:
            await p.send_and_wait(topic, queue.pop(), headers=to_headers(env))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await p.stop()
    return elapsed


def storage_ceiling(state: Path, bodies: list[bytes], max_rows: int) -> float:
    settings = load_settings({}, state_dir=state)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    env = Envelope(Format.LOGTRACE_INGEST.value, "bench", "req", time.time_ns())
    started = time.perf_counter()
    for table in tables_of(bodies, to_headers(env), max_rows):
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", table))
    elapsed = time.perf_counter() - started
    storage.close()
    return elapsed


def _inserts(worker_url: str) -> tuple[float, float]:
    """(inserts, rows inserted) so far by the worker's own count: the engine's cost per row falls as
    inserts grow (``make bench-insert-size``), so the size the worker reaches under load says how much."""
    return (metric(worker_url, "sluice_worker_batch_rows_count"), metric(worker_url, "sluice_worker_batch_rows_sum"))


def _rows_per_insert(worker_url: str, since: tuple[float, float]) -> float | None:
    """The worker's rows per insert since ``since`` (an ``_inserts`` reading); None when it made none."""
    count, rows = (after - before for after, before in zip(_inserts(worker_url), since))
    return rows / count if count else None


def run(args) -> dict:
    bodies = make_bodies(BODIES, args.batch)
    results: dict = {**machine(), "seconds": args.seconds, "batch": args.batch, "connections": args.connections,
                     "settings": args.set}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, **setting_overrides(args.set))
        s = bench.settings
        ceiling = bodies * max(1, 400_000 // (BODIES * args.batch))  # a few hundred thousand records
        results["kafka_ceiling_rps"] = len(ceiling) * args.batch / asyncio.run(
            kafka_ceiling(s, ceiling, args.connections))
        results["storage_ceiling_rps"] = len(ceiling) * args.batch / storage_ceiling(
            tmp / "ceiling", ceiling, s.batch_max_rows)
        files = body_files(tmp, bodies)
        headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
        url = s.gateway_url + "/v1/logs/ingest"
        with processes(bench, "worker", "gateway") as (worker, _):
            tools.wrk(s.cache_dir, url, files, headers, 3, args.connections)  # warm-up: group join, first parts
            before, _ = bench.settled(0)
            with freshness.probing(bench, interval_s=IDLE_INTERVAL_S) as fresh:
                while fresh.sent < IDLE_PROBES:
                    time.sleep(IDLE_INTERVAL_S / 10)
            results["idle"] = fresh.figures()
            inserts = _inserts(s.worker_url)
            started = time.perf_counter()
            with profile.sampling(worker.proc.pid, min(args.seconds, 20), WORKER_MODULES) as where, \
                    under_load(bench.rows, skip_s=args.seconds / 3) as during:
                r = tools.wrk(s.cache_dir, url, files, headers, args.seconds, args.connections)
            if r.non_2xx:
                raise RuntimeError(f"{r.non_2xx} requests were not answered 2xx")
            rows, last = bench.settled(before + r.requests * args.batch)
            stored = rows - before
            results["sluice_accept_rps"] = r.rps * args.batch
            results["sluice_e2e_rps"] = stored / (last - started)
            results["sluice_stored_under_load_rps"] = during.rate
            results["rows_per_insert"] = _rows_per_insert(s.worker_url, inserts)
            results["wrk_cpu_share"] = r.cpu_s / r.seconds
            results["profile_worker"] = profile.figures(where)
            paced = vegeta.build(s.cache_dir)

            # Settled once, before the first trial: each later trial inherits the merges the ones before
            # it left, as a load kept up for minutes does. A trial started on a settled engine defers its
            # merges past its end and passes at rates the machine cannot keep up for longer.
            bench.merges_settled()

            def trial(rate: float) -> Trial:
                before, _ = bench.settled(0)
                with backlog(lambda: bench.rows() - before, rate, SUSTAIN_TRIAL_S * 2 / 3) as behind:
                    v = vegeta.attack(paced, url, bodies[0], headers, rate / args.batch, SUSTAIN_TRIAL_S)
                accepted = (v.requests - v.non_2xx) * args.batch
                at_end = (accepted - (bench.rows() - before)) / rate
                return Trial(rate, at_end if behind.least_s is None else min(behind.least_s, at_end))

            low = results["sluice_stored_under_load_rps"]
            found, trials = sustained(low, max(low, results["sluice_e2e_rps"]), SUSTAIN_STEPS, trial)
            results["sluice_sustained_rps"] = found
            results["sustained_trials"] = " ".join(f"{t.rate:.0f}:{t.behind_s:.2f}s" for t in trials)
            for share in PACED_SHARES:
                rate = found * share / args.batch
                # The phase before left the engine merges to do; paying them here would measure that
                # phase's aftermath, not this rate.
                settling_s = bench.merges_settled()
                seen = gateway_view.snapshot(s.gateway_url)
                inserts = _inserts(s.worker_url)
                with freshness.probing(bench) as fresh:
                    v = vegeta.attack(paced, url, bodies[0], headers, rate, args.seconds)
                slow = gateway_view.slow_shares(seen, gateway_view.snapshot(s.gateway_url), 0.05)
                results[f"paced_{share:.0%}_of_e2e"] = {
                    **v.figures(args.batch), **slow, **fresh.figures(), "merges_settled_after_s": settling_s,
                    "rows_per_insert": _rows_per_insert(s.worker_url, inserts)}
    results["accept_vs_kafka_ceiling"] = results["sluice_accept_rps"] / results["kafka_ceiling_rps"]
    results["e2e_vs_storage_ceiling"] = results["sluice_e2e_rps"] / results["storage_ceiling_rps"]
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--connections", type=int, default=16)
    add_set_option(ap)
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    setting_overrides(args.set, ap)
    report(run(args), args.json, "end to end: HTTP → queryable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
