"""The gateway's ASGI application: its state (gateway/state.py), the lifespan (gateway/lifespan.py), and
every HTTP request through the body guard to the route table (gateway/dispatch.py).

A handler authenticates, bounds the size, decodes with the dialect's msgspec
types, publishes the body to Kafka and answers only after Kafka's
acknowledgement. Anything else belongs to the workers.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from gateway.asgi import Receive, Scope, Send, headers
from gateway.dispatch import dispatch
from gateway.lifespan import lifespan
from gateway.publisher import Publisher
from gateway.ratelimit import RateLimiter
from gateway.state import GatewayState
from sluice.keys import Registry
from sluice.settings import Settings


class Gateway(GatewayState):
    """ASGI app. ``registry`` is kept current by its owner (see sluice.registry); ``on_startup`` and
    ``on_shutdown`` start and stop what the owner wired in (gateway/server.py)."""

    def __init__(self, settings: Settings, registry: Registry, publisher: Publisher,
                 on_startup: Callable[[], Awaitable[None]] | None = None,
                 on_shutdown: Callable[[], Awaitable[None]] | None = None,
                 limiter: RateLimiter | None = None):
        super().__init__(settings, registry, publisher, limiter)
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self._on_startup, self._on_shutdown, self.limiter)
        elif scope["type"] == "http":
            # Every handler reads its body through the guard: a deadline, and the process's byte budget.
            guard = self.bodies.guard(receive, headers(scope))
            try:
                await dispatch(self, scope, guard, send)
            finally:
                guard.release()
