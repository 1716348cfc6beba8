"""Accept latency at a fixed request rate, measured by vegeta (open loop, built into the cache).

wrk is closed loop: each connection waits for its answer before the next
request, so a slow answer delays the requests behind it and they are never
timed (coordinated omission). Latency *at a given load* needs an open-loop
generator that sends on a schedule whatever the answers do. vegeta does that;
it is built once from the Go module proxy into ``<cache>/vegeta-<version>``
and nothing of it enters the repository.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.tools import children_cpu_s, go_install, percentile

VERSION = "12.12.0"


def build(cache_dir: Path) -> Path:
    return go_install(cache_dir / f"vegeta-{VERSION}", f"github.com/tsenart/vegeta/v12@v{VERSION}", "vegeta",
                      "vegeta, the open-loop load generator")


@dataclass(frozen=True)
class Paced:
    rate: float  # requests/s asked for
    achieved: float  # requests/s sent
    requests: int
    seconds: float
    non_2xx: int
    latency_ms: dict[str, float]  # p50, p99, p99.9, max
    cpu_s: float  # vegeta's own user + system CPU time
    over_50ms: float  # the share of answers that took longer than 50 ms (issue #25's accept p99 goal)

    def figures(self, records_per_request: int) -> dict:
        return {"target_requests_per_s": self.rate, "achieved_requests_per_s": self.achieved,
                "records_per_s": self.achieved * records_per_request, "non_2xx": self.non_2xx,
                **{f"latency_{p}_ms": v for p, v in self.latency_ms.items()}, "latency_over_50ms": self.over_50ms,
                "generator_cpu_share": self.cpu_s / self.seconds}


def attack(binary: Path, url: str, body: bytes, headers: dict[str, str], rate: float, seconds: int) -> Paced:
    """POST ``body`` to ``url`` at ``rate`` requests/s for ``seconds``; the latency of every answer."""
    target = json.dumps({"method": "POST", "url": url, "body": base64.b64encode(body).decode(),
                         "header": {k: [v] for k, v in headers.items()}}) + "\n"
    before = children_cpu_s()
    attacked = subprocess.run([str(binary), "attack", "-format=json", f"-rate={rate:.0f}/s", f"-duration={seconds}s",
                               "-timeout=10s", "-max-workers=512"], input=target.encode(), capture_output=True,
                              timeout=seconds + 60, check=True)
    cpu_s = children_cpu_s() - before
    encoded = subprocess.run([str(binary), "encode", "-to=csv"], input=attacked.stdout, capture_output=True,
                             timeout=120, check=True)
    return _summary(encoded.stdout.decode(), rate, seconds, cpu_s)


def _summary(text: str, rate: float, seconds: int, cpu_s: float) -> Paced:
    # vegeta's CSV: timestamp (ns), status code, latency (ns), bytes out, bytes in, error, body, attack, seq, ...
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RuntimeError("vegeta sent no requests")
    latencies = sorted(int(r[2]) / 1e6 for r in rows)
    non_2xx = sum(not r[1].startswith("2") for r in rows)
    starts = [int(r[0]) for r in rows]
    span_s = max((max(starts) - min(starts)) / 1e9, 1e-9)
    latency = {"p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
               "p99.9": percentile(latencies, 0.999), "max": latencies[-1]}
    slow = sum(ms > 50 for ms in latencies) / len(latencies)
    return Paced(rate, (len(rows) - 1) / span_s, len(rows), seconds, non_2xx, latency, cpu_s, slow)

