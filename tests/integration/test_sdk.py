"""The Python SDK against a running Sluice: plain and encrypted logs stored, and a gateway
that dies mid-stream: everything within the queue bound arrives, the rest is counted."""

from __future__ import annotations

import asyncio

import pytest

from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key
from sluice_sdk import Client
from sluice_sdk.dialects import LogFlux, LogTrace
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def test_plain_and_encrypted_logs_arrive_through_the_sdk(sluice):
    s = sluice.settings
    asyncio.run(secrets.add(s, "acme", b"sdk-secret"))
    lf_key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))
    plain = Client(s.gateway_url, sluice.key, dialect=LogTrace(service="checkout"), batch_size=100)
    for i in range(300):
        plain.info(f"plain {i}", order_id=i)
    assert plain.flush(30)
    plain.close()
    wait_for(lambda: _accepted(s, lf_key), 15, what="the lf_ key at the gateway")
    encrypted = Client(s.gateway_url, lf_key, dialect=LogFlux("sdk-secret", node="api-1"), batch_size=100)
    for i in range(40):
        encrypted.error(f"secret {i}", user=f"u{i}")
    assert encrypted.flush(30)
    encrypted.close()
    assert (plain.stats.sent, encrypted.stats.sent) == (300, 40)
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE startsWith(Body, 'secret ')")[0][0] >= 40, 60,
             what="the encrypted records")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE Source = 'logtrace'") == [[300, 300]]
    assert sql(s, "SELECT ServiceName, LogAttributes['order_id'] FROM sluice.logs WHERE Body = 'plain 5'") == \
        [["checkout", "5"]]
    # Decrypted by the workers: the body is the message, the other fields are attributes.
    assert sql(s, "SELECT ServiceName, SeverityText, LogAttributes['user'] FROM sluice.logs "
                  "WHERE Body = 'secret 7'") == [["api-1", "ERROR", "u7"]]
    assert sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logflux' AND startsWith(Body, 'secret ')") == [[40]]


def _accepted(s, lf_key) -> bool:
    probe = Client(s.gateway_url, lf_key, dialect=LogFlux("sdk-secret"), start=False)
    probe.info("probe")
    return probe.pump(force=True) == 1


def test_the_sdk_delivers_its_queue_after_the_gateway_comes_back(sluice):
    s = sluice.settings
    c = Client(s.gateway_url, sluice.key, batch_size=50, max_queue=200, flush_interval_s=0.2,
               backoff_base_s=0.1, backoff_cap_s=0.5, timeout_s=2)
    for i in range(100):
        c.info(f"before {i}")
    assert c.flush(30) and c.stats.sent == 100
    sluice.gateway.kill()
    for i in range(400):
        c.info(f"during {i}")
    assert c.stats.dropped > 0  # the queue bound held
    sluice.gateway.start()
    assert c.flush(60)
    c.close()
    stats = c.stats
    assert stats.sent + stats.dropped == 500 and stats.abandoned == 0 and stats.rejected == 0
    assert stats.retries > 0
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= stats.sent, 60, what="every sent record")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''") == [[stats.sent, stats.sent]]
