"""Tenant isolation: a key writes into and reads from its own tenant and environment only.

Tenant ``acme`` stores secrets; a ``rival`` tenant (and acme's own staging
key) tries to write into acme's data and to read it through every endpoint,
the raw-socket listeners and the CLI. Every attempt is listed in ATTEMPTS;
none may succeed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from schemas.registry import ADMIN, READ, WRITE, TenantRecord
from sluice import registry as registry_topic
from sluice.keys import new_key, now_iso
from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration

NOW = "2026-01-01T00:00:00Z"


def trace(message: str, **extra) -> dict:
    return {"logs": [{"timestamp": NOW, "level": "INFO", "message": message, "service": "svc", **extra}]}


class World:
    def __init__(self, sluice):
        self.s = sluice
        self.keys: dict[str, str] = {"acme": sluice.key}
        self.key_ids: dict[str, str] = {}
        minted = {
            "acme_staging": ("acme", "staging", (WRITE, READ), "slk_"),
            "acme_admin": ("acme", "production", (ADMIN,), "slk_"),
            "rival": ("rival", "production", (WRITE, READ), "slk_"),
            "rival_lf": ("rival", "production", (WRITE, READ), "lf_"),
            "rival_admin": ("rival", "production", (ADMIN,), "slk_"),
        }
        records = [TenantRecord("rival", now_iso())]
        for name, (tenant, env, scopes, prefix) in minted.items():
            key, record = new_key(tenant, prefix, environment=env, scopes=scopes)
            self.keys[name], self.key_ids[name] = key, record.key_id
            records.append(record)
        asyncio.run(registry_topic.publish(sluice.settings, *records))
        wait_for(lambda: self.ingest("rival", trace("warm-up"))[0] == 202, 15, what="new keys at the gateway")

    def ingest(self, who: str, body, path="/v1/logs/ingest", **headers):
        return post(self.s.url(path), body, {"Authorization": f"Bearer {self.keys[who]}",
                                             "Content-Type": "application/json", **headers})

    def search(self, who: str, body: dict | None = None, **headers) -> tuple[int, dict]:
        status, payload, _ = post(self.s.url("/v1/logs/query"), {"from": "-3650d", "limit": 500, **(body or {})},
                                  {"Authorization": f"Bearer {self.keys[who]}", "Content-Type": "application/json",
                                   **headers})
        return status, payload

    def cli(self, *args: str, key: str = "", key_on_stdin: bool = False) -> subprocess.CompletedProcess:
        """``sluice <args>``, as ``key`` if given: in SLUICE_API_KEY, or on stdin with ``--key-file -``."""
        env = {**self.s.settings.to_env(), "PATH": "/usr/bin:/bin"}
        if key and not key_on_stdin:
            env["SLUICE_API_KEY"] = key
        argv = [*args, "--key-file", "-"] if key_on_stdin else list(args)
        return subprocess.run([sys.executable, "-m", "sluice", *argv], env=env, capture_output=True, text=True,
                              input=key if key_on_stdin else None, timeout=60)


def leaked(text) -> bool:
    """Whether acme's production secrets show up in an answer."""
    return "acme-secret" in json.dumps(text) if not isinstance(text, str) else "acme-secret" in text


def tcp_send(port: int, event: dict) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(json.dumps(event).encode() + b"\n")
        time.sleep(0.3)


def test_no_cross_tenant_write_or_read_succeeds(sluice):
    w = World(sluice)
    # acme's own data, which everything below tries to reach
    for n in range(5):
        assert w.ingest("acme", trace(f"acme-secret-{n}"))[0] == 202
    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.logs WHERE Body LIKE 'acme-secret-%'")[0][0] == 5,
             60, what="acme's rows")
    s = sluice.settings
    writes = {  # marker -> what was tried; each was either refused or stored as rival's
        "w-project": lambda m: w.ingest("rival", {"logs": [{"project_id": "acme", "timestamp": NOW, "level": "info",
                                                             "service": "x", "message": m}]}, "/v1/drain"),
        "w-body-tenant": lambda m: w.ingest("rival", trace(m, tenant="acme", tenant_id="acme")),
        "w-kafka-header": lambda m: w.ingest("rival", trace(m), **{"sluice-tenant": "acme", "X-Tenant": "acme"}),
        "w-query-string": lambda m: post(s.gateway_url + "/v1/logs/ingest?tenant=acme", trace(m),
                                         {"Authorization": f"Bearer {w.keys['rival']}",
                                          "Content-Type": "application/json"}),
        "w-informant-props": lambda m: post(s.gateway_url + "/api/ingest/batch",
                                            {"logs": [{"level": "Error", "message": m, "source": "acme",
                                                       "properties": {"tenant": "acme"}}]},
                                            {"X-API-Key": w.keys["rival"], "Content-Type": "application/json"}),
        "w-informant-single": lambda m: post(s.gateway_url + "/api/ingest",
                                             {"level": "Error", "message": m, "source": "acme", "tenant": "acme"},
                                             {"X-API-Key": w.keys["rival"], "Content-Type": "application/json"}),
        "w-otlp-resource": lambda m: post(s.gateway_url + "/v1/logs", {"resourceLogs": [{
            "resource": {"attributes": [{"key": "tenant", "value": {"stringValue": "acme"}}]},
            "scopeLogs": [{"logRecords": [{"body": {"stringValue": m}}]}]}]},
            {"Authorization": f"Bearer {w.keys['rival']}", "Content-Type": "application/json"}),
        "w-customer-host": lambda m: w.ingest("rival", trace(m), Host="acme.ingest.us.example.com"),
        "w-logflux-host": lambda m: post(s.gateway_url + "/v1/ingest", {}, {
            "Authorization": f"Bearer {w.keys['rival_lf']}", "Host": "acme.ingest.eu.example.com",
            "Content-Type": "application/json"}),
        "w-astralog-raw-token": lambda m: post(s.gateway_url + "/v1/drain", {"logs": [
            {"project_id": "acme", "timestamp": NOW, "level": "info", "service": "acme", "message": m}]},
            {"Authorization": w.keys["rival"], "Content-Type": "application/json", "X-Project-Id": "acme"}),
        "w-staging-as-production": lambda m: w.ingest("acme_staging", trace(m), **{"X-Sluice-Environment": "production"}),
        "w-admin-key-writes": lambda m: w.ingest("acme_admin", trace(m)),
        "w-revoked-style-garbage": lambda m: post(s.gateway_url + "/v1/logs/ingest", trace(m), {
            "Authorization": "Bearer " + w.keys["acme"][:-2] + "xx", "Content-Type": "application/json"}),
    }
    answers = {marker: fn(marker) for marker, fn in writes.items()}
    for marker in ("w-customer-host", "w-logflux-host", "w-revoked-style-garbage"):
        assert answers[marker][0] == 401, (marker, answers[marker])
    assert answers["w-staging-as-production"][0] == 403
    assert answers["w-admin-key-writes"][0] == 403
    tcp_send(s.logstash_tcp_port, {"message": "w-logstash-tcp", "sluice_token": w.keys["rival"], "tenant": "acme",
                                   "sluice_tenant": "acme"})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(json.dumps({"message": "w-logstash-udp", "sluice_token": w.keys["rival"],
                               "tenant": "acme"}).encode(), ("127.0.0.1", s.logstash_udp_port))
    tcp_send(s.logstash_tcp_port, {"message": "w-logstash-admin", "sluice_token": w.keys["acme_admin"]})
    stored_as_rival = {"w-project", "w-body-tenant", "w-kafka-header", "w-query-string", "w-informant-props",
                       "w-informant-single", "w-otlp-resource", "w-astralog-raw-token", "w-logstash-tcp",
                       "w-logstash-udp"}
    wait_for(lambda: sql(s, "SELECT uniqExact(Body) FROM sluice.logs WHERE TenantId = 'rival' "
                            "AND Body LIKE 'w-%'")[0][0] >= len(stored_as_rival), 60, what="rival's rows")
    rows = sql(s, "SELECT Body, TenantId, Environment FROM sluice.logs WHERE Body LIKE 'w-%'")
    assert {body for body, _, _ in rows} == stored_as_rival
    assert {(tenant, env) for _, tenant, env in rows} == {("rival", "production")}
    write_attempts = len(writes) + 3

    # Reads: (name, leaked?) for every way of asking for acme's rows.
    acme_key_id = w.key_ids["acme_admin"]
    reads = []

    def read(name: str, outcome) -> None:
        reads.append((name, outcome))

    for flt in ("tenant:acme", "TenantId:acme", "", "acme-secret*", "message:acme-secret-1", "service:svc",
                "NOT tenant:rival", "tenant:acme OR tenant:rival", "env:production"):
        status, payload = w.search("rival", {"filter": flt})
        read(f"query {flt!r}", status == 200 and leaked(payload))
    status, payload = w.search("rival", {"filter": "", "tenant": "acme"})
    read("query body tenant field", status == 200 and leaked(payload))
    status, payload = w.search("rival", {"table": "access"})
    read("query access table", status == 200 and leaked(payload))
    answer = httpx.get(s.gateway_url + "/v1/logs/query", params={"tenant": "acme", "from": "-3650d"},
                       headers={"Authorization": f"Bearer {w.keys['rival']}"}, timeout=30)
    read("query GET ?tenant=acme", answer.status_code == 200 and leaked(answer.text))
    # A cursor taken from acme's own page does not carry acme's scope.
    status, page = w.search("acme", {"limit": 1})
    assert status == 200 and page["meta"]["next_cursor"]
    status, payload = w.search("rival", {"cursor": page["meta"]["next_cursor"]})
    read("query with acme's cursor", status == 200 and leaked(payload))
    status, payload = w.search("rival", **{"X-Sluice-Environment": "staging", "sluice-tenant": "acme"})
    read("query with tenant header", status == 200 and leaked(payload))
    status, payload = w.search("acme_staging")
    read("acme staging key reads production", status == 200 and leaked(payload))
    status, payload = w.search("acme_staging", **{"X-Sluice-Environment": "production"})
    read("acme staging key names production", status != 403 or leaked(payload))
    status, payload = w.search("acme_admin")
    read("admin key without read:logs", status != 403)
    with httpx.stream("GET", s.gateway_url + "/v1/logs/tail", params={"filter": "tenant:acme"},
                      headers={"Authorization": f"Bearer {w.keys['rival']}"}, timeout=4) as tail:
        assert tail.status_code == 200
        w.ingest("acme", trace("acme-secret-live"))
        seen = ""
        try:
            for chunk in tail.iter_text():  # until 4 s pass without a byte
                seen += chunk
        except httpx.ReadTimeout:
            pass
        read("tail tenant:acme", leaked(seen))
    listed = httpx.get(s.gateway_url + "/v1/keys", headers={"Authorization": f"Bearer {w.keys['rival_admin']}"})
    read("list keys", acme_key_id in listed.text or listed.status_code != 200)
    revoke = httpx.delete(s.gateway_url + f"/v1/keys/{acme_key_id}",
                          headers={"Authorization": f"Bearer {w.keys['rival_admin']}"})
    read("revoke acme's key", revoke.status_code != 404)
    create = httpx.post(s.gateway_url + "/v1/keys", json={"tenant": "acme"},
                        headers={"Authorization": f"Bearer {w.keys['rival_admin']}"})
    read("create a key for acme", create.status_code != 400)
    for args, key, on_stdin, name in (
            (("query", "tenant:acme", "--from", "-3650d", "--format", "json"), "rival", False,
             "cli query as rival tenant:acme"),
            (("query", "", "--from", "-3650d", "--format", "json"), "rival", True, "cli query as rival everything"),
            (("query", "", "--from", "-3650d", "--format", "json"), "acme_staging", False,
             "cli query as acme staging")):
        done = w.cli(*args, key=w.keys[key], key_on_stdin=on_stdin)
        read(name, done.returncode != 0 or leaked(done.stdout))
    done = w.cli("query", "--tenant", "acme", "--from", "-3650d", key=w.keys["rival"])
    read("cli query as rival --tenant acme", done.returncode != 2 or leaked(done.stdout))
    done = w.cli("query", "--from", "-3650d", key=w.keys["rival_admin"], key_on_stdin=True)
    read("cli query with an admin-only key", done.returncode != 2 or leaked(done.stdout))

    assert revoke.status_code == 404 and create.status_code == 400
    failures = [name for name, bad in reads if bad]
    assert failures == []
    assert write_attempts + len(reads) >= 30
    # acme's own key still sees its rows: the checks above could have failed.
    status, payload = w.search("acme", {"filter": "acme-secret*"})
    assert status == 200 and leaked(payload)
