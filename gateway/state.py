"""What a running gateway holds: its settings, the key registry, the publisher, and the budgets and slots
that bound its requests, built once from the settings.

Handlers read it as ``app`` on every request, never a copy: a test may replace
``app.settings`` on a running app and the next request sees the new settings.
"""

from __future__ import annotations

import time

from gateway import bodies, health, keys_api, tail
from gateway.publisher import Publisher
from gateway.query_slots import QuerySlots
from gateway.ratelimit import RateLimiter
from sluice.keys import Registry
from sluice.query.backend import QueryBackend
from sluice.settings import Settings


class GatewayState:
    """The gateway's state. ``registry`` is kept current by its owner (see sluice.registry)."""

    def __init__(self, settings: Settings, registry: Registry, publisher: Publisher,
                 limiter: RateLimiter | None = None):
        self.settings = settings
        self.limiter = limiter or RateLimiter(settings)
        self.registry = registry
        self.publisher = publisher
        self.query_backend = QueryBackend(settings)
        self.rate = health.IngestionRate()  # records accepted, for GET /v1/health
        self.tail_slots = tail.Slots(settings.tail_max_per_key, settings.retry_after_s)
        self.query_slots = QuerySlots(settings.query_max_concurrent_per_tenant, settings.query_queue_max_s,
                                      settings.retry_after_s)
        self.started = time.monotonic()
        self.bodies = bodies.BodyBudget(settings.gateway_max_body_buffer_bytes, settings.body_timeout_s,
                                        settings.retry_after_s)
        self.keys = keys_api.KeyAdmin(settings, registry, publisher)
