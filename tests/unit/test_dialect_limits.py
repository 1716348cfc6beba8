"""Limits where the dialects document them, and the operator's per-tenant budget, with an injected clock."""

import asyncio
import calendar

import pytest

from gateway.errors import ApiError
from gateway.ratelimit import BUDGET, INGEST, MINUTE, LocalCounter, RateLimiter
from gateway.routes import ROUTES
from sluice import metrics
from sluice.settings import load_settings
from tests.unit.test_access import BEFORE_HOUR, LOGFLUX, Clock, World
from tests.unit.test_gateway import ASTRA, INFORMANT, TRACE

PROFOUND = [{"timestamp": BEFORE_HOUR, "method": "GET", "host": "example.com", "path": "/", "status_code": 200,
             "ip": "192.168.1.1", "user_agent": "curl/8"}]


def test_each_route_counts_against_what_its_dialect_documents():
    quotas = {path: route.quota for path, route in ROUTES.items()}
    assert quotas == {"/v1/drain": BUDGET, "/v1/logs/ingest": INGEST, "/api/ingest/batch": INGEST,
                      "/api/ingest": INGEST, "/v1/ingest": MINUTE, "/v1/batch": MINUTE,
                      "/v1/logs/custom": BUDGET, "/v1/logs": BUDGET}


async def test_twenty_thousand_astralog_requests_in_an_hour_get_no_429_where_logtrace_stops_at_its_tier():
    clock = Clock(calendar.timegm((2026, 11, 23, 10, 0, 0)))
    limiter = RateLimiter(load_settings({}), LocalCounter(clock), clock)
    astralog, logtrace = ROUTES["/v1/drain"].quota, ROUTES["/v1/logs/ingest"].quota
    decisions = []
    for _ in range(20_000):  # 20,000 within the hour: one each 0.18 s
        decisions.append(await limiter.check("key-1", "standard", astralog))
        clock.now += 0.18
    assert decisions == [None] * 20_000  # no quota applies: no 429, no limit headers
    clock.now = calendar.timegm((2026, 11, 23, 11, 0, 0))
    allowed = [(await limiter.check("key-1", "standard", logtrace)).allowed for _ in range(10_001)]
    assert allowed == [True] * 10_000 + [False]  # LogTrace's documented standard tier


async def test_astralog_profound_and_otlp_answer_without_limit_headers_on_the_default_tier():
    w = World(standard_ingest_per_hour=1)
    key = w.key()
    for _ in range(3):
        r = await w.client.post("/v1/drain", json=ASTRA, headers={"Authorization": key})
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
        r = await w.client.post("/v1/logs/custom", json=PROFOUND, headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["errors"] == [] and "x-ratelimit-limit" not in r.headers
        r = await w.client.post("/v1/logs", json={"resourceLogs": []}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
    assert [(await w.client.post("/api/ingest/batch", json=INFORMANT, headers={"X-API-Key": k})).status_code
            for k in (key, key)] == [200, 429]  # LogInformant keeps its tier


async def test_the_tenant_record_budget_refuses_the_second_over_it_with_retry_after():
    w = World(tenant_records_per_s=3)
    a, b, other = w.key("acme"), w.key("acme"), w.key("zenith")
    answers = [await w.client.post("/v1/drain", json=ASTRA, headers={"Authorization": k}) for k in (a, b, a, b)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]  # the tenant's keys share its budget
    assert answers[3].json()["error"]["code"] == "tenant_budget_exceeded"
    assert answers[3].headers["retry-after"] == "1"
    assert "3 records per second" in answers[3].json()["error"]["message"]
    assert (await w.client.post("/v1/drain", json=ASTRA, headers={"Authorization": other})).status_code == 200
    w.clock.now += 1  # the next second, a new budget
    assert (await w.client.post("/v1/drain", json=ASTRA, headers={"Authorization": a})).status_code == 200
    assert len(w.publisher.published) == 5  # nothing refused was published


async def test_the_budget_covers_every_dialect_in_its_own_words():
    w = World(tenant_records_per_s=1)
    key, flux = w.key(), w.key(fmt="logflux")
    before = metrics.GATEWAY_RATE_LIMITED.labels("profound", BUDGET, "refused")._value.get()
    assert (await w.ingest(key)).status_code == 202
    r = await w.client.post("/v1/logs/custom", json=PROFOUND, headers={"X-API-Key": key})
    assert r.status_code == 429 and "budget" in r.json()["detail"] and r.headers["retry-after"] == "1"
    assert metrics.GATEWAY_RATE_LIMITED.labels("profound", BUDGET, "refused")._value.get() == before + 1
    r = await w.client.post("/v1/ingest", json=LOGFLUX, headers={"Authorization": f"Bearer {flux}"})
    assert (r.status_code, r.json()["error"]["code"]) == (429, "TENANT_BUDGET_EXCEEDED")
    assert r.headers["x-ratelimit-limit"] == "600"  # the per-key minute was counted too
    internal = w.key("internal", tier="unlimited")
    assert [(await w.ingest(internal)).status_code for _ in range(3)] == [202] * 3


async def test_a_request_bigger_than_a_seconds_budget_is_413_naming_the_setting():
    w = World(tenant_bytes_per_s=100)
    r = await w.ingest(w.key())
    assert (r.status_code, r.json()["error"]["code"]) == (413, "exceeds_tenant_budget")
    assert "tenant_bytes_per_s" in r.json()["error"]["message"]
    assert w.publisher.published == []


async def test_bytes_budget_counts_decoded_bytes_per_second():
    w = World(tenant_bytes_per_s=400)
    key = w.key()
    statuses = [(await w.ingest(key)).status_code for _ in range(5)]
    size = len(w.publisher.published[0][0])
    assert 1 < 400 // size < 5
    assert statuses == [202] * (400 // size) + [429] * (5 - 400 // size)


async def test_a_failed_budget_store_follows_fail_open():
    class Broken(LocalCounter):
        async def incr(self, *args, **kwargs):
            raise OSError("down")

    clock = Clock(BEFORE_HOUR)
    limiter = RateLimiter(load_settings({}, tenant_records_per_s=5), Broken(clock), clock)
    await limiter.charge("acme", "standard", "astralog", 1, 10)  # allowed, counted as an error
    closed = RateLimiter(load_settings({}, tenant_records_per_s=5, rate_limit_fail_open=False), Broken(clock), clock)
    with pytest.raises(ApiError) as info:
        await closed.charge("acme", "standard", "astralog", 1, 10)
    assert info.value.status == 503


def test_local_counter_adds_amounts():
    clock = Clock(0.0)
    counter = LocalCounter(clock)
    assert [asyncio.run(counter.incr("n", 1, 10, amount)) for amount in (3, 4, 1)] == [3, 7, 8]
