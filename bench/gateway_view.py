"""The gateway's own view of a load phase: how many requests took long, by its histograms.

A client's accept latency is the gateway's handling (``sluice_gateway_request_seconds``),
of which Kafka's acknowledgement (``sluice_gateway_publish_seconds``) is a part, plus
what the client and the kernel add before the gateway reads the request (the wait for a
core, the accept queue). Comparing the share of slow requests seen by the client with the
shares the two histograms count says where a latency tail comes from. ``snapshot`` the
histograms before and after a phase; ``slow_shares`` is the difference.
"""

from __future__ import annotations

import urllib.request

HISTOGRAMS = {"handled": "sluice_gateway_request_seconds", "published": "sluice_gateway_publish_seconds"}


def snapshot(base_url: str) -> dict[str, dict[float, float]]:
    """Each histogram's cumulative bucket counts (upper bound → count), summed over its labels."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as resp:
        return parse(resp.read().decode())


def parse(exposition: str) -> dict[str, dict[float, float]]:
    """``snapshot`` of a Prometheus text exposition."""
    found: dict[str, dict[float, float]] = {what: {} for what in HISTOGRAMS}
    for line in exposition.splitlines():
        for what, name in HISTOGRAMS.items():
            bucket = name + "_bucket{"
            if line.startswith(bucket):
                labels, value = line[len(bucket):].rsplit("} ", 1)
                le = next(part.split("=", 1)[1].strip('"') for part in labels.split(",") if part.startswith("le="))
                bound = float("inf") if le == "+Inf" else float(le)
                found[what][bound] = found[what].get(bound, 0.0) + float(value)
    return found


def slow_shares(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]],
                over_s: float) -> dict[str, float | None]:
    """Per histogram, the share of the phase's observations above ``over_s`` (a bucket bound);
    None when the phase observed nothing."""
    shares: dict[str, float | None] = {}
    for what in HISTOGRAMS:
        total = after[what].get(float("inf"), 0.0) - before[what].get(float("inf"), 0.0)
        within = after[what].get(over_s, 0.0) - before[what].get(over_s, 0.0)
        shares[f"gateway_{what}_over_{over_s * 1000:g}ms"] = (total - within) / total if total else None
    return shares
