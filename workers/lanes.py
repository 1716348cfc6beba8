"""What a worker process holds: the followed registry and secrets, and its three pipelines.

The main lane reads the ingest and native topics; the slow lane reads the
slow-lane topic with paced key derivations; the overflow lane reads what
enterprise tenants sent over their rate limit, at a paced record rate. They share the ClickHouse sink,
the dead-letter producer and the derived-key cache, so keys the slow lane
derives serve the main lane too. They share the worker's claims on its
assigned partitions too (workers/claims.py).
"""

from __future__ import annotations

import asyncio

from schemas.dialects.native import arrow as native_arrow
from sluice.registry import RegistryFollower
from sluice.secrets import SecretsFollower, SecretStore, master_key
from sluice.settings import Settings
from sluice.storage import Storage
from workers.batches import BatchPlanner
from workers.budget import LowPriority, Pacer, TokenBuckets
from workers.claims import Claims
from workers.deadletter import DeadLetters
from workers.decrypt import Decryptor, KeyCache
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink
from workers.slowlane import SlowLane


class Lanes:
    def __init__(self, settings: Settings, storage: Storage):
        self.registry = RegistryFollower(settings)
        self.secrets = SecretsFollower(settings, SecretStore(master_key(settings)))
        self.dead_letters = DeadLetters(settings)
        self.slow_lane = SlowLane(settings)
        sink = self.sink = ClickHouseSink(storage, settings)
        self.claims = Claims()
        cache = KeyCache(settings.kdf_cache_entries)

        def known(tenant: str) -> bool:
            return tenant in self.registry.registry.tenants

        def pipeline(context: Context, slow_lane: SlowLane | None) -> Pipeline:
            quarantine = Quarantine(settings.dlq_max_ratio, settings.dlq_window, settings.dlq_min_records,
                                    settings.dlq_quarantine_s)
            return Pipeline(sink, BatchPlanner(settings.batch_max_rows), self.dead_letters, quarantine, context,
                            slow_lane, self.claims, group_max_rows)

        # Group inserts only where the worker is its partitions' only writer (workers/groups.py): the embedded
        # engine admits one worker; against a server, other workers may replay what this one is inserting.
        group_max_rows = settings.insert_group_max_rows if settings.embedded_clickhouse else 0

        kdf_budget = TokenBuckets(settings.kdf_budget_per_s, settings.kdf_budget_burst)

        arrow_limits = native_arrow.Limits(settings.native_arrow_max_bytes, settings.native_arrow_max_rows)

        def main_context() -> Context:
            return Context(tenant_known=known, decryptor=Decryptor(self.secrets.store.for_tenant, cache),
                           kdf_budget=kdf_budget, arrow_limits=arrow_limits)

        self.main = pipeline(main_context(), self.slow_lane)
        self.overflow = pipeline(main_context(), self.slow_lane)
        self.slow = pipeline(Context(
            tenant_known=known, arrow_limits=arrow_limits,
            decryptor=Decryptor(self.secrets.store.for_tenant, cache, Pacer(settings.slow_lane_kdf_per_s).wait,
                                LowPriority(settings.slow_lane_nice)),
        ), None)
        self._started: asyncio.Task | None = None

    async def ready(self) -> None:
        """Tenants and secrets loaded; both agents wait for it before judging a record."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.registry.start()
        await self.secrets.start()

    async def stop(self) -> None:
        await self.sink.flush_marks(retry=False)
        for closer in (self.registry.stop, self.secrets.stop, self.dead_letters.stop, self.slow_lane.stop):
            await closer()

    def assigned(self, tps: list[tuple[str, int]]) -> None:
        """A new assignment: a claim on each partition, recorded before its intents are read."""
        self.claims.assigned(tps)

    def forget(self, tps: list[tuple[str, int]]) -> None:
        """Revoked: nothing of ``tps`` is planned or stored here until they are assigned again."""
        self.claims.release(tps)
        for lane in (self.main, self.slow, self.overflow):
            lane.forget(tps)
