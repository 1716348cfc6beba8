"""Encrypted LogFlux entries end to end, with a warm key cache, and under a fresh-salt flood.

    python -m bench.logflux [--entries 50000] [--flood 100] [--concurrency 8]

Measured in one run:

* warm      — clients that reuse one salt per session (16 sessions): every
              derivation is a cache hit after the first; entries/s from the
              first request to the last row;
* flood     — the same well-behaved load while a second tenant sends entries
              that each carry a fresh salt (the LogFlux doc's own snippet
              does this), so every one costs a 600,000-iteration PBKDF2:
              the well-behaved tenant's entries/s, next to the warm figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.harness import broker, processes, provision, report, send_all
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--flood", type=int, default=100, help="fresh-salt entries sent by the flooding tenant")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    keys = session_keys(16)
    warm_up = batches(session_entries(16, keys, "warm-up"))  # one entry per session: derives each key once
    warm = batches(session_entries(args.entries, keys, "warm"))
    during = batches(session_entries(args.entries, keys, "during"))
    flood = batches(session_entries(args.flood, session_keys(args.flood), "flood"), size=10)  # a salt per entry
    results: dict = {"entries": args.entries, "flood_entries": args.flood}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, secret=SECRET)
        s = bench.settings
        flooder_key, flooder = new_key("flooder", prefix="lf_")
        asyncio.run(registry_topic.publish(s, TenantRecord("flooder", now_iso(), tier="unlimited"), flooder))
        asyncio.run(secrets.add(s, "flooder", SECRET))
        url = s.gateway_url + "/v1/batch"
        headers = {"Authorization": f"Bearer {bench.logflux_key}", "Content-Type": "application/json"}
        with processes(bench, "worker", "gateway"):
            asyncio.run(send_all(url, headers, warm_up, 1, expect=202))
            bench.wait_rows(16)
            started = time.perf_counter()
            asyncio.run(send_all(url, headers, warm, args.concurrency, expect=202))
            bench.wait_rows(16 + args.entries)
            results["warm_e2e_eps"] = args.entries / (time.perf_counter() - started)

            flood_headers = {**headers, "Authorization": f"Bearer {flooder_key}"}

            async def both():
                flooding = asyncio.create_task(send_all(url, flood_headers, flood, 2, expect=202))
                await asyncio.sleep(0.2)
                await send_all(url, headers, during, args.concurrency, expect=202)
                await flooding

            started = time.perf_counter()
            asyncio.run(both())
            bench.wait_rows(16 + 2 * args.entries)  # the well-behaved tenant's rows, flood rows aside
            results["during_flood_e2e_eps"] = args.entries / (time.perf_counter() - started)
    results["during_flood_vs_warm"] = results["during_flood_e2e_eps"] / results["warm_e2e_eps"]
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
