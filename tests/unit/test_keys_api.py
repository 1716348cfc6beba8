"""``/v1/keys`` and ``/v1/health`` against an attacker holding an ordinary admin key: no key stronger
than its creator, a cap per tenant, a bounded expiry, and a rate limit on both endpoints."""

from __future__ import annotations

import time

import httpx
import pytest

from gateway import health
from gateway.app import Gateway
from schemas.registry import ADMIN, READ, WRITE, TenantRecord
from sluice import metrics
from sluice.keys import Registry, new_key
from sluice.settings import load_settings
from gateway.testing import RecordingPublisher

EVERYTHING = (ADMIN, WRITE, READ)


class KeyedPublisher(RecordingPublisher):
    async def put(self, topic: str, key: bytes, value: bytes) -> None:
        self.topics.append(topic)


class Tenant:
    """A gateway over an in-memory registry; ``admin`` mints keys for the tests to use."""

    def __init__(self, **settings):
        self.registry = Registry()
        self.registry.apply(TenantRecord("acme", "t"))
        self.settings = load_settings({}, **settings)
        app = Gateway(self.settings, self.registry, KeyedPublisher())
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")

    def admin(self, tenant: str = "acme", scopes=EVERYTHING, **kw) -> dict[str, str]:
        key, record = new_key(tenant, scopes=scopes, **kw)
        self.registry.apply(record)
        return {"Authorization": f"Bearer {key}"}

    async def create(self, headers: dict[str, str], **wanted) -> httpx.Response:
        return await self.client.post("/v1/keys", json=wanted, headers=headers)


def refused(code: str) -> float:
    return metrics.GATEWAY_REJECTIONS.labels("keys", code)._value.get()


def iso(seconds_from_now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


async def test_a_tenant_holds_at_most_max_keys_per_tenant_live_keys():
    t = Tenant(max_keys_per_tenant=3)
    admin = t.admin()  # one of the three
    t.admin("rival")  # another tenant's keys do not count
    t.admin(environment="staging", expires_at=iso(-60))  # nor do expired ones
    before = refused("too_many_keys")
    created = [await t.create(admin, scopes=[WRITE]) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    r = await t.create(admin, scopes=[WRITE])
    assert (r.status_code, r.json()["error"]["code"]) == (409, "too_many_keys")
    assert "3" in r.json()["error"]["message"]
    assert refused("too_many_keys") == before + 1
    assert (await t.client.delete(f"/v1/keys/{created[0].json()['key_id']}", headers=admin)).status_code == 200
    assert (await t.create(admin, scopes=[WRITE])).status_code == 201  # a revoked key frees its place


async def test_an_expiring_key_creates_only_keys_that_expire_no_later():
    t = Tenant()
    admin = t.admin(expires_at=iso(86400))
    before = refused("expiry_exceeds_creator")
    for wanted in ({}, {"expires": "2d"}, {"expires": iso(2 * 86400)}):
        r = await t.create(admin, scopes=[WRITE], **wanted)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "expiry_exceeds_creator"), wanted
    assert refused("expiry_exceeds_creator") == before + 3
    r = await t.create(admin, scopes=[WRITE], expires="12h")
    assert r.status_code == 201 and r.json()["expires_at"]


async def test_a_key_grants_no_scope_it_lacks_and_no_other_environment():
    t = Tenant()
    writer_admin = t.admin(scopes=(ADMIN, WRITE), environment="staging")
    r = await t.create(writer_admin, scopes=[READ])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "scope_exceeds_creator")
    r = await t.create(writer_admin, scopes=[WRITE, ADMIN])
    assert r.status_code == 201 and r.json()["environment"] == "staging"
    r = await t.create(writer_admin, scopes=[WRITE], environment="production")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "environment_exceeds_creator")
    assert (await t.create(writer_admin, scopes=[WRITE], environment="staging")).status_code == 201
    r = await t.create(writer_admin, scopes=[WRITE], environment="qa")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_request")


@pytest.mark.parametrize("expires", ["99999999999999999999d", "3654d", "0d", "9999-12-31T00:00:00Z",
                                     "2000-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "tomorrow", "1y"])
async def test_an_expiry_out_of_bounds_is_400_naming_the_field(expires):
    t = Tenant()
    before = refused("invalid_expires")
    r = await t.create(t.admin(), expires=expires)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_expires")
    assert r.json()["error"]["message"].startswith("expires: ")
    assert refused("invalid_expires") == before + 1


async def test_ten_years_is_the_longest_expiry():
    t = Tenant()
    r = await t.create(t.admin(), expires="3653d")
    assert r.status_code == 201


async def test_key_management_and_the_health_report_are_rate_limited(monkeypatch):
    async def report(*args):
        return 200, {"status": "healthy"}

    monkeypatch.setattr(health, "report", report)
    t = Tenant(standard_control_per_hour=2)
    admin = t.admin()
    answers = [await t.client.get("/v1/keys", headers=admin) for _ in range(2)]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["1", "0"]
    for path in ("/v1/keys", "/v1/health"):
        r = await t.client.get(path, headers=admin)  # both count against the same quota
        assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limit_exceeded")
        assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-limit"] == "2"
    other = t.admin()  # per key: another key has its own
    r = await t.client.get("/v1/health", headers=other)
    assert (r.status_code, r.headers["x-ratelimit-remaining"]) == (200, "1")
    r = await t.create(other, expires="nope")  # a refusal after the check still shows the limit
    assert r.status_code == 400 and r.headers["x-ratelimit-remaining"] == "0"
