"""The ASGI lifespan: the owner's start-up and shutdown hooks (gateway/server.py starts and stops the Kafka
clients in them), then the rate limiter closed.

Contract: a start-up hook that raises is answered ``lifespan.startup.failed``
with its repr, so the server refuses to serve instead of serving without its
clients; shutdown runs the owner's hook before the limiter is closed.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from gateway.asgi import Receive, Send
from gateway.ratelimit import RateLimiter

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


async def lifespan(receive: Receive, send: Send, on_startup: Hook | None, on_shutdown: Hook | None,
                   limiter: RateLimiter) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                if on_startup:
                    await on_startup()
            except Exception as exc:
                log.exception("gateway start-up failed")
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown:
                await on_shutdown()
            await limiter.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
