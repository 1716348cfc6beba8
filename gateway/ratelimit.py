"""Rate limits in fixed windows: LogFlux's per minute, LogTrace's per UTC hour, the operator's per second.

Families of requests count apart, per key: LogFlux ingestion per minute
(MINUTE), the ingestion of dialects with documented hourly tiers (INGEST:
LogTrace, LogInformant), searches and tails (QUERY), and the control endpoints,
``/v1/keys`` and ``/v1/health`` (CONTROL), per hour. Dialects whose docs set no
limit (BUDGET: AstraLog, Profound, OTLP) have no request count: their senders
were never written to expect a 429.

Over all of that, the operator may set a budget per tenant (``charge``):
``tenant_records_per_s`` records and ``tenant_bytes_per_s`` decoded body bytes
per second, over all its keys and dialects. Off by default; tier ``unlimited``
is exempt.

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

from gateway.errors import ApiError, CounterUnavailable
from sluice import metrics
from sluice.settings import Settings

log = logging.getLogger(__name__)

MINUTE, INGEST, QUERY, CONTROL = "minute", "ingest", "query", "control"
#: Ingestion no request quota counts: unlimited unless the operator sets a tenant budget.
BUDGET = "budget"
#: Families whose enterprise requests over the limit go to the overflow lane instead of a 429.
OVERFLOWS = (MINUTE, INGEST)
#: Requests a tenant sent to the overflow lane, per UTC hour: the lane's backlog stays bounded.
OVERFLOW = "overflow"


class Quota(NamedTuple):
    family: str  # MINUTE, INGEST, QUERY or CONTROL
    limit: int
    window_s: int


class Decision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    retry_after: int  # whole seconds until then, at least 1

    def limit_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """X-RateLimit-Limit, -Remaining and -Reset: on every response after the check."""
        return ((b"x-ratelimit-limit", b"%d" % self.limit), (b"x-ratelimit-remaining", b"%d" % self.remaining),
                (b"x-ratelimit-reset", b"%d" % self.reset))

    def headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The limit headers, and Retry-After when refused."""
        common = self.limit_headers()
        return common if self.allowed else common + ((b"retry-after", b"%d" % self.retry_after),)


def quota_for(settings: Settings, tier: str, family: str) -> Quota | None:
    """The tier's quota for a family of requests; None when unlimited."""
    if not settings.rate_limits or tier not in ("standard", "enterprise") or family == BUDGET:
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
    async def incr(self, name: str, expires_at: int, limit: int, amount: int = 1) -> int:
        """Count one request (``amount`` units of it) on ``name`` (created at 0, gone after ``expires_at``).

        Returns the window's total after it: no other request of the window
        got the same; it is at most ``limit`` only while fewer than ``limit``
        units were counted before it and this one fits.
        """

    async def close(self) -> None: ...


class LocalCounter:
    """Counters of one process; expired windows are dropped as time moves on."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # name -> (count, expires_at)
        self._next_sweep = 0.0

    async def incr(self, name: str, expires_at: int, limit: int, amount: int = 1) -> int:
        now = self._clock()
        if now >= self._next_sweep:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            self._next_sweep = now + 1.0
        count = self._counts.get(name, (0, expires_at))[0] + amount
        self._counts[name] = (count, expires_at)
        return count

    async def close(self) -> None:
        self._counts.clear()


class RateLimiter:
    def __init__(self, settings: Settings, counter: Counter | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self._clock = clock
        self._quotas = {(tier, family): quota_for(settings, tier, family)
                        for tier in ("standard", "enterprise") for family in (MINUTE, INGEST, QUERY, CONTROL)}
        self._budgets = tuple((what, per_s) for what, per_s in (("records", settings.tenant_records_per_s),
                                                                 ("bytes", settings.tenant_bytes_per_s)) if per_s > 0)
        if counter is None:
            url = str(settings.rate_limit_redis_url)
            if url:
                from gateway.ratelimit_redis import RedisCounter
                counter = RedisCounter(url)
            else:
                counter = LocalCounter(clock)
        self._counter = counter

    async def check(self, key_id: str, tier: str, family: str) -> Decision | None:
        """Count one request of key ``key_id``; None when no limit applies or the store failed open.

        Raises a 503 ``ApiError`` when the store failed and the limiter fails closed.
        """
        quota = self._quotas.get((tier, family))
        if quota is None:
            return None
        now = self._clock()
        window = int(now) // quota.window_s
        name = f"sluice:rl:{family}:{key_id}:{window}"
        try:
            count = await self._counter.incr(name, (window + 1) * quota.window_s, quota.limit)
        except (CounterUnavailable, OSError, asyncio.TimeoutError) as exc:
            return self._failed(exc)
        return decide(count, quota, now)

    async def overflow(self, tenant: str) -> Decision | None:
        """Count one request of ``tenant`` into the overflow lane against ``overflow_budget_per_hour``;
        a refused Decision once the hour's budget is spent (None when the store failed open)."""
        quota = Quota(OVERFLOW, self.settings.overflow_budget_per_hour, 3600)
        now = self._clock()
        window = int(now) // quota.window_s
        try:
            count = await self._counter.incr(f"sluice:rl:{OVERFLOW}:{tenant}:{window}", (window + 1) * 3600,
                                             quota.limit)
        except (CounterUnavailable, OSError, asyncio.TimeoutError) as exc:
            return self._failed(exc)
        return decide(count, quota, now)

    async def charge(self, tenant: str, tier: str, dialect: str, records: int, nbytes: int) -> None:
        """Count an accepted request's records and bytes against the tenant's budgets, per second.

        Raises a 429 (Retry-After: the next second) when the second's budget is
        spent, a 413 when the request alone holds more than a second's budget
        (no retry would help: smaller requests would), and the store's 503 when
        it failed and the limiter fails closed. Every request counts, refused or not.
        """
        if not self._budgets or tier == "unlimited":
            return
        for what, per_s in self._budgets:
            amount = records if what == "records" else nbytes
            if amount > per_s:
                metrics.GATEWAY_RATE_LIMITED.labels(dialect, BUDGET, "too_large").inc()
                raise ApiError(413, "exceeds_tenant_budget",
                               f"This request holds {amount} {what}, more than this tenant's budget of {per_s} "
                               f"{what} per second (tenant_{what}_per_s): send smaller requests.")
            now = self._clock()
            second = int(now)
            try:
                total = await self._counter.incr(f"sluice:budget:{what}:{tenant}:{second}", second + 1, per_s, amount)
            except (CounterUnavailable, OSError, asyncio.TimeoutError) as exc:
                self._failed(exc)
                continue
            if total > per_s:
                metrics.GATEWAY_RATE_LIMITED.labels(dialect, BUDGET, "refused").inc()
                decision = decide(total, Quota(BUDGET, per_s, 1), now)
                raise ApiError(429, "tenant_budget_exceeded",
                               f"This tenant's ingestion budget of {per_s} {what} per second is spent; "
                               f"retry after {decision.retry_after} s.",
                               ((b"retry-after", b"%d" % decision.retry_after),))

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


def over_overflow_budget(decision: Decision) -> ApiError:
    return ApiError(429, "overflow_budget_exceeded",
                    f"This tenant is over its rate limit and has sent its {decision.limit} requests of this hour "
                    f"to the overflow lane; retry after {decision.retry_after} s.", decision.headers(),
                    details=f"overflow_budget_per_hour={decision.limit}")


def over_limit(decision: Decision, dialect_name: str) -> ApiError:
    return ApiError(429, "rate_limit_exceeded",
                    f"Too many requests for this API key: the limit is {decision.limit} per window; "
                    f"retry after {decision.retry_after} s.", decision.headers(),
                    details=f"{dialect_name} limit resets at {decision.reset} (epoch seconds)")
