"""The TypeScript SDK against a running Sluice: plain and encrypted records stored."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parents[2] / "sdk" / "js" / "dist" / "examples" / "send.js"


def run_node(url: str, key: str, count: int, secret: str | None = None, leave_open: bool = False) -> dict:
    assert SCRIPT.exists(), "build the TypeScript SDK first: (cd sdk/js && npm ci && npm test)"
    env = {**os.environ, "SLUICE_URL": url, "SLUICE_KEY": key, "SLUICE_COUNT": str(count)}
    if secret:
        env["SLUICE_LOGFLUX_SECRET"] = secret
    if leave_open:
        env["SLUICE_LEAVE_OPEN"] = "1"
    done = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_typescript_sdk_stores_plain_and_encrypted_logs(sluice):
    s = sluice.settings
    assert run_node(s.gateway_url, sluice.key, 250) == {"sent": 250, "dropped": 0, "rejected": 0, "abandoned": 0,
                                                         "retries": 0}
    asyncio.run(secrets.add(s, "acme", b"js-secret"))
    lf_key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))
    wait_for(lambda: run_node(s.gateway_url, lf_key, 1, "js-secret")["sent"] == 1, 20, 1, what="the lf_ key")
    assert run_node(s.gateway_url, lf_key, 30, "js-secret")["sent"] == 30
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logflux'")[0][0] >= 31, 60,
             what="the encrypted records")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE Source = 'logtrace'") == [[250, 250]]
    # Decrypted by the workers: body from the message, attributes from the other fields.
    rows = sql(s, "SELECT ServiceName, SeverityText, LogAttributes['order_id'] FROM sluice.logs "
                  "WHERE Source = 'logflux' AND Body = 'js 7'")
    assert rows == [["node-app", "ERROR", "7"]]


def test_a_program_that_never_closes_the_client_still_delivers_at_exit(sluice):
    stats = run_node(sluice.settings.gateway_url, sluice.key, 120, leave_open=True)
    assert stats["sent"] == 120
    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] == 120, 60, what="120 rows")
