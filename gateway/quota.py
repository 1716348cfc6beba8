"""A request counted against its key's quota (gateway/ratelimit.py), and the headers that show it.

Contract: ``limit`` returns the decision when the request may go on (None
when no limit applies), raises the 429 ``ApiError`` when it may not, and lets
an enterprise tenant's ingest request over its limit go on to the overflow
topic (the decision then says not allowed) until the overflow budget is spent.
"""

from __future__ import annotations

from gateway import ratelimit
from gateway.ratelimit import OVERFLOWS, Decision
from gateway.state import GatewayState
from schemas.registry import KeyRecord
from sluice import metrics


async def limit(app: GatewayState, key: KeyRecord, family: str, dialect: str) -> Decision | None:
    """Count the request against the key's quota; a 429 when over it, unless the request may overflow."""
    tier = app.registry.tier(key.tenant)
    decision = await app.limiter.check(key.key_id, tier, family)
    if decision is not None and not decision.allowed:
        if family in OVERFLOWS and tier == "enterprise":
            spill = await app.limiter.overflow(key.tenant)
            if spill is not None and not spill.allowed:
                metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "overflow_budget").inc()
                raise ratelimit.over_overflow_budget(spill)
            metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "overflow").inc()
            return decision
        metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "refused").inc()
        raise ratelimit.over_limit(decision, dialect)
    return decision


def rate_headers(decision: Decision | None) -> tuple[tuple[bytes, bytes], ...]:
    # An overflowed request was accepted: it shows the limit, not a Retry-After.
    return decision.limit_headers() if decision is not None else ()
