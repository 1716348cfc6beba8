"""An enterprise tenant over its rate limit overflows into the overflow lane only up to its hourly
overflow budget; beyond, 429 overflow_budget_exceeded, and nothing is published."""

from __future__ import annotations

import httpx

from gateway.app import Gateway
from gateway.testing import RecordingPublisher
from schemas.registry import TenantRecord
from sluice import metrics
from sluice.keys import Registry, new_key
from sluice.settings import load_settings

TRACE = {"logs": [{"level": "ERROR", "message": "Connection timeout", "service": "payment-gateway"}]}


def _gateway(tier: str, **settings):
    registry = Registry()
    registry.apply(TenantRecord("big", "t", tier=tier))
    key, record = new_key("big")
    registry.apply(record)
    publisher = RecordingPublisher()
    app = Gateway(load_settings({}, **settings), registry, publisher)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"), key, publisher


async def test_overflow_stops_at_the_tenants_hourly_budget_with_a_429_and_retry_after():
    client, key, publisher = _gateway("enterprise", enterprise_ingest_per_hour=2, overflow_budget_per_hour=3)
    refused_before = metrics.GATEWAY_RATE_LIMITED.labels("logtrace", "ingest", "overflow_budget")._value.get()
    answers = [await client.post("/v1/logs/ingest", json=TRACE, headers={"Authorization": f"Bearer {key}"})
               for _ in range(7)]
    assert [r.status_code for r in answers] == [202, 202, 202, 202, 202, 429, 429]
    assert [r.headers.get("x-sluice-overflow") for r in answers[:5]] == [None, None, "true", "true", "true"]
    assert publisher.topics == [None, None, "sluice-overflow", "sluice-overflow", "sluice-overflow"]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "overflow_budget_exceeded"
    assert refused.json()["error"]["details"] == "overflow_budget_per_hour=3"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    after = metrics.GATEWAY_RATE_LIMITED.labels("logtrace", "ingest", "overflow_budget")._value.get()
    assert after - refused_before == 2


async def test_a_standard_tenant_over_its_limit_gets_the_plain_429_and_never_overflows():
    client, key, publisher = _gateway("standard", standard_ingest_per_hour=1, overflow_budget_per_hour=100)
    answers = [await client.post("/v1/logs/ingest", json=TRACE, headers={"Authorization": f"Bearer {key}"})
               for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 429, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limit_exceeded" and publisher.topics == [None]
