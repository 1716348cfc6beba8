"""One tenant's unstorable input never stops the worker or delays another tenant, and
what was dead-lettered replays to every entry exactly once."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from schemas.registry import TenantRecord
from sluice import dlq, secrets
from sluice import registry as registry_topic
from sluice.keys import new_key, now_iso
from tests.integration.test_faults import metric, total_lag
from tests.integration.test_native import consume_all, produce
from sluice.local.logflux_client import entry
from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration


def trace(message: str) -> dict:
    return {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": message, "service": "b"}]}


def test_a_tenant_flooding_undecryptable_entries_is_quarantined_and_others_keep_flowing(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, dlq_min_records=20, dlq_window=100)
    s = sluice.settings
    # A tenant with a LogFlux key and no secret registered: every entry is undecryptable.
    key, record = new_key("mallory", prefix="lf_")
    asyncio.run(registry_topic.publish(s, TenantRecord("mallory", now_iso()), record))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    poison = entry("never readable", "no-such-secret")
    wait_for(lambda: post(sluice.url("/v1/batch"), {"entries": [poison] * 10}, headers)[0] == 200, 10,
             what="mallory's key accepted")
    for _ in range(49):  # 500 entries in all
        assert post(sluice.url("/v1/batch"), {"entries": [poison] * 10}, headers)[0] == 200
    good = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}

    posted = time.monotonic()
    for i in range(8):
        assert post(sluice.url("/v1/logs/ingest"), trace(f"acme-{i}"), good)[0] == 202
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE startsWith(Body, 'acme-')")[0][0] == 8, 15,
             what="the other tenant's records")
    assert time.monotonic() - posted < 15
    assert sluice.worker.proc.poll() is None, "the worker must not exit over one tenant's input"
    # Quarantined, though not necessarily before the other tenant's rows were stored: the two tenants' records
    # are on different partitions, and mallory's wait for their dead-letter writes to be acknowledged.
    wait_for(lambda: metric(s.worker_url, "sluice_worker_tenant_quarantines_total") >= 1, 30,
             what="mallory quarantined")
    assert "tenant 'mallory' quarantined" in sluice.worker.log_path.read_text()
    # Nothing accepted is lost: every one of mallory's entries is in the dead-letter topic.
    wait_for(lambda: total_lag(s) == 0, 60, what="the ingest topic drained")
    letters = consume_all(s.kafka_bootstrap, s.dlq_topic, 500, timeout_s=10)
    entries = sum(len(json.loads(m.value)["entries"]) for m in letters)
    assert entries == 500
    reasons = {dict(m.headers)["sluice-dlq-reason"] for m in letters}
    assert b"tenant_quarantined" in reasons


def test_a_partly_failed_logflux_record_replays_to_every_entry_once(sluice):
    s = sluice.settings
    key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))
    asyncio.run(secrets.add(s, "acme", b"first-secret"))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    wait_for(lambda: post(sluice.url("/v1/ingest"), entry("warm-up", "first-secret"), headers)[0] == 200, 10,
             what="key accepted")
    # Two of three entries use a secret the worker does not know yet.
    batch = {"entries": [entry("one", "first-secret"), entry("two", "next-secret"), entry("three", "next-secret")]}
    assert post(sluice.url("/v1/batch"), batch, headers)[0] == 200
    letters = consume_all(s.kafka_bootstrap, s.dlq_topic, 2)
    assert sorted(dict(m.headers)["sluice-dlq-entry"] for m in letters) == [b"1", b"2"]

    asyncio.run(secrets.add(s, "acme", b"next-secret"))  # the fix
    assert post(sluice.url("/v1/ingest"), entry("probe", "next-secret"), headers)[0] == 200
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body = 'probe'")[0][0] == 1, 60,
             what="the worker knows the new secret")
    assert asyncio.run(dlq.replay(s)) == 2
    bodies = "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE Body IN ('one', 'two', 'three')"
    wait_for(lambda: sql(s, bodies) == [[3, 3]], 60, what="every entry stored")

    # Replaying twice still stores once: the markers leave nothing to replay, and the
    # re-published records, sent again as by a replay that died before its markers, dedup.
    assert asyncio.run(dlq.replay(s)) == 0
    again = [m for m in consume_all(s.kafka_bootstrap, s.ingest_topic, 5) if dict(m.headers).get("sluice-replay-of")]
    assert sorted(dict(m.headers)["sluice-replay-of"].decode().rsplit("#", 1)[1] for m in again) == ["1", "2"]
    produce(s.kafka_bootstrap, s.ingest_topic, [(m.value, list(m.headers)) for m in again])
    wait_for(lambda: total_lag(s) == 0, 60, what="the re-published records consumed")
    assert sql(s, bodies) == [[3, 3]]
