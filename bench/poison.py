"""Containment: one tenant's poison flood against another tenant's steady load.

    python -m bench.poison [--seconds 20] [--rate 100] [--batch 100] [--json FILE]

Starts its own broker, gateway and worker. Tenant ``bench`` sends LogTrace
batches at a fixed request rate (vegeta, open loop) twice:

* baseline — alone;
* flooded  — while tenant ``mallory`` sends LogFlux batches of undecryptable
             entries (no secret registered) at the same request rate, every
             one answered 202 and none storable.

For each phase: ``bench``'s stored records/s (from the first request to its
last row visible), its accept latency and the freshness of probe records
(202 → visible). ``flooded_vs_baseline`` is the stored rate's ratio, the
figure the containment goal is stated in (≥ 0.9). In the end every entry
mallory sent must be in the dead-letter topic: nothing accepted is lost.

A fixed rate, not a closed loop, because the flood's own cost (gateway,
broker, the dead-letter produce) shares the machine's cores: a closed loop
would measure that sharing, not whether the worker lets one tenant stall another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from pathlib import Path

from bench import freshness, vegeta
from bench.e2e import make_bodies
from bench.harness import broker, machine, processes, provision, report
from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice.keys import new_key, now_iso
from sluice.local.logflux_client import entry


def dead_lettered_entries(settings) -> int:
    """Entries in the dead-letter topic, up to its end now."""
    from sluice import dlq

    return sum(len(json.loads(x.value)["entries"]) for x in asyncio.run(dlq.read(settings)).letters)


def phase(bench, binary: Path, url: str, body: bytes, headers: dict, rate: float, seconds: int, batch: int,
          flood: tuple | None = None) -> dict:
    before, _ = bench.settled(0, quiet_s=1)
    attacks: dict = {}
    flooder = None
    if flood is not None:
        def run_flood() -> None:
            attacks["flood"] = vegeta.attack(binary, *flood, rate, seconds)
        flooder = threading.Thread(target=run_flood)
    started = time.perf_counter()
    with freshness.probing(bench) as fresh:
        if flooder is not None:
            flooder.start()
        paced = vegeta.attack(binary, url, body, headers, rate, seconds)
        if flooder is not None:
            flooder.join()
    if paced.non_2xx:
        raise RuntimeError(f"{paced.non_2xx} of bench's requests were not answered 2xx")
    rows, last = bench.settled(before + paced.requests * batch, quiet_s=2)
    out = {"stored_records_per_s": (rows - before) / (last - started), **paced.figures(batch), **fresh.figures()}
    if "flood" in attacks:
        out["flood_requests"] = attacks["flood"].requests
        out["flood_non_2xx"] = attacks["flood"].non_2xx
    return out


def run(args) -> dict:
    results: dict = {**machine(), "seconds": args.seconds, "rate_requests_per_s": args.rate, "batch": args.batch}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp)
        s = bench.settings
        key, record = new_key("mallory", prefix="lf_")
        asyncio.run(registry_topic.publish(s, TenantRecord("mallory", now_iso(), tier="unlimited"), record))
        body = make_bodies(1, args.batch)[0]
        headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
        url = s.gateway_url + "/v1/logs/ingest"
        poison = json.dumps({"entries": [entry("never readable", "no-such-secret")] * args.batch}).encode()
        flood = (s.gateway_url + "/v1/batch", poison,
                 {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        binary = vegeta.build(s.cache_dir)
        with processes(bench, "worker", "gateway") as (worker, _):
            phase(bench, binary, url, body, headers, args.rate, 3, args.batch)  # warm-up
            results["baseline"] = phase(bench, binary, url, body, headers, args.rate, args.seconds, args.batch)
            results["flooded"] = phase(bench, binary, url, body, headers, args.rate, args.seconds, args.batch, flood)
            sent = results["flooded"]["flood_requests"] - results["flooded"]["flood_non_2xx"]
            deadline = time.monotonic() + 300
            while (dead := dead_lettered_entries(s)) < sent * args.batch and time.monotonic() < deadline:
                time.sleep(1)
            results["flood_entries_accepted"] = sent * args.batch
            results["flood_entries_dead_lettered"] = dead
            results["worker_alive"] = worker.proc.poll() is None
    results["flooded_vs_baseline"] = (results["flooded"]["stored_records_per_s"]
                                      / results["baseline"]["stored_records_per_s"])
    if results["flood_entries_dead_lettered"] != results["flood_entries_accepted"] or not results["worker_alive"]:
        raise RuntimeError(f"accepted poison not accounted for: {results}")
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100,
                    help="requests/s of each tenant (at 200 both, 40,000 entries/s, saturate one gateway on 2 cores: the steady tenant then gets 503s from the shared gateway, which measures the machine, not containment)")
    ap.add_argument("--batch", type=int, default=100, help="entries per request")
    ap.add_argument("--json", type=Path, help="also write the results here (and Markdown beside it)")
    args = ap.parse_args()
    report(run(args), args.json, "containment: a poison flood against a steady tenant")
    return 0


if __name__ == "__main__":
    sys.exit(main())
