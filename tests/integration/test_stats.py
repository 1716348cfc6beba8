"""``POST /v1/logs/stats`` through the real gateway, worker and engine: exact counts, groups and buckets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.conftest import provision
from tests.support import post, wait_for

pytestmark = pytest.mark.integration

# (minute, level, service, message, attributes): 12 rows in 4 one-minute buckets
ROWS = [
    (0, "ERROR", "api", "payment failed for order 1", {"user": "1"}),
    (0, "INFO", "api", "user login ok", {"user": "2"}),
    (0, "error", "db", "Failed to connect", {}),
    (1, "WARN", "db", "slow query failed", {"user": "1"}),
    (1, "INFO", "web", "all good", {"user": "1"}),
    (1, "ERROR", "api", "failed again", {"user": "2"}),
    (1, "INFO", "api", "cache hit", {}),
    (3, "ERROR", "web", "upstream failed", {"user": "3"}),
    (3, "INFO", "api", "user login ok", {"user": "1"}),
    (3, "DEBUG", "db", "vacuum done", {}),
    (3, "ERROR", "api", "FAILED hard", {"user": "1"}),
    (3, "INFO", "web", "all good", {"user": "2"}),
]


def test_counts_groups_and_histograms_are_exact_and_stay_in_the_tenant(sluice):
    base = (datetime.now(timezone.utc) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    base -= timedelta(minutes=base.minute % 10)  # so that 2-minute buckets start at minutes 0 and 2

    def at(minute: int, i: int) -> str:
        return (base + timedelta(minutes=minute, seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def logs(rows) -> list[dict]:
        return [{"timestamp": at(m, i), "level": level, "service": service, "message": message, "attributes": attrs}
                for i, (m, level, service, message, attrs) in enumerate(rows)]

    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    other = {"Authorization": f"Bearer {provision(sluice.settings, 'other')}", "Content-Type": "application/json"}
    window = {"from": at(0, 0), "to": (base + timedelta(minutes=4) - timedelta(milliseconds=1)).isoformat()}

    def stats(body: dict, headers: dict = auth) -> tuple[int, dict]:
        status, payload, _ = post(sluice.url("/v1/logs/stats"), {**window, **body}, headers)
        return status, payload

    wait_for(lambda: post(sluice.url("/v1/logs/ingest"), {"logs": []}, other)[0] == 400, 30, what="other's key")
    # The other tenant's rows are the same lines twice over: any leak would show in every figure.
    assert post(sluice.url("/v1/logs/ingest"), {"logs": logs(ROWS * 2)}, other)[0] == 202
    assert post(sluice.url("/v1/logs/ingest"), {"logs": logs(ROWS)}, auth)[0] == 202
    wait_for(lambda: stats({}, other)[1].get("count") == 2 * len(ROWS) and stats({})[1].get("count") == len(ROWS),
             60, what="both tenants' rows to be counted")

    status, payload = stats({"filter": "failed"})
    assert status == 200 and payload["count"] == 6 and payload["meta"]["ignored"] == []
    assert stats({"filter": "level:error"})[1]["count"] == 5

    status, payload = stats({"group_by": ["service"], "top": 2})
    assert status == 200 and payload["count"] == 12
    assert payload["groups"] == [{"values": {"service": "api"}, "count": 6},
                                 {"values": {"service": "db"}, "count": 3}]  # db and web tie: by value
    assert payload["groups_truncated"] is True

    status, payload = stats({"filter": "failed", "group_by": ["level", "metadata.user"], "count": False})
    assert status == 200 and "count" not in payload and payload["groups_truncated"] is False
    assert payload["groups"] == [{"values": {"level": "ERROR", "metadata.user": "1"}, "count": 2},
                                 {"values": {"level": "ERROR", "metadata.user": ""}, "count": 1},
                                 {"values": {"level": "ERROR", "metadata.user": "2"}, "count": 1},
                                 {"values": {"level": "ERROR", "metadata.user": "3"}, "count": 1},
                                 {"values": {"level": "WARN", "metadata.user": "1"}, "count": 1}]

    status, payload = stats({"interval": "1m"})
    assert status == 200 and payload["count"] == 12
    assert payload["histogram"] == [{"start": (base + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%S.000000000Z"),
                                     "count": n} for m, n in ((0, 3), (1, 4), (2, 0), (3, 5))]
    assert [b["count"] for b in stats({"interval": "2m", "filter": "level:ERROR"})[1]["histogram"]] == [3, 2]

    # The other tenant sees its own rows only, never these.
    assert stats({"filter": "failed", "interval": "1m"}, other)[1]["count"] == 12

    for body, code in (({"interval": "5 minutes"}, "invalid_interval"), ({"group_by": ["timestamp"]}, "invalid_group_by"),
                       ({"top": 0, "group_by": ["service"]}, "invalid_top"), ({"filter": "level:(ERROR OR"}, "invalid_filter"),
                       ({"from": "-30d", "interval": "1s"}, "too_many_buckets"), ({"top": "ten"}, "invalid_request"),
                       ({"from": "soon"}, "invalid_time"), ({"table": "spans"}, "invalid_table")):
        status, payload = stats(body)
        assert (status, payload["error"]["code"]) == (400, code), body

    # sluice query --stats: the same planner and scope, as the key's tenant.
    import subprocess
    import sys
    env = {**sluice.settings.to_env(), "PATH": "/usr/bin:/bin", "SLUICE_API_KEY": sluice.key}
    done = subprocess.run([sys.executable, "-m", "sluice", "query", "failed", "--stats", "--group-by", "service",
                           "--interval", "1m", "--from", window["from"], "--to", window["to"], "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["count"] == 6 and [b["count"] for b in answer["histogram"]] == [2, 2, 0, 2]
    assert answer["groups"][0] == {"values": {"service": "api"}, "count": 3}
    done = subprocess.run([sys.executable, "-m", "sluice", "query", "--stats", "--interval", "1 minute"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "interval" in done.stderr
    # sluice query: the rows, through the same compiler and scope; a filter the API refuses is exit code 1.
    done = subprocess.run([sys.executable, "-m", "sluice", "query", "failed", "--from", window["from"],
                           "--to", window["to"], "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert len([json.loads(line) for line in done.stdout.splitlines()]) == 6  # a JSON object a line
    done = subprocess.run([sys.executable, "-m", "sluice", "query", "level:(ERROR OR"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "position" in done.stderr

    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(urllib.request.Request(sluice.url("/v1/logs/stats"), headers=auth))
    assert info.value.code == 405
    status, payload, _ = post(sluice.url("/v1/logs/stats"), {}, {"Content-Type": "application/json"})
    assert status == 401
    with urllib.request.urlopen(sluice.url("/openapi.json")) as resp:
        document = json.loads(resp.read())
    assert "post" in document["paths"]["/v1/logs/stats"] and "StatsRequest" in document["components"]["schemas"]
