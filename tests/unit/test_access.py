"""Keys with scopes, environments and expiry; per-key rate limits with an injected clock."""

import base64
import calendar

import httpx
import msgspec
import pytest

from gateway.app import Gateway
from gateway.ratelimit import LocalCounter, RateLimiter, decide, quota_for
from schemas import registry as records
from schemas.registry import ADMIN, READ, WRITE, KeyRecord, TenantRecord
from sluice import metrics
from sluice.keys import Registry, expires_at, new_key, prefix_for
from sluice.settings import load_settings
from gateway.testing import RecordingPublisher
from tests.unit.test_gateway import TRACE
from tests.support import Clock

LOGFLUX = {"node": "n", "loglevel": 6, "timestamp": "2024-01-17T10:30:45Z", "encryption_mode": 1,
           "payload": base64.b64encode(b"x" * 32).decode(), "iv": base64.b64encode(b"i" * 12).decode(),
           "salt": base64.b64encode(b"s" * 32).decode()}
# 10:59:59.5 UTC: half a second before the top of the hour.
BEFORE_HOUR = calendar.timegm((2026, 11, 23, 10, 59, 59)) + 0.5


class KeyedPublisher(RecordingPublisher):
    def __init__(self):
        super().__init__()
        self.put_records: list[tuple[str, bytes, bytes]] = []

    async def put(self, topic: str, key: bytes, value: bytes) -> None:
        self.put_records.append((topic, key, value))


class World:
    """One gateway over an in-memory registry, with helpers to mint keys."""

    def __init__(self, clock: Clock | None = None, counter=None, **settings):
        self.registry = Registry()
        self.publisher = KeyedPublisher()
        self.settings = load_settings({}, **settings)
        self.clock = clock or Clock(BEFORE_HOUR)
        limiter = RateLimiter(self.settings, counter or LocalCounter(self.clock), self.clock)
        app = Gateway(self.settings, self.registry, self.publisher, limiter=limiter)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")

    def key(self, tenant="acme", tier="standard", fmt="plain", **kw) -> str:
        if tenant not in self.registry.tenants:
            self.registry.apply(TenantRecord(tenant, "t", tier))
        key, record = new_key(tenant, prefix_for(fmt, kw.get("environment", "production")), **kw)
        self.registry.apply(record)
        return key

    async def ingest(self, key: str, **headers):
        return await self.client.post("/v1/logs/ingest", json=TRACE, headers={"Authorization": f"Bearer {key}", **headers})

    async def logflux(self, key: str):
        return await self.client.post("/v1/ingest", json=LOGFLUX, headers={"Authorization": f"Bearer {key}"})


def test_key_formats_keep_256_bits_and_follow_dialects():
    assert prefix_for("logflux", "production") == "lf_"
    assert prefix_for("logtrace", "production") == "lt_live_"
    assert prefix_for("logtrace", "staging") == "lt_test_"
    key, record = new_key("acme", "lt_test_", environment="staging")
    assert key.startswith("lt_test_") and len(key) - len("lt_test_") == 43  # 32 bytes, base64url
    assert record.environment == "staging" and record.scopes == (READ, WRITE)
    with pytest.raises(ValueError, match="unknown environment"):
        new_key("acme", environment="qa")
    with pytest.raises(ValueError, match="scopes"):
        new_key("acme", scopes=("write:everything",))
    with pytest.raises(ValueError, match="no timezone"):
        new_key("acme", expires_at="2030-01-01T00:00:00")


def test_old_registry_records_read_as_write_and_read_keys_of_standard_tenants():
    old_key = b'{"kind":"key","key_id":"k1","tenant":"t","key_hash":"h","created_at":"c"}'
    old_tenant = b'{"kind":"tenant","name":"t","created_at":"c"}'
    assert records.decode(old_key).scopes == (WRITE, READ)
    assert records.decode(old_key).expires_at is None
    assert records.decode(old_tenant).tier == "standard"


def test_expired_keys_stop_authenticating():
    registry = Registry()
    key, record = new_key("acme", expires_at="2026-11-23T11:00:00Z")
    registry.apply(record)
    assert registry.authenticate(key, now=BEFORE_HOUR) is record
    assert registry.authenticate(key, now=BEFORE_HOUR + 0.5) is None
    assert expires_at("30d", now=0) == "1970-01-31T00:00:00+00:00"


async def test_every_scope_and_environment_combination_answers_the_right_code():
    w = World()
    expected = {  # (scopes, endpoint) -> status with the key's own environment
        ((WRITE,), "ingest"): 202, ((READ,), "ingest"): 403, ((ADMIN,), "ingest"): 403,
        ((WRITE,), "query"): 403, ((ADMIN,), "query"): 403,
        ((WRITE,), "keys"): 403, ((READ,), "keys"): 403, ((ADMIN,), "keys"): 200,
    }
    for (scopes, endpoint), status in expected.items():
        for env in ("production", "staging", "development"):
            key = w.key(environment=env, scopes=scopes)
            for named, want in ((None, status), (env, status),
                                ("staging" if env != "staging" else "production", 403)):
                headers = {"Authorization": f"Bearer {key}"}
                if named:
                    headers["X-Sluice-Environment"] = named
                if endpoint == "ingest":
                    r = await w.client.post("/v1/logs/ingest", json=TRACE, headers=headers)
                elif endpoint == "query":
                    r = await w.client.post("/v1/logs/query", json={"filter": ""}, headers=headers)
                else:
                    r = await w.client.get("/v1/keys", headers=headers)
                assert r.status_code == want, (scopes, endpoint, env, named, r.text)
                if want == 403:
                    # A missing scope is named first; a scoped key in the wrong environment next.
                    code = "insufficient_scope" if status == 403 else "environment_mismatch"
                    assert r.json()["error"]["code"] == code
    r = await w.ingest(w.key(), **{"X-Sluice-Environment": "qa"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_environment")
    assert {env.environment for _, env in w.publisher.published} == {"production", "staging", "development"}


async def test_a_gateway_for_one_environment_refuses_keys_of_another():
    w = World(gateway_environment="staging")
    assert (await w.ingest(w.key(environment="staging"))).status_code == 202
    r = await w.ingest(w.key(environment="production"))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "environment_mismatch")


async def test_missing_unknown_expired_and_revoked_keys_are_401():
    w = World()
    expired = w.key(expires_at="2026-11-23T10:00:00Z")
    revoked = w.key()
    record = w.registry.authenticate(revoked)
    w.registry.apply(msgspec.structs.replace(record, revoked_at="now"))
    for headers in ({}, {"Authorization": "Bearer slk_unknown"}, {"Authorization": f"Bearer {expired}"},
                    {"Authorization": f"Bearer {revoked}"}):
        for path in ("/v1/logs/ingest", "/v1/logs/query", "/v1/keys"):
            r = await w.client.post(path, json=TRACE, headers=headers)
            assert r.status_code == 401, (path, headers, r.text)


async def test_logflux_600th_request_passes_and_601st_gets_429_with_retry_after():
    w = World(clock=Clock(calendar.timegm((2026, 11, 23, 10, 15, 20)) + 0.25))
    key = w.key(fmt="logflux")
    for n in range(1, 601):
        r = await w.logflux(key)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "600"
        assert r.headers["x-ratelimit-remaining"] == str(600 - n)
    reset = calendar.timegm((2026, 11, 23, 10, 16, 0))
    assert r.headers["x-ratelimit-reset"] == str(reset)
    r = await w.logflux(key)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert (r.headers["retry-after"], r.headers["x-ratelimit-remaining"]) == ("40", "0")  # 39.75 s, rounded up
    assert len(w.publisher.published) == 600
    w.clock.now = reset  # a new minute, a new budget
    assert (await w.logflux(key)).status_code == 200


async def test_hourly_budgets_reset_at_the_top_of_the_utc_hour():
    w = World(standard_ingest_per_hour=3)
    key = w.key()
    assert [(await w.ingest(key)).status_code for _ in range(4)] == [202, 202, 202, 429]
    r = await w.ingest(key)
    assert r.headers["retry-after"] == "1"  # 0.5 s to 11:00, rounded up
    assert r.headers["x-ratelimit-reset"] == str(int(BEFORE_HOUR + 0.5))
    w.clock.now = BEFORE_HOUR + 0.5
    r = await w.ingest(key)
    assert (r.status_code, r.headers["x-ratelimit-remaining"]) == (202, "2")


async def test_limits_are_per_key_and_follow_the_tier():
    w = World(standard_ingest_per_hour=1, enterprise_ingest_per_hour=2)
    a, b = w.key("a"), w.key("a")
    assert [(await w.ingest(k)).status_code for k in (a, b, a)] == [202, 202, 429]
    unlimited = w.key("internal", tier="unlimited")
    r = await w.ingest(unlimited)
    assert r.status_code == 202 and "x-ratelimit-limit" not in r.headers
    assert quota_for(load_settings({}, rate_limits=False), "standard", "ingest") is None


async def test_enterprise_ingestion_over_the_limit_goes_to_the_overflow_lane():
    w = World(enterprise_ingest_per_hour=2)
    key = w.key("big", tier="enterprise")
    before = metrics.GATEWAY_RATE_LIMITED.labels("logtrace", "ingest", "overflow")._value.get()
    answers = [await w.ingest(key) for _ in range(4)]
    assert [r.status_code for r in answers] == [202] * 4
    assert [r.headers.get("x-sluice-overflow") for r in answers] == [None, None, "true", "true"]
    assert w.publisher.topics == [None, None, "sluice-overflow", "sluice-overflow"]
    assert metrics.GATEWAY_RATE_LIMITED.labels("logtrace", "ingest", "overflow")._value.get() == before + 2


class BrokenCounter:
    async def incr(self, name, expires_at, limit):
        raise ConnectionError("redis is down")

    async def close(self):
        pass


async def test_a_failing_store_fails_open_with_a_metric_or_closed_with_503():
    before = metrics.GATEWAY_RATE_LIMITER_ERRORS.labels("allowed")._value.get()
    w = World(counter=BrokenCounter())
    assert (await w.ingest(w.key())).status_code == 202
    assert metrics.GATEWAY_RATE_LIMITER_ERRORS.labels("allowed")._value.get() == before + 1
    w = World(counter=BrokenCounter(), rate_limit_fail_open=False)
    r = await w.ingest(w.key())
    assert (r.status_code, r.json()["error"]["code"]) == (500, "rate_limiter_unavailable")  # LogTrace: transient is 500
    assert w.publisher.published == []


async def test_rejections_after_the_limit_check_carry_the_rate_headers():
    w = World()
    r = await w.client.post("/v1/logs/ingest", content=b"{", headers={
        "Authorization": f"Bearer {w.key()}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["x-ratelimit-remaining"] == "9999"


def test_decide_at_the_window_edges():
    quota = quota_for(load_settings({}), "standard", "minute")
    assert decide(600, quota, 59.999) == (True, 600, 0, 60, 1)
    assert decide(601, quota, 0.0) == (False, 600, 0, 60, 60)


async def test_admins_manage_only_their_own_tenant_and_environment():
    w = World()
    # An admin hands out only scopes it holds itself.
    admin = w.key("acme", environment="staging", scopes=(ADMIN, WRITE, READ))
    other_admin = w.key("rival", scopes=(ADMIN, WRITE, READ))
    h = {"Authorization": f"Bearer {admin}"}
    r = await w.client.post("/v1/keys", json={"format": "logtrace", "scopes": [WRITE], "expires": "1d"}, headers=h)
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("lt_test_") and created["environment"] == "staging"
    assert created["scopes"] == [WRITE] and created["expires_at"]
    assert (await w.ingest(created["key"])).status_code == 202
    topic, _, value = w.publisher.put_records[-1]
    assert topic == w.settings.registry_topic and created["key"].encode() not in value
    assert isinstance(records.decode(value), KeyRecord)
    listed = (await w.client.get("/v1/keys", headers=h)).json()["keys"]
    assert created["key_id"] in [k["key_id"] for k in listed] and all("key" not in k for k in listed)
    # Another tenant's admin neither sees nor revokes it.
    oh = {"Authorization": f"Bearer {other_admin}"}
    assert created["key_id"] not in str((await w.client.get("/v1/keys", headers=oh)).json())
    r = await w.client.delete(f"/v1/keys/{created['key_id']}", headers=oh)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "key_not_found")
    assert (await w.ingest(created["key"])).status_code == 202
    r = await w.client.delete(f"/v1/keys/{created['key_id']}", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert (await w.ingest(created["key"])).status_code == 401
    r = await w.client.post("/v1/keys", json={"scopes": ["root"]}, headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_request")
