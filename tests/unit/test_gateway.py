"""The gateway's HTTP contract. The publisher here records instead of producing;
tests/integration covers the same app against the real broker."""

import httpx
import pytest

from gateway.app import Gateway
from gateway.testing import RecordingPublisher
from schemas.registry import TenantRecord
from sluice import metrics
from sluice.keys import Registry, new_key
from sluice.settings import load_settings

ASTRA = {"logs": [{"project_id": "org-xyz", "timestamp": "2024-05-31T15:30:45Z", "level": "info",
                   "service": "api-gateway", "message": "User logged in", "metadata": {"user_id": 123}}]}
TRACE = {"logs": [{"timestamp": "2024-03-15T10:22:01Z", "level": "ERROR", "message": "Connection timeout",
                   "service": "payment-gateway"}]}
INFORMANT = {"logs": [{"timestamp": "2026-04-08T18:30:00Z", "level": "Information", "message": "Deploy completed",
                       "source": "CI/CD"}]}


def make_gateway(tenant: str = "acme", prefixes: tuple[str, ...] = ("slk_",), **settings):
    """A gateway over an in-memory registry holding one key per prefix, and its recording publisher."""
    registry = Registry()
    registry.apply(TenantRecord(tenant, "t"))
    keys = []
    for prefix in prefixes:
        key, record = new_key(tenant, prefix=prefix)
        registry.apply(record)
        keys.append(key)
    publisher = RecordingPublisher()
    app = Gateway(load_settings({}, **settings), registry, publisher)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"), keys, publisher


@pytest.fixture
def setup():
    client, (key,), publisher = make_gateway(max_body_bytes=4096)
    return client, key, publisher


async def test_documented_examples_get_documented_answers(setup):
    client, key, publisher = setup
    r = await client.post("/v1/drain", json=ASTRA, headers={"Authorization": key})
    assert (r.status_code, r.json()) == (200, {"status": "accepted"})
    r = await client.post("/v1/logs/ingest", json=TRACE, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 202 and r.json()["accepted"] == 1
    assert r.json()["request_id"] == r.headers["x-request-id"]
    r = await client.post("/api/ingest/batch", json=INFORMANT, headers={"X-API-Key": key})
    assert r.status_code == 200
    r = await client.post("/api/ingest", json={"level": "Warning", "message": "m", "source": "s"}, headers={"x-api-key": key})
    assert r.status_code == 200
    formats = [env.format for _, env in publisher.published]
    assert formats == ["astralog.drain.v1", "logtrace.ingest.v1", "loginformant.batch.v1", "loginformant.single.v1"]
    assert {env.tenant for _, env in publisher.published} == {"acme"}


async def test_body_is_published_unchanged(setup):
    client, key, publisher = setup
    raw = b'{"logs":[{"level":"Error","message":"m","properties":{"x":null}}]}'
    await client.post("/api/ingest/batch", content=raw, headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert publisher.published[0][0] == raw


@pytest.mark.parametrize("headers, code", [
    ({}, "missing_api_key"),
    ({"Authorization": "Bearer nope"}, "invalid_api_key"),
    ({"Authorization": "Basic abc"}, "invalid_auth_scheme"),
])
async def test_auth_failures_are_401(setup, headers, code):
    client, key, publisher = setup
    r = await client.post("/v1/logs/ingest", json=TRACE, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (401, code)
    assert publisher.published == []


async def test_astralog_takes_the_raw_token_and_tolerates_bearer(setup):
    client, key, _ = setup
    assert (await client.post("/v1/drain", json=ASTRA, headers={"Authorization": key})).status_code == 200
    assert (await client.post("/v1/drain", json=ASTRA, headers={"Authorization": f"Bearer {key}"})).status_code == 200


async def test_bad_inputs_are_rejected_with_codes_and_counted(setup):
    client, key, publisher = setup
    h = {"X-API-Key": key, "Content-Type": "application/json"}
    before = metrics.GATEWAY_REJECTIONS.labels("loginformant", "malformed_json")._value.get()
    cases = [
        (b'{"logs": [', h, 400, "malformed_json"),
        (b'{"logs": [{"level": "Error"}]}', h, 400, "invalid_field"),
        (b'{"logs": []}', h, 400, "empty_batch"),
        (b"{}", {**h, "Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{}", {**h, "Content-Encoding": "br"}, 415, "unsupported_content_encoding"),
        (b"x" * 5000, h, 413, "body_too_large"),
    ]
    for body, headers, status, code in cases:
        r = await client.post("/api/ingest/batch", content=body, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body[:40]
        assert r.json()["error"]["message"]
    assert publisher.published == []
    assert metrics.GATEWAY_REJECTIONS.labels("loginformant", "malformed_json")._value.get() == before + 1


async def test_invalid_entry_rejects_the_whole_request_naming_index_and_field(setup):
    client, key, publisher = setup
    body = {"logs": [TRACE["logs"][0], {"level": "INFO", "timestamp": "2024-03-15T10:22:01Z"}]}
    r = await client.post("/v1/logs/ingest", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400
    assert "$.logs[1]" in r.json()["error"]["message"] and "message" in r.json()["error"]["message"]
    assert publisher.published == []


async def test_logtrace_entries_without_timestamp_are_accepted(setup):
    client, key, publisher = setup
    body = {"logs": [TRACE["logs"][0], {"level": "INFO", "message": "no timestamp"}]}
    r = await client.post("/v1/logs/ingest", json=body, headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["accepted"]) == (202, 2)
    assert len(publisher.published) == 1
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["LogTraceEvent"]
    assert "timestamp" in schema["properties"] and "timestamp" not in schema["required"]


async def test_too_many_entries_is_413(setup):
    client, key, _ = setup
    body = {"logs": [{"level": "Debug", "message": ""}] * 501}
    settings = load_settings({}, max_body_bytes=1 << 20)
    client._transport.app.settings = settings
    r = await client.post("/api/ingest/batch", json=body, headers={"X-API-Key": key})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "too_many_entries")


async def test_kafka_trouble_is_503_with_retry_after(setup):
    client, key, publisher = setup
    publisher.fail = True
    r = await client.post("/v1/drain", json=ASTRA, headers={"Authorization": key})
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    assert r.json()["error"]["code"] == "kafka_unavailable"


async def test_routing_health_and_metrics(setup):
    client, key, _ = setup
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/nope")).status_code == 404
    r = await client.get("/v1/drain")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    m = await client.get("/metrics")
    assert m.status_code == 200 and b"sluice_gateway_requests_total" in m.content


def test_ingestion_rate_is_a_sliding_minute():
    from gateway.health import IngestionRate

    now = [1000.0]
    rate = IngestionRate(clock=lambda: now[0])
    rate.add(60)
    now[0] += 30
    rate.add(60)
    assert rate.per_second() == 2.0
    now[0] += 31  # the first second left the window
    assert rate.per_second() == 1.0
    now[0] += 60
    assert rate.per_second() == 0.0


@pytest.mark.parametrize("sent, kept", [(None, ""), ("retry-7f3a", "retry-7f3a"), ('"quoted-key"', "quoted-key")])
async def test_an_idempotency_key_rides_with_the_record(setup, sent, kept):
    client, key, publisher = setup
    headers = {"Authorization": f"Bearer {key}", **({"Idempotency-Key": sent} if sent else {})}
    r = await client.post("/v1/logs/ingest", json=TRACE, headers=headers)
    assert r.status_code == 202
    assert publisher.published[-1][1].idempotency_key == kept


@pytest.mark.parametrize("sent", ["", "x" * 256, "has space", "caf\u00e9"])
async def test_a_malformed_idempotency_key_is_400_and_nothing_published(setup, sent):
    client, key, publisher = setup
    r = await client.post("/v1/logs/ingest", json=TRACE,
                          headers={"Authorization": f"Bearer {key}", "Idempotency-Key": sent.encode()})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_idempotency_key")
    assert publisher.published == []
