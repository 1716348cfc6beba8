"""What per-key rate limiting costs the gateway: throughput with limits on vs off, same run.

    python -m bench.limiter [--rounds 3] [--requests 20000] [--batch 10] [--concurrency 32]

One broker; a gateway counting in process, and a second one counting in a
real Redis (from Debian's packages). Each gateway gets two keys: one of an
``unlimited`` tenant (no check at all: limits off) and one of an enterprise
tenant whose hourly budget is too large to reach (every request counted and
checked: limits on). Rounds alternate off/on so drift on a shared machine
hits both sides alike. Small batches make the per-request cost visible;
requests must answer 202 after Kafka's acknowledgement, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from bench.harness import broker, processes, provision, report, send_all
from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice import redis_local
from sluice.keys import new_key, now_iso
from sluice.settings import load_settings
from tests.support import free_port


def bodies(n: int, batch: int) -> list[bytes]:
    return [json.dumps({"logs": [{"timestamp": "2026-11-23T10:22:01Z", "level": "INFO", "service": "svc",
                                  "message": f"request {r}-{i}"} for i in range(batch)]}).encode()
            for r in range(n)]


def limited_key(settings) -> str:
    key, record = new_key("limited")
    asyncio.run(registry_topic.publish(settings, TenantRecord("limited", now_iso(), tier="enterprise"), record))
    return key


def measure(url: str, keys: dict[str, str], payload: list[bytes], rounds: int, concurrency: int) -> dict[str, float]:
    """Requests per second for each key, best of ``rounds`` interleaved rounds."""
    best = {name: 0.0 for name in keys}
    for _ in range(rounds):
        for name, key in keys.items():
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            seconds = asyncio.run(send_all(url + "/v1/logs/ingest", headers, payload, concurrency, 202))
            best[name] = max(best[name], len(payload) / seconds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    payload = bodies(args.requests, args.batch)
    results: dict = {"cores": os.cpu_count(), "requests per round": args.requests, "records per request": args.batch}
    huge = 10 ** 12
    with broker() as (b, tmp):
        local_bench = provision(b.config.bootstrap, tmp, enterprise_ingest_per_hour=huge)
        keys = {"off": local_bench.key, "on": limited_key(local_bench.settings)}
        with processes(local_bench, "gateway"):
            asyncio.run(send_all(local_bench.settings.gateway_url + "/v1/logs/ingest",
                                 {"Authorization": f"Bearer {keys['on']}", "Content-Type": "application/json"},
                                 payload[:2000], args.concurrency, 202))  # warm-up
            local = measure(local_bench.settings.gateway_url, keys, payload, args.rounds, args.concurrency)
        redis = redis_local.LocalRedis(redis_local.fetch(load_settings({}).cache_dir), free_port(), tmp / "redis")
        redis.start()
        try:
            shared = local_bench.settings.replace(gateway_port=free_port(), rate_limit_redis_url=redis.url)
            local_bench.settings = shared
            with processes(local_bench, "gateway"):
                via_redis = measure(shared.gateway_url, keys, payload, args.rounds, args.concurrency)
        finally:
            redis.stop()
    results.update({
        "in-process: limits off req/s": local["off"], "in-process: limits on req/s": local["on"],
        "in-process: on/off": local["on"] / local["off"],
        "redis: limits off req/s": via_redis["off"], "redis: limits on req/s": via_redis["on"],
        "redis: on/off": via_redis["on"] / via_redis["off"],
    })
    report(results, args.json)


if __name__ == "__main__":
    main()
