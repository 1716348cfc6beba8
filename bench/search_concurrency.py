"""Concurrent searches from two tenants: how much slower a search gets when 8 run at once, and whether both
tenants are served alike (the query slots of gateway/query_slots.py and the engine's reading threads).

Each round sends ``PER_TENANT`` searches for each of two tenants at the same instant, the newest-100 shapes of
bench/search.py in turn, over the same records. A search's slowdown is its wall time over the single-search
median of its shape and tenant, measured just before, one at a time; the figures are the medians of the
slowdowns, over all searches and per tenant.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Callable

PER_TENANT = 4


def _single(ask: Callable[[str, object], object], tenants: list[str], shapes: list, runs: int) -> dict:
    """{(tenant, shape name): median ms of ``runs`` searches one at a time, after one warm-up}."""
    medians = {}
    for tenant in tenants:
        for shape in shapes:
            ask(tenant, shape)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                ask(tenant, shape)
                times.append((time.perf_counter() - started) * 1000)
            medians[(tenant, shape.name)] = statistics.median(times)
    return medians


def _round(ask: Callable[[str, object], object], tenants: list[str], shapes: list, offset: int) -> list:
    """(tenant, shape name, ms) of ``PER_TENANT`` searches per tenant, all released at once."""
    jobs = [(tenant, shapes[(offset + i) % len(shapes)]) for tenant in tenants for i in range(PER_TENANT)]
    gate, results, errors = threading.Barrier(len(jobs)), [], []

    def one(tenant: str, shape) -> None:
        gate.wait()
        started = time.perf_counter()
        try:
            ask(tenant, shape)
        except Exception as exc:  # reported below: a refused search is a finding, not a figure
            errors.append(f"{tenant} {shape.name}: {exc}")
            return
        results.append((tenant, shape.name, (time.perf_counter() - started) * 1000))

    threads = [threading.Thread(target=one, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"concurrent searches failed: {errors[:3]}")
    return results


def measure(ask: Callable[[str, object], object], tenants: list[str], shapes: list, runs: int,
            rounds: int) -> dict:
    """The single-search medians, the slowdowns of searches 8 at a time, and their ratios."""
    single = _single(ask, tenants, shapes, runs)
    slowdowns: dict[str, list[float]] = {tenant: [] for tenant in tenants}
    wall = []
    for r in range(rounds):
        for tenant, shape, ms in _round(ask, tenants, shapes, r):
            slowdowns[tenant].append(ms / single[(tenant, shape)])
            wall.append(ms)
    per_tenant = {tenant: statistics.median(values) for tenant, values in slowdowns.items()}
    return {
        "searches_at_once": PER_TENANT * len(tenants),
        "rounds": rounds,
        "single_median_ms": {f"{t}/{s}": round(ms, 1) for (t, s), ms in single.items()},
        "concurrent_median_ms": statistics.median(wall),
        "slowdown_median": statistics.median([v for values in slowdowns.values() for v in values]),
        "slowdown_median_by_tenant": per_tenant,
        "tenant_ratio": max(per_tenant.values()) / min(per_tenant.values()),
    }
