import json
import time
from datetime import datetime, timezone

import pytest

from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format
from schemas.dialects.profound.wire import LIMITS
from tests.unit.test_gateway import make_gateway
from schemas.storable import ipv6_bytes
from schemas.dialects.profound.columns import ENTRY
from schemas.dialects.profound.rows import combined_log_line
from schemas.dialects.profound.enrich import classify, referral
from tests.rows import readable

NOW = time.time()


def good(**changes):
    entry = {"timestamp": datetime.fromtimestamp(NOW, timezone.utc).isoformat(), "method": "GET",
             "host": "example.com", "path": "/products", "status_code": 200, "ip": "192.168.1.1",
             "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chrome/120.0.0.0 Safari/537.36"}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not ...}


@pytest.fixture
def client():
    c, (key,), publisher = make_gateway()
    return c, {"X-API-KEY": key}, publisher


async def post(client, body):
    c, headers, _ = client
    return await c.post("/v1/logs/custom", json=body, headers=headers)


@pytest.mark.parametrize("field", sorted(LIMITS))
async def test_every_length_limit_at_its_boundary(client, field):
    limit = LIMITS[field]
    at = "1" * limit if field != "ip" else "::ffff:192.168.1.1".rjust(limit, "0")[:limit]
    over = "1" * (limit + 1)
    ok, bad = good(**{field: at}), good(**{field: over})
    if field == "ip":  # the longest valid IPv6 text form is 45 characters
        ok = good(ip="ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
        assert len(ok["ip"]) == 45
    r = await post(client, [ok, bad])
    assert r.status_code == 200
    body = r.json()
    assert body["message"] == "Processing 1 log entries"
    assert body["errors"] == [f"Invalid log format: entry 1: {field} must be at most {limit} characters"]


@pytest.mark.parametrize("change, error", [
    ({"status_code": 99}, "status_code must be between 100 and 599"),
    ({"status_code": 600}, "status_code must be between 100 and 599"),
    ({"bytes_sent": -1}, "bytes_sent must be >= 0"),
    ({"bytes_sent": 10.5}, "bytes_sent must be a whole number of bytes, got 10.5"),
    ({"duration_ms": -0.5}, "duration_ms must be >= 0"),
    ({"timestamp": NOW - 366 * 86400},
     "timestamp out of reasonable range: more than 365 days old (the gateway's profound_max_age_days)"),
    ({"timestamp": NOW + 2 * 86400},
     "timestamp out of reasonable range: more than 1 day ahead (the gateway's profound_max_ahead_s)"),
    ({"timestamp": "soon"}, "timestamp must be a Unix timestamp or an ISO 8601 string"),
    ({"query_params": {"k" * 101: "v"}}, "query_params keys must be at most 100 characters"),
    ({"query_params": {"k": "v" * 1001}}, "query_params values must be at most 1000 characters"),
    ({"ip": ...}, "ip is required"),
    ({"status_code": "200"}, "status_code: Expected `int`, got `str`"),
])
async def test_invalid_entries_are_reported_and_valid_ones_published(client, change, error):
    r = await post(client, [good(), good(**change), good(path="/third")])
    body = r.json()
    assert r.status_code == 200 and body["status"] == "accepted"
    assert body["message"] == "Processing 2 log entries"
    assert body["errors"] == [f"Invalid log format: entry 1: {error}"]
    (value, env), = client[2].published
    published = decode(Format.PROFOUND_CUSTOM, value)[0]
    assert [e.path for e in published.entries] == ["/products", "/third"]
    assert published.visit_ids[0] == body["first_visit_id"] and len(set(published.visit_ids)) == 2
    assert env.format == "profound.custom.v1"


@pytest.mark.parametrize("ts", [NOW, NOW * 1000, int(NOW), datetime.fromtimestamp(NOW, timezone.utc).isoformat(),
                                datetime.fromtimestamp(NOW, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")],
                         ids=["seconds", "milliseconds", "whole-seconds", "iso-offset", "iso-z"])  # stable ids
async def test_both_timestamp_forms(client, ts):
    r = await post(client, [good(timestamp=ts, ip="2001:db8::1", query_params={"page": "1"},
                                 referer="https://chatgpt.com/", bytes_sent=0, duration_ms=0)])
    assert r.json()["errors"] == [] and r.json()["message"] == "Processing 1 log entries"


async def test_limits_of_the_request(client):
    c, headers, publisher = client
    r = await c.post("/v1/logs/custom", json={"logs": []}, headers=headers)
    assert r.status_code == 400 and "array" in r.json()["detail"]
    r = await post(client, [good()] * 1001)
    assert r.status_code == 413
    r = await post(client, [good(status_code=1)])
    assert r.json() == {"status": "accepted", "message": "Processing 0 log entries", "first_visit_id": None,
                        "errors": ["Invalid log format: entry 0: status_code must be between 100 and 599"],
                        "request_id": r.headers["x-request-id"]}
    assert publisher.published == []  # nothing valid, nothing published
    r = await c.post("/v1/logs/custom", json=[good()], headers={"x-api-key": "wrong"})
    assert r.status_code == 401 and r.json()["detail"]


async def test_kafka_failure_is_500_with_detail_and_nothing_published(client):
    c, headers, publisher = client
    publisher.fail = True
    r = await post(client, [good(), good()])
    assert r.status_code == 500 and "detail" in r.json()
    assert publisher.published == []


def test_rows_are_enriched_and_browsable():
    body = json.dumps({"visit_ids": ["11111111-1111-1111-1111-111111111111"], "entries": [good(
        timestamp=1_700_000_000, status_code=503, ip="2001:db8::1", query_params={"utm_source": "chatgpt.com"},
        referer="https://chatgpt.com/", bytes_sent=512, duration_ms=12.5,
        user_agent="Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    )]}).encode()
    (row,) = readable(ENTRY.table(decode(Format.PROFOUND_CUSTOM, body), Envelope("profound.custom.v1", "acme", "r", 5)))
    assert (row["SeverityText"], row["SeverityNumber"], row["Status"], row["ClientIP"]) == \
        ("ERROR", 17, 503, ipv6_bytes("2001:db8::1"))
    assert (row["BotName"], row["BotKind"], row["ReferralSource"], row["ReferralName"]) == \
        ("GPTBot", "ai_agent", "ai_assistant", "chatgpt")
    assert row["Timestamp"] == 1_700_000_000 * 10**9 and row["VisitId"].startswith("1111")
    assert row["Body"] == ('2001:db8::1 - - [14/Nov/2023:22:13:20 +0000] "GET /products?utm_source=chatgpt.com '
                           'HTTP/1.1" 503 512 "https://chatgpt.com/" "' + row["UserAgent"] + '"')


def test_classification_and_referrals():
    iphone = classify("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                      "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
    assert (iphone.browser, iphone.os, iphone.device, iphone.bot_kind) == ("Mobile Safari", "iOS", "iPhone", "")
    assert classify("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").bot_kind == "search_engine"
    assert classify("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
                    "+claudebot@anthropic.com)")[4:] == ("ClaudeBot", "ai_agent")
    assert referral("https://www.google.com/search?q=x", {}, "example.com") == ("search", "google")
    assert referral("https://www.perplexity.ai/search", {}, "example.com") == ("ai_assistant", "perplexity")
    assert referral("https://t.co/abc", {}, "example.com") == ("social", "x")
    assert referral(None, {}, "example.com") == ("direct", "")
    assert referral("https://example.com/a", {}, "example.com:443") == ("internal", "example.com")
    assert referral(None, {"utm_source": "newsletter"}, "example.com") == ("campaign", "newsletter")
    assert referral("https://blog.example.net/", {}, "example.com") == ("other", "blog.example.net")


def test_combined_log_line_without_optional_fields():
    assert combined_log_line(0, "1.2.3.4", "POST", "/x", {}, 201, None, "", "curl/8") == \
        '1.2.3.4 - - [01/Jan/1970:00:00:00 +0000] "POST /x HTTP/1.1" 201 - "-" "curl/8"'


# profound.txt's example entry, as the doc spells it.
DOC_EXAMPLE = [{"timestamp": "2024-01-11T12:00:00Z", "method": "GET", "host": "example.com", "path": "/products",
                "status_code": 200, "ip": "192.168.1.1", "user_agent": "Mozilla/5.0...",
                "query_params": {"category": "electronics", "page": "1"}, "referer": "https://example.com",
                "bytes_sent": 1024, "duration_ms": 150}]


async def test_backfills_within_the_window_are_taken_and_the_window_is_a_setting():
    c, (key,), publisher = make_gateway()
    r = await c.post("/v1/logs/custom", json=[good(timestamp=NOW - 300 * 86400)], headers={"x-api-key": key})
    assert r.json()["errors"] == []
    # The doc's example is older than the default year: refused, saying why and what to change.
    r = await c.post("/v1/logs/custom", json=DOC_EXAMPLE, headers={"x-api-key": key})
    assert r.json()["errors"] == ["Invalid log format: entry 0: timestamp out of reasonable range: more than "
                                  "365 days old (the gateway's profound_max_age_days)"]
    wide, (key,), publisher = make_gateway(profound_max_age_days=3650)
    r = await wide.post("/v1/logs/custom", json=DOC_EXAMPLE, headers={"x-api-key": key})
    assert (r.json()["errors"], r.json()["message"]) == ([], "Processing 1 log entries")
    assert len(publisher.published) == 1


@pytest.mark.parametrize("ip, stored, attributes", [
    ("192.168.1.1", "192.168.1.1", {}),
    ("10.0.0.1, 10.0.0.2", "10.0.0.1", {"forwarded_for": "10.0.0.1, 10.0.0.2"}),
    ("2001:db8::1,10.0.0.2", "2001:db8::1", {"forwarded_for": "2001:db8::1,10.0.0.2"}),
    ("unknown", "", {"forwarded_for": "unknown"}),
    ("999.1.1.1", "", {"forwarded_for": "999.1.1.1"}),
    ("", "", {}),
])
async def test_ip_is_the_first_forwarded_address_and_the_header_is_kept(client, ip, stored, attributes):
    r = await post(client, [good(ip=ip, bytes_sent=10.0)])
    assert r.json()["errors"] == []
    (value, env), = client[2].published
    table = ENTRY.table(decode(Format.PROFOUND_CUSTOM, value), env)
    (row,) = readable(table)
    assert (row["LogAttributes"], row["Bytes"]) == (attributes, 10)
    assert type(row["Bytes"]) is int
    assert row["Body"].startswith(f"{stored or '-'} - - [")  # the address as stored, "-" for none
    assert table.column("ClientIP")[0].as_py() == (ipv6_bytes(stored) if stored else bytes(16))
    assert table.column("LogAttributes").to_pylist() == [list(attributes.items())]
