"""What a streaming tail keeps checking: its slot, its key and its quota."""

from __future__ import annotations

import msgspec
import pytest

from gateway import ratelimit
from gateway.auth import AuthStyle, authorize
from gateway.errors import ApiError
from gateway.ratelimit import QUERY, RateLimiter
from gateway.tail import RECHECK_S, Guard, Slots
from schemas.registry import READ, TenantRecord
from sluice import metrics
from sluice.keys import Registry, new_key, now_iso
from sluice.settings import load_settings
from tests.support import Clock


def test_a_key_holds_at_most_its_slots_and_gets_them_back():
    slots = Slots(2, retry_after_s=5)
    before = metrics.GATEWAY_TAILS_OPEN._value.get()
    with slots.hold("k1"), slots.hold("k1"), slots.hold("k2"):
        assert metrics.GATEWAY_TAILS_OPEN._value.get() == before + 3
        with pytest.raises(ApiError) as info:
            with slots.hold("k1"):
                pass
        err = info.value
        assert (err.status, err.code, err.details) == (429, "too_many_tails", "tail_max_per_key=2")
        assert dict(err.headers)[b"retry-after"] == b"5"
    assert metrics.GATEWAY_TAILS_OPEN._value.get() == before
    with slots.hold("k1"), slots.hold("k1"):
        pass


def world(expires_at: str | None = None, **settings):
    registry = Registry()
    registry.apply(TenantRecord("acme", now_iso()))
    key, record = new_key("acme", expires_at=expires_at)
    registry.apply(record)
    s = load_settings({}, **settings)
    headers = {b"authorization": f"Bearer {key}".encode()}
    return registry, record, s, lambda: authorize(registry, AuthStyle.BEARER, headers, s, READ)


async def nothing() -> None:
    return None


async def test_a_revoked_key_ends_the_tail_at_the_next_check():
    registry, record, s, reauthorize = world()
    clock = Clock(1_000_000.0)
    guard = Guard(record, registry, reauthorize, nothing, 60, clock)
    clock.now += RECHECK_S
    assert await guard.check() is None
    registry.apply(msgspec.structs.replace(record, revoked_at=now_iso()))
    assert await guard.check() is None  # checked a moment ago
    clock.now += RECHECK_S
    assert (await guard.check()).reason == "key_revoked"


async def test_an_expired_key_ends_the_tail():
    registry, record, s, reauthorize = world(expires_at="2020-01-01T00:00:00+00:00")
    clock = Clock(1_000_000.0)
    guard = Guard(record, registry, reauthorize, nothing, 60, clock)
    clock.now += RECHECK_S
    closing = await guard.check()
    assert closing.reason == "key_expired" and "expired" in closing.message


async def test_each_minute_of_streaming_counts_one_query_and_the_quota_ends_it():
    registry, record, s, reauthorize = world(standard_query_per_hour=3)
    wall = Clock(1_000_000.0)
    limiter = RateLimiter(s, clock=wall)

    async def charge():
        decision = await limiter.check(record.key_id, "standard", QUERY)
        if not decision.allowed:
            raise ratelimit.over_limit(decision, "tail")
        return decision

    await charge()  # opening the tail counts once
    clock = Clock(1_000_000.0)
    guard = Guard(record, registry, reauthorize, charge, 60, clock)
    clock.now += 59
    assert await guard.check() is None  # not a minute yet: nothing counted
    clock.now += 1
    assert await guard.check() is None  # the second query of the hour
    clock.now += 60
    assert await guard.check() is None  # the third
    clock.now += 60
    closing = await guard.check()
    assert closing.reason == "rate_limit_exceeded" and "limit is 3" in closing.message
