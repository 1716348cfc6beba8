"""Per-key rate limits in fixed windows: LogFlux's per minute, LogTrace's per UTC hour.

A quota is a count per window; windows are aligned to the epoch, so an hourly
window resets at the top of each UTC hour and a minute window on the minute,
on every replica alike. Counting is one atomic increment per request: in
process for the embedded default, in Redis (``rate_limit_redis_url``) when
several gateway replicas must share one limit. Each window's counter expires
with it, so memory is bounded by the keys active in the current window.

When the shared store fails, ``rate_limit_fail_open`` decides: allow and count
``sluice_gateway_rate_limiter_errors_total{action="allowed"}`` (the default),
or refuse with a 503.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Callable, NamedTuple, Protocol

from gateway.errors import ApiError
from sluice import metrics
from sluice.settings import Settings

log = logging.getLogger(__name__)

MINUTE, INGEST, QUERY = "minute", "ingest", "query"


class Quota(NamedTuple):
    family: str  # MINUTE, INGEST or QUERY
    limit: int
    window_s: int


class Decision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    retry_after: int  # whole seconds until then, at least 1

    def headers(self) -> tuple[tuple[bytes, bytes], ...]:
        common = ((b"x-ratelimit-limit", str(self.limit).encode()),
                  (b"x-ratelimit-remaining", str(self.remaining).encode()),
                  (b"x-ratelimit-reset", str(self.reset).encode()))
        return common if self.allowed else common + ((b"retry-after", str(self.retry_after).encode()),)


def quota_for(settings: Settings, tier: str, family: str) -> Quota | None:
    """The tier's quota for a family of requests; None when unlimited."""
    if not settings.rate_limits or tier not in ("standard", "enterprise"):
        return None
    if family == MINUTE:
        return Quota(MINUTE, getattr(settings, f"{tier}_requests_per_minute"), 60)
    return Quota(family, getattr(settings, f"{tier}_{family}_per_hour"), 3600)


def decide(count: int, quota: Quota, now: float) -> Decision:
    """The answer for the ``count``-th request of the window that holds ``now``."""
    reset = (int(now) // quota.window_s + 1) * quota.window_s
    return Decision(count <= quota.limit, quota.limit, max(0, quota.limit - count), reset,
                    max(1, math.ceil(reset - now)))


class Counter(Protocol):
    async def incr(self, name: str, expires_at: int) -> int:
        """Add one to the counter ``name`` (created at 0, gone after ``expires_at``); the new value."""

    async def close(self) -> None: ...


class LocalCounter:
    """Counters of one process; expired windows are dropped as time moves on."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # name -> (count, expires_at)
        self._next_sweep = 0.0

    async def incr(self, name: str, expires_at: int) -> int:
        now = self._clock()
        if now >= self._next_sweep:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            self._next_sweep = now + 1.0
        count = self._counts.get(name, (0, expires_at))[0] + 1
        self._counts[name] = (count, expires_at)
        return count

    async def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Counters in Redis: INCR and EXPIREAT in one transaction, so replicas share them."""

    def __init__(self, url: str, timeout_s: float = 0.25):
        import redis.asyncio as redis  # only gateways configured for Redis need the client

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)

    async def incr(self, name: str, expires_at: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(name).expireat(name, expires_at + 1).execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, settings: Settings, counter: Counter | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self._clock = clock
        if counter is None:
            url = str(settings.rate_limit_redis_url)
            counter = RedisCounter(url) if url else LocalCounter(clock)
        self._counter = counter

    async def check(self, key_id: str, tier: str, family: str) -> Decision | None:
        """Count one request of key ``key_id``; None when no limit applies or the store failed open.

        Raises a 503 ``ApiError`` when the store failed and the limiter fails closed.
        """
        quota = quota_for(self.settings, tier, family)
        if quota is None:
            return None
        now = self._clock()
        window = int(now) // quota.window_s
        name = f"sluice:rl:{family}:{key_id}:{window}"
        try:
            count = await self._counter.incr(name, (window + 1) * quota.window_s)
        except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
            return self._failed(exc)
        except Exception as exc:  # redis.exceptions.RedisError and kin
            if type(exc).__module__.startswith("redis"):
                return self._failed(exc)
            raise
        return decide(count, quota, now)

    def _failed(self, exc: BaseException) -> None:
        log.warning("rate-limit store unavailable: %s", type(exc).__name__)
        if self.settings.rate_limit_fail_open:
            metrics.GATEWAY_RATE_LIMITER_ERRORS.labels("allowed").inc()
            return None
        metrics.GATEWAY_RATE_LIMITER_ERRORS.labels("refused").inc()
        raise ApiError(503, "rate_limiter_unavailable",
                       "Rate limits cannot be checked right now; retry shortly.",
                       ((b"retry-after", str(self.settings.retry_after_s).encode()),))

    async def close(self) -> None:
        await self._counter.close()


def over_limit(decision: Decision, dialect_name: str) -> ApiError:
    return ApiError(429, "rate_limit_exceeded",
                    f"Too many requests for this API key: the limit is {decision.limit} per window; "
                    f"retry after {decision.retry_after} s.", decision.headers(),
                    details=f"{dialect_name} limit resets at {decision.reset} (epoch seconds)")
