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
    bad = {17: {"status_code": 700}, 256: {"bytes_sent": 10.5}, 512: {"timestamp": 0}, 999: {"method": "X" * 11}}
    entries = [entry(i, **bad.get(i, {})) for i in range(1000)]
    status, body = send(sluice, gzip.compress(json.dumps(entries).encode()), **{"Content-Encoding": "gzip"})
    assert status == 200 and body["message"] == "Processing 996 log entries"
    assert body["errors"] == [
        "Invalid log format: entry 17: status_code must be between 100 and 599",
        "Invalid log format: entry 256: bytes_sent must be a whole number of bytes, got 10.5",
        "Invalid log format: entry 512: timestamp out of reasonable range: more than 365 days old "
        "(the gateway's profound_max_age_days)",
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


# profound.txt's example payload, verbatim. Dated 2024-01-11: older than the default year, so the
# gateway here keeps ten years (profound_max_age_days), as an operator backfilling would set it.
DOC_EXAMPLE = b"""[
{
"timestamp": "2024-01-11T12:00:00Z",
"method": "GET",
"host": "example.com",
"path": "/products",
"status_code": 200,
"ip": "192.168.1.1",
"user_agent": "Mozilla/5.0...",
"query_params": {
"category": "electronics",
"page": "1"
},
"referer": "https://example.com",
"bytes_sent": 1024,
"duration_ms": 150
}
]"""


def test_the_doc_example_backfills_forwarded_lists_unknown_ips_and_integral_floats_are_stored(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, profound_max_age_days=3650)
    s = sluice.settings
    status, body = send(sluice, DOC_EXAMPLE)
    assert (status, body["errors"], body["message"]) == (200, [], "Processing 1 log entries")
    senders = [entry(1, path="/xff", ip="10.0.0.1, 10.0.0.2"), entry(2, path="/unknown", ip="unknown"),
               entry(3, path="/float", bytes_sent=10.0), entry(4, path="/half", bytes_sent=10.5),
               entry(5, path="/last-year", timestamp=time.time() - 300 * 86400)]
    status, body = send(sluice, json.dumps(senders).encode())
    assert (status, body["errors"]) == (200, ["Invalid log format: entry 3: bytes_sent must be a whole number "
                                              "of bytes, got 10.5"])
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.http_logs")[0][0] >= 5, 60, what="access rows")
    rows = sql(s, "SELECT Path, toString(ClientIP), LogAttributes['forwarded_for'], Bytes, "
                  "formatDateTime(Timestamp, '%Y-%m-%d') FROM sluice.http_logs ORDER BY Path")
    year_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 300 * 86400))
    assert rows == [["/float", "::ffff:192.168.1.1", "", 10, rows[0][4]],
                    ["/last-year", "::ffff:192.168.1.1", "", 5, year_ago],
                    ["/products", "::ffff:192.168.1.1", "", 1024, "2024-01-11"],
                    ["/unknown", "::", "unknown", 2, rows[3][4]],
                    ["/xff", "::ffff:10.0.0.1", "10.0.0.1, 10.0.0.2", 1, rows[4][4]]]


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
