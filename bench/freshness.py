"""Freshness: the time from a 202 to the record being visible in a query, under load.

``probing(bench)`` sends one small LogTrace record with a unique trace id
every ``interval_s`` (tenant ``probe``, so the load's rows do not slow the
lookups) and, in a second thread, asks ClickHouse every ``poll_s`` which of
the outstanding ids are visible. A probe's freshness is the time from its
202 to when the first query that saw it was asked (``Outstanding``); the
poll's period, ``poll_s`` plus the query before, bounds the error, which only
ever adds to a probe's figure. Each poll is a query the engine plans and runs
(about 9 ms of the worker's CPU under load), so the default period, 0.1 s
and about 30 ms of query, keeps the measurement's own load near 0.1 core while
its error stays under 0.15 s.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from bench.harness import Bench
from bench.tools import percentile
from sluice.local.harness import post, sql


@dataclass
class Freshness:
    sent: int = 0
    seen_s: list[float] = field(default_factory=list)  # freshness of every probe seen, seconds
    unseen: int = 0  # probes not visible by the end (``settle_s`` after the load)

    def figures(self) -> dict:
        seen_ms = sorted(s * 1000 for s in self.seen_s)
        return {"probes": self.sent, "probes_unseen": self.unseen, "freshness_p50_ms": percentile(seen_ms, 0.5),
                "freshness_p99_ms": percentile(seen_ms, 0.99), "freshness_max_ms": percentile(seen_ms, 1.0)}


class Outstanding:
    """Probes acknowledged and not yet seen, and the freshness of those seen.

    A probe is fresh from its 202 to when the first query that returned it was asked: a
    query asked then returns it, so it was queryable by then. The time the query itself
    took (p99 about 90 ms, up to 200, under load) is the poll's, not the pipeline's: not counted.
    """

    def __init__(self, result: Freshness, clock: Callable[[], float] = time.perf_counter):
        self.result, self.clock = result, clock
        self.acked: dict[str, float] = {}  # trace id → time of its 202
        self.lock = threading.Lock()

    def ack(self, marker: str) -> None:
        with self.lock:
            self.acked[marker] = self.clock()
            self.result.sent += 1

    def poll(self, visible: Callable[[list[str]], Iterable[str]]) -> None:
        """Ask ``visible`` which outstanding probes a query returns, and count those it does."""
        with self.lock:
            waiting = list(self.acked)
        if not waiting:
            return
        asked = self.clock()
        found = visible(waiting)
        with self.lock:
            for marker in found:
                if marker in self.acked:
                    self.result.seen_s.append(asked - self.acked.pop(marker))


@contextlib.contextmanager
def probing(bench: Bench, interval_s: float = 0.05, poll_s: float = 0.1, settle_s: float = 30) -> Iterator[Freshness]:
    result = Freshness()
    outstanding = Outstanding(result)
    stop = threading.Event()
    url = bench.settings.gateway_url + "/v1/logs/ingest"
    headers = {"Authorization": f"Bearer {bench.probe_key}", "Content-Type": "application/json"}

    def send() -> None:
        tick = time.perf_counter()
        while not stop.is_set():
            marker = uuid.uuid4().hex
            body = {"logs": [{"timestamp": datetime.now(timezone.utc).isoformat(), "level": "INFO",
                              "message": "freshness probe", "service": "probe", "trace_id": marker}]}
            status, answer, _ = post(url, json.dumps(body).encode(), headers, timeout=30)
            if status != 202:
                raise RuntimeError(f"probe answered {status}: {answer}")
            outstanding.ack(marker)
            tick += interval_s
            time.sleep(max(0.0, tick - time.perf_counter()))

    def visible(waiting: list[str]) -> list[str]:
        ids = ", ".join(f"'{m}'" for m in waiting)
        return [marker for (marker,) in sql(bench.settings, "SELECT TraceId FROM sluice.logs "
                                                            f"WHERE TenantId = 'probe' AND TraceId IN ({ids})")]

    def poll(until: threading.Event) -> None:
        while not until.is_set():
            outstanding.poll(visible)
            time.sleep(poll_s)

    polled = threading.Event()
    sender = threading.Thread(target=send, daemon=True)
    poller = threading.Thread(target=poll, args=(polled,), daemon=True)
    sender.start()
    poller.start()
    try:
        yield result
    finally:
        stop.set()
        sender.join(60)
        deadline = time.monotonic() + settle_s
        while outstanding.acked and time.monotonic() < deadline:
            time.sleep(poll_s)
        polled.set()
        poller.join(60)
        result.unseen = len(outstanding.acked)
