"""Encrypted LogFlux entries end to end, with a warm key cache, and under a fresh-salt flood.

    python -m bench.logflux [--seconds 30] [--connections 16] [--flood 60] [--json FILE]

Measured in one run, each phase wrk at full speed for ``--seconds`` over 64
distinct batches of 100 entries:

* warm-up   — the warm load in rounds of 10 s until the broker's JIT compilers
              take under 5 % of a core (at most 8 rounds; each round's share is
              reported): what follows measures a broker in its steady state;
* warm      — clients that reuse one salt per session (16 sessions): every
              derivation is a cache hit after the first; entries/s from the
              first request to the last row, and each process's CPU per entry;
* flood     — the same well-behaved load while a second tenant sends entries
              that each carry a fresh salt (the LogFlux doc's own snippet
              does this), so every one costs a 600,000-iteration PBKDF2:
              the well-behaved tenant's entries/s, next to the mean of the
              warm phases before and after it, and the flooded entries
              stored by the flood's end and in the end;
* worker alone — the worker stopped (SIGSTOP) while the gateway takes the
              warm load for ``--seconds``, then resumed: how fast it drains
              that backlog from its first stored row to its last, and its CPU
              per entry, with the gateway idle. The worker's own ceiling, so the
              warm figure reads as a share of it;
* profile   — the warm load once more, with py-spy sampling the worker and
              the gateway (apart, as the sampler costs CPU of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import profile, tools
from bench.e2e import WORKER_MODULES
from bench.gateway import PROFILED_MODULES as GATEWAY_MODULES
from bench.harness import body_files, broker, machine, processes, provision, report, send_all
from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key, now_iso
from workers.decrypt import derive

SECRET = b"bench-secret"


def session_keys(sessions: int) -> list[tuple[bytes, AESGCM]]:
    """``sessions`` clients, each deriving its key once for its salt."""
    return [(salt, AESGCM(derive(SECRET, salt))) for salt in (os.urandom(32) for _ in range(sessions))]


def session_entries(count: int, keys: list[tuple[bytes, AESGCM]], tag: str) -> list[dict]:
    sessions = len(keys)
    out = []
    for i in range(count):
        salt, aes = keys[i % sessions]
        iv = os.urandom(12)
        message = json.dumps({"message": f"{tag} {i} checkout completed", "order_id": f"ORD-{i}", "cents": i})
        out.append({"node": f"web-{i % sessions}", "loglevel": 7, "timestamp": "2026-11-23T10:00:00Z",
                    "encryption_mode": 1, "iv": base64.b64encode(iv).decode(),
                    "salt": base64.b64encode(salt).decode(),
                    "payload": base64.b64encode(aes.encrypt(iv, message.encode(), None)).decode()})
    return out


def batches(entries: list[dict], size: int = 100) -> list[bytes]:
    return [json.dumps({"entries": entries[i:i + size]}).encode() for i in range(0, len(entries), size)]


def run(args) -> dict:
    keys = session_keys(16)
    warm_up = batches(session_entries(16, keys, "warm-up"))  # one entry per session: derives each key once
    bodies = batches(session_entries(64 * 100, keys, "load"))
    flood = batches(session_entries(args.flood, session_keys(args.flood), "flood"), size=10)  # a salt per entry
    results: dict = {**machine(), "seconds": args.seconds, "connections": args.connections,
                     "entries_per_request": 100, "flood_entries": args.flood}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, secret=SECRET)
        s = bench.settings
        flooder_key, flooder = new_key("flooder", prefix="lf_")
        asyncio.run(registry_topic.publish(s, TenantRecord("flooder", now_iso(), tier="unlimited"), flooder))
        asyncio.run(secrets.add(s, "flooder", SECRET))
        url = s.gateway_url + "/v1/batch"
        headers = {"Authorization": f"Bearer {bench.logflux_key}", "Content-Type": "application/json"}
        files = body_files(tmp, bodies, "logflux")

        def phase(name: str) -> tuple[float, tools.WrkResult]:
            before, _ = bench.settled(0)
            meter = tools.CpuMeter({"gateway": gateway.proc.pid, "worker": worker.proc.pid,
                                    "broker": b.running_pid()}).start()
            started = time.perf_counter()
            r = tools.wrk(s.cache_dir, url, files, headers, args.seconds, args.connections)
            if r.non_2xx:
                raise RuntimeError(f"{r.non_2xx} requests were not answered 2xx")
            rows, last = bench.settled(before + r.requests * 100)
            used = {**meter.stop(), "wrk": r.cpu_s}
            for process, cpu_s in used.items():  # where the two cores went, per stored entry
                results[f"{name}_cpu_us_per_entry.{process}"] = cpu_s / (rows - before) * 1e6
            return (rows - before) / (last - started), r

        with processes(bench, "worker", "gateway") as (worker, gateway):
            asyncio.run(send_all(url, headers, warm_up, 1, expect=200))
            bench.wait_rows(16)
            # Warm-up: the group join, the first parts, and the broker's JIT, which takes a core's
            # tenth or more for a minute under load. Each round is 10 s of the warm load.
            shares = tools.warm_until_compiled(
                lambda: tools.wrk(s.cache_dir, url, files, headers, 10, args.connections), b.running_pid())
            results["warm_up_broker_jit_share"] = " ".join(f"{x:.3f}" for x in shares)
            # warm, flood, warm again: the flood is compared with the mean of the phases
            # around it, so a drift of the machine during the run does not read as its effect.
            results["warm_before_e2e_eps"], r = phase("warm")
            results["warm_accept_eps"] = r.rps * 100
            results["wrk_cpu_share"] = r.cpu_s / r.seconds

            flood_headers = {**headers, "Authorization": f"Bearer {flooder_key}"}
            flooding = threading.Thread(target=lambda: asyncio.run(send_all(url, flood_headers, flood, 2, 200)))
            flooding.start()
            results["during_flood_e2e_eps"], r = phase("flood")
            flooding.join()
            results["during_flood_accept_eps"] = r.rps * 100
            results["flood_rows_stored_by_the_flood_end"] = bench.rows("flooder")
            results["warm_after_e2e_eps"], _ = phase("warm_after")
            bench.wait_rows(args.flood, tenant="flooder", timeout_s=600)  # delayed, never dropped
            results["flood_rows_stored_in_the_end"] = bench.rows("flooder")

            results["worker_alone_eps"], results["worker_alone_cpu_us_per_entry"] = worker_alone(
                bench, worker.proc.pid, lambda: tools.wrk(s.cache_dir, url, files, headers, args.seconds,
                                                          args.connections))
            results["warm_vs_worker_alone"] = results["warm_after_e2e_eps"] / results["worker_alone_eps"]
            # Its most resident memory so far, the drain's full chunks included.
            results["worker_peak_rss_mib"] = tools.peak_rss_mib(worker.proc.pid)

            # Profiled apart: py-spy takes CPU of its own, which the figures above must not pay.
            sample_s = min(args.seconds, 15)
            with profile.sampling(worker.proc.pid, sample_s, WORKER_MODULES) as where, \
                    profile.sampling(gateway.proc.pid, sample_s, GATEWAY_MODULES) as where_gateway:
                tools.wrk(s.cache_dir, url, files, headers, sample_s, args.connections)
            results["profile_worker"] = profile.figures(where)
            results["profile_gateway"] = profile.figures(where_gateway)
    results["warm_e2e_eps"] = (results["warm_before_e2e_eps"] + results["warm_after_e2e_eps"]) / 2
    results["during_flood_vs_warm"] = results["during_flood_e2e_eps"] / results["warm_e2e_eps"]
    return results


def worker_alone(bench, worker_pid: int, load: Callable[[], tools.WrkResult]) -> tuple[float, float]:
    """(entries/s, worker CPU µs per entry) of the worker draining what ``load`` sent while it was stopped.

    Timed from the first row stored after the resume, so the consumer group's
    rejoin (the broker dropped the stopped member) is not counted.
    """
    before, _ = bench.settled(0)
    os.kill(worker_pid, signal.SIGSTOP)
    try:
        sent = load()
    finally:
        os.kill(worker_pid, signal.SIGCONT)
    if sent.non_2xx:
        raise RuntimeError(f"{sent.non_2xx} requests were not answered 2xx")
    while (first := bench.rows()) == before:
        time.sleep(0.02)
    cpu = tools.process_cpu_s(worker_pid)
    started = time.perf_counter()
    rows, last = bench.settled(before + sent.requests * 100)
    return (rows - first) / (last - started), (tools.process_cpu_s(worker_pid) - cpu) / (rows - first) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--flood", type=int, default=60, help="fresh-salt entries sent by the flooding tenant")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    report(run(args), args.json, "LogFlux: encrypted entries end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
