"""LogFlux end to end: the doc's encrypt_log → gateway → Kafka → worker decrypt-verify → ClickHouse."""

from __future__ import annotations

import asyncio
import json

import pytest

from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key
from tests.integration.test_native import consume_all
from sluice.local.logflux_client import entry
from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def logflux(sluice):
    key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(sluice.settings, record))
    asyncio.run(secrets.add(sluice.settings, "acme", b"your-secret"))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    wait_for(lambda: post(sluice.url("/v1/ingest"), entry("warm-up", "your-secret"), headers)[0] == 200, 10,
             what="key accepted")
    return sluice, headers


def test_doc_snippet_entries_are_decrypted_through_both_endpoints(logflux):
    sluice, headers = logflux
    s = sluice.settings
    status, body, _ = post(sluice.url("/v1/ingest"), entry("User login successful", "your-secret", loglevel=7), headers)
    assert status == 200 and body["status"] == "success"
    structured = json.dumps({"event": "user_login", "user_id": "123", "ip": "192.168.1.1"})
    batch = {"entries": [entry(structured, "your-secret", loglevel=5, node="auth-1"),
                         entry("Database connection failed", "your-secret", loglevel=4)]}
    assert post(sluice.url("/v1/batch"), batch, headers)[0] == 200
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logflux'")[0][0] == 4, 60,
             what="decrypted rows")
    rows = sql(s, "SELECT Body, SeverityText, SeverityNumber, ServiceName, LogAttributes['user_id'], "
                  "toString(Timestamp) FROM sluice.logs WHERE Source = 'logflux' AND Body != 'warm-up' ORDER BY Body")
    assert rows == [
        ["Database connection failed", "ERROR", 17, "app-server", "", "2024-01-17 10:30:45.000000000"],
        ["User login successful", "INFO", 9, "app-server", "", "2024-01-17 10:30:45.000000000"],
        ["user_login", "WARNING", 13, "auth-1", "123", "2024-01-17 10:30:45.000000000"],
    ]


def test_entries_that_do_not_verify_are_dead_lettered_alone(logflux):
    sluice, headers = logflux
    s = sluice.settings
    good = entry("still stored", "your-secret")
    wrong_secret = entry("wrong secret", "not-the-secret")
    tampered = entry("tampered", "your-secret")
    raw = bytearray(__import__("base64").b64decode(tampered["payload"]))
    raw[0] ^= 1
    tampered["payload"] = __import__("base64").b64encode(bytes(raw)).decode()
    assert post(sluice.url("/v1/batch"), {"entries": [wrong_secret, good, tampered]}, headers)[0] == 200
    letters = consume_all(s.kafka_bootstrap, s.dlq_topic, 2)
    assert sorted(dict(m.headers)["sluice-dlq-reason"] for m in letters) == [b"decrypt_failed"] * 2
    assert sorted(json.loads(m.value)["entries"][0]["payload"] for m in letters) == sorted(
        [wrong_secret["payload"], tampered["payload"]])
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body = 'still stored'")[0][0] == 1, 60,
             what="the good entry")
    assert sql(s, "SELECT count() FROM sluice.logs WHERE Body IN ('wrong secret', 'tampered')") == [[0]]


def test_rotation_keeps_old_secret_valid_until_removed(logflux):
    sluice, headers = logflux
    s = sluice.settings
    asyncio.run(secrets.add(s, "acme", b"new-secret"))
    wait_for(lambda: post(sluice.url("/v1/ingest"), entry("new", "new-secret"), headers)[0] == 200, 5, what="new")
    assert post(sluice.url("/v1/ingest"), entry("old", "your-secret"), headers)[0] == 200
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body IN ('new', 'old')")[0][0] == 2, 60,
             what="both secrets verify")
    assert asyncio.run(secrets.remove(s, "acme", 1))
    import time
    time.sleep(2)
    assert post(sluice.url("/v1/ingest"), entry("old again", "your-secret"), headers)[0] == 200
    letters = consume_all(s.kafka_bootstrap, s.dlq_topic, 1)
    assert [dict(m.headers)["sluice-dlq-reason"] for m in letters] == [b"decrypt_failed"]


def test_fresh_salt_flood_goes_to_the_slow_lane_and_is_stored_late_not_lost(broker, make_sluice):
    import urllib.request

    sluice = make_sluice(broker.config.bootstrap, kdf_budget_per_s=0.5, kdf_budget_burst=2.0,
                         slow_lane_kdf_per_s=4.0)
    s = sluice.settings
    asyncio.run(secrets.add(s, "acme", b"your-secret"))
    key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    wait_for(lambda: post(sluice.url("/v1/ingest"), entry("first", "your-secret"), headers)[0] == 200, 10,
             what="key accepted")
    # Every entry carries a fresh salt, as in the LogFlux doc's snippet: 3 requests x 4 derivations.
    for r in range(3):
        batch = {"entries": [entry(f"flood-{r}-{i}", "your-secret") for i in range(4)]}
        assert post(sluice.url("/v1/batch"), batch, headers)[0] == 200
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE startsWith(Body, 'flood-')")[0][0] == 12, 90,
             what="every flooded entry stored")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''") == [[13, 13]]
    with urllib.request.urlopen(s.worker_url + "/metrics") as resp:
        text = resp.read().decode()
    diverted = [line for line in text.splitlines()
                if line.startswith('sluice_worker_slow_lane_records_total{event="diverted",tenant="acme"}')]
    assert diverted and float(diverted[0].split()[-1]) >= 2
