"""With the broker stopped, each dialect answers its documented transient-failure status, with Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from sluice import registry as registry_topic
from sluice.keys import new_key
from tests.support import post, wait_for
from tests.unit.test_outage_codes import BODIES, EXPECTED

pytestmark = pytest.mark.integration


def test_a_stopped_broker_gets_each_dialects_outage_status(own_broker, make_sluice):
    sluice = make_sluice(own_broker.config.bootstrap, shutdown_timeout_s=5.0)
    lf_key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(sluice.settings, record))
    auth = {"/v1/drain": {"Authorization": sluice.key}, "/api/ingest/batch": {"X-API-Key": sluice.key},
            "/api/ingest": {"X-API-Key": sluice.key}, "/v1/logs/custom": {"X-API-Key": sluice.key},
            "/v1/ingest": {"Authorization": f"Bearer {lf_key}"}, "/v1/batch": {"Authorization": f"Bearer {lf_key}"}}

    def send(path: str) -> tuple[int, dict, dict]:
        headers = {"Content-Type": "application/json", **auth.get(path, {"Authorization": f"Bearer {sluice.key}"})}
        return post(sluice.url(path), BODIES[path], headers)

    # Every route accepts its body while the broker is up (and the LogFlux key has reached the gateway).
    wait_for(lambda: send("/v1/ingest")[0] == 200, 15, what="the LogFlux key at the gateway")
    assert {path: send(path)[0] for path in EXPECTED} == {
        "/v1/drain": 200, "/v1/logs/ingest": 202, "/api/ingest/batch": 200, "/api/ingest": 200,
        "/v1/ingest": 200, "/v1/batch": 200, "/v1/logs/custom": 200, "/v1/logs": 200}

    own_broker.stop()
    answers = {path: send(path) for path in EXPECTED}
    assert {path: status for path, (status, _, _) in answers.items()} == EXPECTED
    assert {headers.get("retry-after") for _, _, headers in answers.values()} == {"2"}
    for path, (_, body, _) in answers.items():
        if path == "/v1/logs/custom":
            assert "retry" in body["detail"]  # Profound's {"detail": ...}
        else:
            assert body["error"]["code"].lower() == "kafka_unavailable", (path, body)

    # Told to stop with the broker still gone, both leave by themselves, cleanly, by their shutdown
    # deadline (5 s here; sluice/shutdown.py) instead of waiting on Kafka (about 60 s each, 120 s for this
    # teardown before the deadline) until someone SIGKILLs them. Whether a client's close hangs, so that the
    # deadline has to act (and says so in the log), depends on what it was doing when the broker went:
    # tests/unit/test_shutdown.py holds the deadline itself to its line.
    for process in (sluice.gateway, sluice.worker):
        process.proc.terminate()
    assert {process.role: process.proc.wait(timeout=30) for process in (sluice.gateway, sluice.worker)} == {
        "gateway": 0, "worker": 0}
