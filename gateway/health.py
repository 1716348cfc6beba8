"""``GET /v1/health``: real figures about the pipeline, and which dependency is down if any.

``workers`` is the live member count of the workers' consumer group, as Kafka
reports it; ``ingestion_rps`` is the records this gateway accepted per second
over the last minute; ``kafka`` and ``clickhouse`` are probed on every call
(with short timeouts), and any that is down makes the answer 503 "degraded".
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from aiokafka.admin import AIOKafkaAdminClient

from sluice.query.backend import QueryBackend
from sluice.settings import Settings

PROBE_TIMEOUT_S = 3.0


class IngestionRate:
    """Records accepted per second over a sliding minute, in one-second buckets."""

    def __init__(self, window_s: int = 60, clock=time.monotonic):
        self.window_s, self.clock = window_s, clock
        self._buckets: deque[list] = deque()  # [second, count]

    def add(self, count: int) -> None:
        second = int(self.clock())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self._trim(second)

    def per_second(self) -> float:
        self._trim(int(self.clock()))
        return sum(count for _, count in self._buckets) / self.window_s

    def _trim(self, now: int) -> None:
        while self._buckets and self._buckets[0][0] <= now - self.window_s:
            self._buckets.popleft()


async def _workers(settings: Settings) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="sluice-health",
                                request_timeout_ms=int(PROBE_TIMEOUT_S * 1000))
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([settings.worker_group])
        (group,) = response.to_object()["groups"]
        return len(group["members"])
    finally:
        await admin.close()


async def report(settings: Settings, backend: QueryBackend, rate: IngestionRate, started: float) -> tuple[int, dict]:
    body: dict = {"status": "healthy", "uptime_s": round(time.monotonic() - started, 1),
                  "ingestion_rps": round(rate.per_second(), 1)}
    down = []
    try:
        body["workers"] = await asyncio.wait_for(_workers(settings), PROBE_TIMEOUT_S * 2)
    except Exception:
        body["workers"] = None
        down.append("kafka")
    try:
        await asyncio.wait_for(backend.rows("SELECT 1", {}), PROBE_TIMEOUT_S * 2)
    except Exception:
        down.append("clickhouse")
    if down:
        body["status"] = "degraded"
        body["down"] = down
    return (503 if down else 200), body
