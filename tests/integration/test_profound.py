"""Profound access logs end to end: partial acceptance, enrichment, compressed bodies."""

from __future__ import annotations

import gzip
import json
import time
import urllib.request

import pytest

from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def entry(i: int, **changes) -> dict:
    e = {"timestamp": time.time() - i, "method": "GET", "host": "shop.example.com", "path": f"/products/{i}",
         "status_code": 200, "ip": "192.168.1.1" if i % 2 else "2001:db8::1",
         "user_agent": "Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)"
         if i % 10 == 0 else "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 "
                             "(KHTML, like Gecko) Version/17.0 Safari/605.1.15",
         "query_params": {"utm_source": "chatgpt.com"} if i % 7 == 0 else {"page": str(i)},
         "referer": "https://www.google.com/" if i % 3 == 0 else None, "bytes_sent": i, "duration_ms": i / 10}
    e.update(changes)
    return e


def send(sluice, body: bytes, **headers) -> tuple[int, dict]:
    request = urllib.request.Request(sluice.url("/v1/logs/custom"), data=body, method="POST",
                                     headers={"x-api-key": sluice.key, "Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def test_a_thousand_entries_with_a_few_invalid_store_exactly_the_valid_ones(sluice):
    s = sluice.settings
    bad = {17: {"status_code": 700}, 256: {"ip": "not-an-ip"}, 512: {"timestamp": 0}, 999: {"method": "X" * 11}}
    entries = [entry(i, **bad.get(i, {})) for i in range(1000)]
    status, body = send(sluice, gzip.compress(json.dumps(entries).encode()), **{"Content-Encoding": "gzip"})
    assert status == 200 and body["message"] == "Processing 996 log entries"
    assert body["errors"] == [
        "Invalid log format: entry 17: status_code must be between 100 and 599",
        "Invalid log format: entry 256: ip must be an IPv4 or IPv6 address",
        "Invalid log format: entry 512: timestamp out of reasonable range",
        "Invalid log format: entry 999: method must be at most 10 characters",
    ]
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.http_logs")[0][0] >= 996, 60, what="access rows")
    assert sql(s, "SELECT count(), uniqExact(VisitId), uniqExact(Path) FROM sluice.http_logs") == [[996, 996, 996]]
    assert sql(s, "SELECT count() FROM sluice.http_logs WHERE Path IN "
                  "('/products/17', '/products/256', '/products/512', '/products/999')") == [[0]]
    first = sql(s, f"SELECT Path FROM sluice.http_logs WHERE VisitId = '{body['first_visit_id']}'")
    assert first == [["/products/0"]]
    bots = sql(s, "SELECT BotName, BotKind, count() FROM sluice.http_logs GROUP BY BotName, BotKind ORDER BY BotName")
    assert bots == [["", "", 896], ["PerplexityBot", "ai_agent", 100]]
    row = sql(s, "SELECT toString(ClientIP), Browser, OS, ReferralSource, ReferralName, SeverityText, TenantId "
                 "FROM sluice.http_logs WHERE Path = '/products/21'")
    assert row == [["::ffff:192.168.1.1", "Safari", "Mac OS X", "ai_assistant", "chatgpt", "INFO", "acme"]]
    assert sql(s, "SELECT toString(ClientIP) FROM sluice.http_logs WHERE Path = '/products/2'") == [["2001:db8::1"]]


def test_the_doc_examples_shape_works_unchanged(sluice):
    # The doc's Python example: a JSON array, x-api-key, Content-Type: application/json.
    logs = [{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": "GET",
             "host": "example.com", "path": "/products", "status_code": 200, "ip": "192.168.1.1",
             "user_agent": "Mozilla/5.0..."}]
    status, body = send(sluice, json.dumps(logs).encode())
    assert status == 200 and body["errors"] == [] and body["first_visit_id"]
    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.http_logs")[0][0] == 1, 30, what="row")


def test_access_logs_are_searchable_with_their_own_fields(sluice):
    from tests.support import post

    s = sluice.settings
    entries = [entry(i) for i in range(30)] + [entry(100, status_code=503, path="/checkout")]
    assert send(sluice, json.dumps(entries).encode())[0] == 200
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.http_logs")[0][0] == 31, 60, what="access rows")
    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}

    def search(text: str) -> list[dict]:
        status, body, _ = post(sluice.url("/v1/logs/query"), {"table": "access", "filter": text, "from": "-1h"}, auth)
        assert status == 200, body
        return body["logs"]

    (hit,) = search("status_code>=500 AND path:/check*")
    assert (hit["path"], hit["status_code"], hit["level"], hit["ip"]) == ("/checkout", 503, "ERROR", "2001:db8::1")
    assert len(search("bot_kind:ai_agent")) == 4  # entries 0, 10, 20 and 100
    assert {r["ip"] for r in search("ip:192.168.1.1")} == {"::ffff:192.168.1.1"}
    assert len(search("referral_name:chatgpt query.utm_source:*")) == 5  # entries 0, 7, 14, 21 and 28
