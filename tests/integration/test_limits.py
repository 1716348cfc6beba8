"""Rate limits across gateway processes (shared through a real Redis) and the enterprise overflow lane."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import httpx

from schemas.registry import ADMIN, WRITE, TenantRecord
from sluice import registry as registry_topic
from sluice.keys import expires_at, new_key, now_iso
from sluice.local.logflux_client import entry
from tests.support import Process, free_port, post, sql, wait_for

pytestmark = pytest.mark.integration


def counter(url: str):
    """A Redis counter for the tests of its counting: a patient one. The gateway's 0.25 s budget is a policy
    for a live request; on a loaded test machine a first round trip can take longer, and what these tests
    check is which values are handed out, not how fast."""
    from gateway.ratelimit_redis import RedisCounter

    return RedisCounter(url, timeout_s=10)


def trace(message: str) -> dict:
    return {"logs": [{"timestamp": "2024-03-15T10:22:01Z", "level": "INFO", "message": message, "service": "s"}]}


def test_two_gateway_processes_share_one_limit_through_redis(broker, make_sluice, redis_server, tmp_path):
    sluice = make_sluice(broker.config.bootstrap, rate_limit_redis_url=redis_server.url, standard_ingest_per_hour=6)
    second = Process(sluice.settings.replace(gateway_port=free_port(), logstash_tcp_port=free_port(),
                                             logstash_udp_port=free_port()), "gateway", tmp_path).start()
    try:
        headers = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
        answers = []
        for n in range(10):
            base = (sluice.settings if n % 2 == 0 else second.settings).gateway_url
            answers.append(post(base + "/v1/logs/ingest", trace(f"shared-{n}"), headers))
        assert [status for status, _, _ in answers] == [202] * 6 + [429] * 4
        assert [h["x-ratelimit-remaining"] for _, _, h in answers[:6]] == ["5", "4", "3", "2", "1", "0"]
        assert all(int(h["retry-after"]) >= 1 for _, _, h in answers[6:])
    finally:
        second.stop()


def test_astralog_is_not_limited_on_the_default_tier_while_logflux_keys_are(broker, make_sluice):
    # Tiny documented quotas, so that a short run shows both: they bind LogTrace and LogFlux, never AstraLog.
    sluice = make_sluice(broker.config.bootstrap, standard_ingest_per_hour=5, standard_requests_per_minute=5)
    drain = {"logs": [{"project_id": "p", "timestamp": now_iso(), "level": "info", "service": "s", "message": "m"}]}
    with httpx.Client(timeout=30) as client:
        astralog = [client.post(sluice.url("/v1/drain"), json=drain, headers={"Authorization": sluice.key})
                    for _ in range(200)]
        assert [r.status_code for r in astralog] == [200] * 200
        assert not any("x-ratelimit-limit" in r.headers for r in astralog)
        headers = {"Authorization": f"Bearer {sluice.key}"}
        traces = [client.post(sluice.url("/v1/logs/ingest"), json=trace(f"t{n}"), headers=headers).status_code
                  for n in range(6)]
        assert traces == [202] * 5 + [429]
        key, record = new_key("acme", prefix="lf_")
        asyncio.run(registry_topic.publish(sluice.settings, record))
        flux = {"Authorization": f"Bearer {key}"}
        wait_for(lambda: client.post(sluice.url("/v1/ingest"), json=entry("warm-up", "s"), headers=flux)
                 .status_code in (200, 429), 15, what="the LogFlux key at the gateway")
        # 12 more: wherever a minute boundary falls, one minute holds six of the 13, over the 5.
        answers = [client.post(sluice.url("/v1/ingest"), json=entry(f"f{n}", "s"), headers=flux) for n in range(12)]
    refused = [r for r in answers if r.status_code == 429]
    assert refused and all(r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED" for r in refused)
    assert all(r.headers["x-ratelimit-limit"] == "5" and int(r.headers["retry-after"]) >= 1 for r in refused)
    assert {r.status_code for r in answers} <= {200, 429}


def test_the_tenant_record_budget_refuses_over_it_with_retry_after(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, tenant_records_per_s=2)
    drain = {"logs": [{"project_id": "p", "timestamp": now_iso(), "level": "info", "service": "s", "message": "m"}] * 2}
    answers = []
    with httpx.Client(timeout=30) as client:
        # Each request spends a whole second's budget: the next one within that second is refused.
        while len(answers) < 50 and not any(r.status_code == 429 for r in answers):
            answers.append(client.post(sluice.url("/v1/drain"), json=drain, headers={"Authorization": sluice.key}))
    *before, refused = answers
    assert {r.status_code for r in before} == {200} and refused.status_code == 429
    assert refused.json()["error"]["code"] == "tenant_budget_exceeded" and refused.headers["retry-after"] == "1"


def test_enterprise_requests_over_the_limit_are_all_stored_through_the_overflow_lane(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, enterprise_ingest_per_hour=3, overflow_records_per_s=4)
    asyncio.run(registry_topic.publish(sluice.settings, TenantRecord("acme", now_iso(), tier="enterprise")))
    headers = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}

    def tier_applied():
        status, _, h = post(sluice.url("/v1/logs/ingest"), trace("warm-up"), headers)
        return status == 202 and h.get("x-ratelimit-limit") == "3"

    wait_for(tier_applied, 10, what="the enterprise tier at the gateway")
    answers = [post(sluice.url("/v1/logs/ingest"), trace(f"overflow-{n}"), headers) for n in range(20)]
    assert [status for status, _, _ in answers] == [202] * 20
    assert sum(h.get("x-sluice-overflow") == "true" for _, _, h in answers) >= 18
    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.logs WHERE Body LIKE 'overflow-%'")[0][0] >= 20,
             60, what="every overflowed record stored")
    total, distinct = sql(sluice.settings,
                          "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE Body LIKE 'overflow-%'")[0]
    assert (total, distinct) == (20, 20)


def test_key_management_on_a_real_gateway_is_bounded_and_rate_limited(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, standard_control_per_hour=6, max_keys_per_tenant=3)
    admin, record = new_key("acme", scopes=(ADMIN, WRITE), expires_at=expires_at("1d"))
    asyncio.run(registry_topic.publish(sluice.settings, record))  # the tenant's second key
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    # Unknown keys are refused before the limit is counted: only the first 200 counts.
    wait_for(lambda: httpx.get(sluice.url("/v1/keys"), headers=headers).status_code == 200, 15,
             what="the admin key at the gateway")

    def create(**wanted) -> tuple[int, str]:
        status, body, _ = post(sluice.url("/v1/keys"), wanted, headers)
        return status, body.get("error", {}).get("code", "")

    assert create(scopes=[WRITE], expires="99999999999999999999d") == (400, "invalid_expires")
    assert create(scopes=[WRITE]) == (403, "expiry_exceeds_creator")  # it would outlive its creator
    assert create(scopes=[WRITE, "read:logs"], expires="1h") == (403, "scope_exceeds_creator")
    assert create(scopes=[WRITE], expires="1h") == (201, "")  # the third
    assert create(scopes=[WRITE], expires="1h") == (409, "too_many_keys")
    status, body, limit_headers = post(sluice.url("/v1/keys"), {"scopes": [WRITE], "expires": "1h"}, headers)
    assert (status, body["error"]["code"]) == (429, "rate_limit_exceeded")  # the seventh within the hour
    assert limit_headers["x-ratelimit-limit"] == "6" and int(limit_headers["retry-after"]) >= 1
    health = httpx.get(sluice.url("/v1/health"), headers=headers)
    assert health.status_code == 429 and health.headers["x-ratelimit-remaining"] == "0"


async def test_replicas_leasing_from_redis_admit_exactly_the_limit(redis_server):
    a, b = counter(redis_server.url), counter(redis_server.url)  # two replicas
    expires = int(time.time()) + 60
    name = f"test:{uuid.uuid4().hex}"
    counts = await asyncio.gather(*(c.incr(name, expires, 100) for _ in range(150) for c in (a, b)))
    assert len(set(counts)) == 300  # no value handed out twice
    assert sum(c <= 100 for c in counts) == 100  # exactly the limit admitted, across both
    assert a.round_trips + b.round_trips < 150  # leased and coalesced, not one trip per request
    # A big limit is served mostly from leases.
    other, before = f"test:{uuid.uuid4().hex}", a.round_trips
    assert [await a.incr(other, expires, 1_000_000) for _ in range(640)] == list(range(1, 641))
    assert a.round_trips - before == 640 // 64
    await a.close()
    await b.close()


async def test_budget_amounts_claimed_from_redis_never_overlap_and_mix_with_leases(redis_server):
    a, b = counter(redis_server.url), counter(redis_server.url)
    expires = int(time.time()) + 60
    name = f"test:{uuid.uuid4().hex}"
    totals = await asyncio.gather(*(c.incr(name, expires, 1000, 10) for _ in range(30) for c in (a, b)))
    assert sorted(totals) == list(range(10, 610, 10))  # 60 claims of 10, each its own span of values
    assert a.round_trips + b.round_trips <= 4  # a burst of claims shares a round trip, not a connection each
    assert await a.incr(name, expires, 1000) == 601  # a lease starts after them
    assert await b.incr(name, expires, 1000, 500) > 1000  # over the limit: the caller refuses
    assert await b.incr(name, expires, 1000, 5) > 1000  # and the window is known spent, without a round trip
    await a.close()
    await b.close()


async def test_claims_and_leases_waiting_together_share_one_round_trip_without_overlap(redis_server):
    redis_counter = counter(redis_server.url)
    expires = int(time.time()) + 60
    name = f"test:{uuid.uuid4().hex}"
    calls = [redis_counter.incr(name, expires, 100_000, amount) for amount in (7, 1, 1, 300, 1, 5, 1)]
    results = await asyncio.gather(*calls)
    spans = sorted((last - amount + 1, last) for last, amount in zip(results, (7, 1, 1, 300, 1, 5, 1)))
    assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))  # no value owned twice
    assert spans[0][0] == 1 and redis_counter.round_trips == 1
    # The lease taken with the claims goes on serving single requests locally, past every claimed span.
    more = [await redis_counter.incr(name, expires, 100_000) for _ in range(3)]
    assert redis_counter.round_trips == 1 and min(more) > spans[-1][1]
    await redis_counter.close()


async def test_a_lease_travelling_with_claims_is_sized_on_what_the_claims_leave(redis_server):
    # 960 of 1000 claimed in the same round trip: the single request's lease is one value, not a
    # share of the 1,000 still thought free, so no replica sits on spare values near the limit.
    redis_counter = counter(redis_server.url)
    expires = int(time.time()) + 60
    name = f"test:{uuid.uuid4().hex}"
    claimed, single = await asyncio.gather(redis_counter.incr(name, expires, 1000, 960), redis_counter.incr(name, expires, 1000))
    assert (claimed, single, redis_counter.round_trips) == (960, 961, 1)
    assert await redis_counter.incr(name, expires, 1000) == 962 and redis_counter.round_trips == 2  # nothing was held over
    await redis_counter.close()
