"""What per-key rate limiting costs the gateway: throughput with limits on vs off, same run.

    python -m bench.limiter [--rounds 8] [--requests 10000] [--batch 10] [--concurrency 32]

One broker; a gateway counting in process, and a second one counting in a
real Redis (from Debian's packages). Each gateway gets two keys: one of an
``unlimited`` tenant (no check at all: limits off) and one of an enterprise
tenant whose hourly budget is too large to reach (every request counted and
checked: limits on). Rounds alternate off/on so drift on a shared machine
hits both sides alike; the figure is the median of the rounds' ratios. Small
batches make the per-request cost visible; requests must answer 202 after
Kafka's acknowledgement, as in production.

The HTTP figures swing by ±10 % between rounds on a shared 2-core machine, so
the gateway's handler is also timed alone (in process, the publisher
recording instead of producing): microseconds per request with and without
the check, and that difference as a share of the gateway's time per request
measured over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from bench.harness import broker, processes, provision, report, send_all
from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice.local import redis as redis_local
from sluice.keys import new_key, now_iso
from sluice.settings import load_settings
from sluice.local.harness import free_port


def bodies(n: int, batch: int) -> list[bytes]:
    return [json.dumps({"logs": [{"timestamp": "2026-11-23T10:22:01Z", "level": "INFO", "service": "svc",
                                  "message": f"request {r}-{i}"} for i in range(batch)]}).encode()
            for r in range(n)]


def limited_key(settings) -> str:
    key, record = new_key("limited")
    asyncio.run(registry_topic.publish(settings, TenantRecord("limited", now_iso(), tier="enterprise"), record))
    return key


def measure(url: str, keys: dict[str, str], payload: list[bytes], rounds: int,
            concurrency: int) -> dict[str, float]:
    """Median requests/s of each key, and the median of the per-round on/off ratios.

    Each round runs both keys back to back, in alternating order, so a slow
    spell of the shared machine lands in one round's pair rather than on one side.
    """
    rates: dict[str, list[float]] = {name: [] for name in keys}
    ratios = []
    for r in range(rounds):
        order = list(keys.items()) if r % 2 == 0 else list(reversed(keys.items()))
        for name, key in order:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            seconds = asyncio.run(send_all(url + "/v1/logs/ingest", headers, payload, concurrency, 202))
            rates[name].append(len(payload) / seconds)
        ratios.append(rates["on"][-1] / rates["off"][-1])
    return {"off": statistics.median(rates["off"]), "on": statistics.median(rates["on"]),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}


def handler_cost(rounds: int = 10, n: int = 5000) -> dict[str, float]:
    """Median µs per request of the ASGI handler alone, limits off and on."""
    from gateway.app import Gateway
    from sluice.keys import Registry
    from gateway.testing import RecordingPublisher

    settings = load_settings({}, enterprise_ingest_per_hour=10 ** 12)
    registry, keys = Registry(), {}
    for name, tier in (("off", "unlimited"), ("on", "enterprise")):
        registry.apply(TenantRecord(name, now_iso(), tier))
        keys[name], record = new_key(name)
        registry.apply(record)
    publisher = RecordingPublisher()
    app = Gateway(settings, registry, publisher)
    body = bodies(1, 10)[0]

    async def timed(key: str) -> float:
        scope = {"type": "http", "path": "/v1/logs/ingest", "method": "POST", "headers": [
            (b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")]}

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            pass

        started = time.perf_counter()
        for _ in range(n):
            await app(scope, receive, send)
        publisher.published.clear()
        publisher.topics.clear()
        return (time.perf_counter() - started) / n * 1e6

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"off": [], "on": []}
        for r in range(rounds):
            for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
                times[name].append(await timed(keys[name]))
        return times

    times = asyncio.run(run())
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10_000)
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
    handler = handler_cost()
    per_request_us = 1e6 / local["off"]
    results.update({
        "handler alone: limits off µs/request": handler["off"],
        "handler alone: limits on µs/request": handler["on"],
        "handler alone: added µs/request": handler["on"] - handler["off"],
        "added % of gateway time per request": 100 * (handler["on"] - handler["off"]) / per_request_us,
        **{f"{label}: {name}": value for label, figures in (("in-process", local), ("redis", via_redis))
           for name, value in (("limits off req/s (median)", figures["off"]),
                               ("limits on req/s (median)", figures["on"]),
                               ("on/off (median of rounds)", figures["ratio"]),
                               ("on/off lowest round", figures["ratio_min"]),
                               ("on/off highest round", figures["ratio_max"]))},
    })
    report(results, args.json)


if __name__ == "__main__":
    main()
