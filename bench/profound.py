"""Profound access logs end to end, enrichment included, against the plain-log path in the same run.

    python -m bench.profound [--entries 100000] [--distinct-agents 500] [--concurrency 8]

* access e2e  — 1,000-entry requests to /v1/logs/custom until the last row is in
                sluice.http_logs: validation, visit ids, user-agent parsing,
                crawler matching and referral classification included;
* plain e2e   — the same number of LogTrace entries in 1,000-entry requests,
                the path without enrichment, as the baseline.

User agents repeat as on a real site (``--distinct-agents``), so the
classifier's cache sees realistic hit rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

from bench.harness import broker, processes, provision, report, send_all

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.{v}; +https://openai.com/gptbot)",
    "Mozilla/5.0 (compatible; Googlebot/2.{v}; +http://www.google.com/bot.html)",
]
REFERERS = [None, "https://www.google.com/", "https://chatgpt.com/", "https://t.co/x", "https://blog.example.net/"]


def access_bodies(entries: int, distinct_agents: int) -> list[bytes]:
    rnd = random.Random(7)
    agents = [AGENTS[i % len(AGENTS)].format(v=i) for i in range(distinct_agents)]
    now = time.time()
    out = []
    for r in range(entries // 1000):
        batch = [{"timestamp": now - rnd.random() * 3600, "method": "GET", "host": "shop.example.com",
                  "path": f"/products/{r}/{i}", "status_code": rnd.choice((200, 200, 200, 304, 404, 500)),
                  "ip": f"10.{i % 250}.{r % 250}.{i % 7}", "user_agent": rnd.choice(agents),
                  "query_params": {"page": str(i % 10)}, "referer": rnd.choice(REFERERS),
                  "bytes_sent": rnd.randrange(100_000), "duration_ms": rnd.random() * 300} for i in range(1000)]
        out.append(json.dumps(batch).encode())
    return out


def plain_bodies(entries: int) -> list[bytes]:
    return [json.dumps({"logs": [{"timestamp": "2026-11-23T10:00:00Z", "level": "INFO", "service": "shop",
                                  "message": f"GET /products/{r}/{i} 200"} for i in range(1000)]}).encode()
            for r in range(entries // 1000)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--distinct-agents", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    access, plain = access_bodies(args.entries, args.distinct_agents), plain_bodies(args.entries)
    n = len(access) * 1000
    results: dict = {"entries": n, "distinct_agents": args.distinct_agents}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp)
        s = bench.settings
        with processes(bench, "worker", "gateway"):
            headers = {"x-api-key": bench.key, "Content-Type": "application/json"}
            started = time.perf_counter()
            asyncio.run(send_all(s.gateway_url + "/v1/logs/custom", headers, access, args.concurrency, expect=200))
            bench.wait_rows(n, table="http_logs")
            results["access_e2e_eps"] = n / (time.perf_counter() - started)
            headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
            started = time.perf_counter()
            asyncio.run(send_all(s.gateway_url + "/v1/logs/ingest", headers, plain, args.concurrency, expect=202))
            bench.wait_rows(n)
            results["plain_e2e_eps"] = n / (time.perf_counter() - started)
    results["access_vs_plain"] = results["access_e2e_eps"] / results["plain_e2e_eps"]
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
