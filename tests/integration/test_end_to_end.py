"""10,000 records through gateway → Kafka → worker → ClickHouse, each exactly once."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import niceness, post, sql, wait_for

pytestmark = pytest.mark.integration


def astralog_requests(n_requests: int, per_request: int):
    for r in range(n_requests):
        logs = [{"project_id": "org-xyz", "timestamp": "2024-05-31 15:30:45", "level": "warning",
                 "service": "api", "message": f"astra-{r}-{i}", "metadata": {"n": i, "ok": True}}
                for i in range(per_request)]
        yield "/v1/drain", {"logs": logs}, "Authorization", "{key}", 200


def logtrace_requests(n_requests: int, per_request: int):
    for r in range(n_requests):
        logs = [{"timestamp": "2024-03-15T10:22:01.5+02:00", "level": "ERROR", "message": f"trace-{r}-{i}",
                 "service": "payment-gateway", "trace_id": f"t{r}"} for i in range(per_request)]
        yield "/v1/logs/ingest", {"logs": logs}, "Authorization", "Bearer {key}", 202


def loginformant_requests(n_batches: int, per_batch: int, n_single: int):
    for r in range(n_batches):
        logs = [{"level": "Information", "message": f"inf-{r}-{i}", "source": "OrderService",
                 "properties": {"orderId": f"ORD-{i}", "nested": {"a": None}}} for i in range(per_batch)]
        yield "/api/ingest/batch", {"logs": logs}, "X-API-Key", "{key}", 200
    for i in range(n_single):
        yield "/api/ingest", {"level": "Fatal", "message": f"single-{i}", "source": "Cron",
                              "timestamp": "2026-04-08T18:30:00.000Z"}, "X-API-Key", "{key}", 200


def test_ten_thousand_records_arrive_exactly_once_with_normalized_fields(sluice):
    requests = [
        *astralog_requests(20, 200),  # 4,000
        *logtrace_requests(6, 500),  # 3,000
        *loginformant_requests(5, 500, 500),  # 3,000
    ]

    def send(req):
        path, body, header, template, expected = req
        status, payload, _ = post(sluice.url(path), body, {header: template.format(key=sluice.key),
                                                           "Content-Type": "application/json"})
        assert status == expected, payload
        return len(body.get("logs", [body]))

    with ThreadPoolExecutor(8) as pool:
        sent = sum(pool.map(send, requests))
    assert sent == 10_000

    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= sent, 120, what="rows")
    total, distinct = sql(sluice.settings, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0]
    assert (total, distinct) == (10_000, 10_000)

    by_source = dict(map(tuple, sql(sluice.settings, "SELECT Source, count() FROM sluice.logs WHERE TenantId != '' GROUP BY Source")))
    assert by_source == {"astralog": 4000, "logtrace": 3000, "loginformant": 3000}

    astra = sql(sluice.settings, "SELECT TenantId, toString(Timestamp), SeverityText, SeverityNumber, ServiceName, "
                                 "ResourceAttributes['project_id'], LogAttributes['n'], LogAttributes['ok'] "
                                 "FROM sluice.logs WHERE Body = 'astra-3-7'")
    assert astra == [["acme", "2024-05-31 15:30:45.000000000", "warning", 13, "api", "org-xyz", "7", "true"]]
    trace = sql(sluice.settings, "SELECT toString(Timestamp), SeverityNumber, ServiceName, TraceId "
                                 "FROM sluice.logs WHERE Body = 'trace-2-9'")
    assert trace == [["2024-03-15 08:22:01.500000000", 17, "payment-gateway", "t2"]]
    inf = sql(sluice.settings, "SELECT SeverityText, SeverityNumber, ServiceName, LogAttributes['orderId'], "
                               "LogAttributes['nested.a'], Timestamp = ReceivedAt FROM sluice.logs WHERE Body = 'inf-1-4'")
    assert inf == [["Information", 9, "OrderService", "ORD-4", "null", True]]
    single = sql(sluice.settings, "SELECT toString(Timestamp), SeverityNumber FROM sluice.logs WHERE Body = 'single-9'")
    assert single == [["2026-04-08 18:30:00.000000000", 21]]
    request_ids = sql(sluice.settings, "SELECT uniqExact(RequestId) FROM sluice.logs WHERE TenantId != ''")[0][0]
    assert request_ids == len(requests)


def _niceness_of_threads(pid: int) -> dict[str, set[int]]:
    """Thread name → the niceness its threads run at, for every thread of process ``pid``."""
    found: dict[str, set[int]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            nice = niceness(int(tid), pid)
        except OSError:  # the thread ended meanwhile
            continue
        found.setdefault(name, set()).add(nice)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is read from /proc")
def test_the_worker_and_its_engines_threads_yield_the_cores_to_the_gateway(sluice):
    """Every thread of the worker, the engine's inserting and merging threads among them, runs at
    ``worker_nice``; the gateway keeps the priority it was started with."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    for r in range(20):  # enough parts for the engine to insert and merge
        logs = [{"level": "INFO", "message": f"nice-{r}-{i}"} for i in range(50)]
        status, payload, _ = post(sluice.url("/v1/logs/ingest"), {"logs": logs},
                                  {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"})
        assert status == 202, payload
    wait_for(lambda: sql(sluice.settings, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= 1000, 60, what="rows")
    worker = _niceness_of_threads(sluice.worker.proc.pid)
    assert any(name.startswith(("ThreadPool", "MergeMutate", "Query")) for name in worker), worker  # the engine's
    # ClickHouse's MemoryWorker asks for the highest priority itself where it may (it tracks the engine's memory).
    assert set().union(*(n for name, n in worker.items() if name != "MemoryWorker")) == {
        max(base, sluice.settings.worker_nice)}, worker
    gateway = _niceness_of_threads(sluice.gateway.proc.pid)
    assert set().union(*gateway.values()) == {base}, gateway


def test_new_key_works_without_restart_and_revoked_key_stops(sluice):
    import asyncio

    import msgspec

    from sluice import registry as registry_topic
    from sluice.keys import new_key, now_iso

    key, record = new_key("acme")
    asyncio.run(registry_topic.publish(sluice.settings, record))
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    body = {"level": "Debug", "message": "hello"}
    wait_for(lambda: post(sluice.url("/api/ingest"), body, headers)[0] == 200, 10, what="new key accepted")
    asyncio.run(registry_topic.publish(sluice.settings, msgspec.structs.replace(record, revoked_at=now_iso())))
    wait_for(lambda: post(sluice.url("/api/ingest"), body, headers)[0] == 401, 10, what="revoked key refused")


def test_the_query_doc_example_returns_what_was_ingested(sluice):
    import json
    import urllib.parse
    import urllib.request
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    ingest = {"logs": [{"timestamp": now, "level": "ERROR", "message": "Connection timeout on db-primary-03",
                        "service": "payment-gateway"},
                       {"timestamp": now, "level": "INFO", "message": "healthy", "service": "payment-gateway"}]}
    assert post(sluice.url("/v1/logs/ingest"), ingest, auth)[0] == 202
    doc_query = {"filter": "service:payment-gateway AND level:ERROR", "from": "-24h", "limit": 50}
    found = wait_for(lambda: (lambda r: r[1]["logs"] if r[0] == 200 and r[1]["logs"] else None)(
        post(sluice.url("/v1/logs/query"), doc_query, auth)), 30, what="query results")
    assert [(r["service"], r["level"], r["message"]) for r in found] == [
        ("payment-gateway", "ERROR", "Connection timeout on db-primary-03")]
    status, body, _ = post(sluice.url("/v1/logs/query"), doc_query, auth)
    assert body["meta"]["count"] == 1 and body["meta"]["has_more"] is False and body["meta"]["took_ms"] >= 0

    url = sluice.url("/v1/logs/query?" + urllib.parse.urlencode({"filter": '"db-primary-03"', "from": "-1h"}))
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth)) as resp:
        assert [r["message"] for r in json.loads(resp.read())["logs"]] == ["Connection timeout on db-primary-03"]

    status, body, _ = post(sluice.url("/v1/logs/query"), {"filter": "level:ERROR AND"}, auth)
    assert status == 400 and body["error"]["code"] == "invalid_filter" and "position" in body["error"]["message"]
    assert post(sluice.url("/v1/logs/query"), doc_query, {"Content-Type": "application/json"})[0] == 401


def test_health_reports_real_figures_and_names_what_is_down(sluice):
    import json
    import urllib.error
    import urllib.request

    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}

    def health() -> tuple[int, dict]:
        request = urllib.request.Request(sluice.url("/v1/health"), headers=auth)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    logs = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": f"m{i}"} for i in range(120)]}
    assert post(sluice.url("/v1/logs/ingest"), logs, auth)[0] == 202
    status, body = wait_for(lambda: (lambda r: r if r[1].get("workers") == 1 else None)(health()), 30,
                            what="one live worker")
    assert status == 200 and body["status"] == "healthy"
    assert body["ingestion_rps"] == 2.0  # 120 records over the last minute
    sluice.worker.stop()
    status, body = health()
    assert status == 503 and body["status"] == "degraded" and "clickhouse" in body["down"]


def test_live_tail_streams_new_matching_records(sluice):
    import http.client
    import json
    import threading
    from urllib.parse import quote

    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(sluice.settings.gateway_host, sluice.settings.gateway_port, timeout=30)
    conn.request("GET", "/v1/logs/tail?filter=" + quote("level:ERROR AND service:api"), headers=auth)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type") == "text/event-stream"
    events = []

    def read():
        try:
            for line in resp:
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
        except (OSError, ValueError, AttributeError):
            pass  # the test closed the connection

    threading.Thread(target=read, daemon=True).start()
    logs = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "ERROR", "service": "api", "message": "wanted"},
                     {"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "service": "api", "message": "not this"}]}
    assert post(sluice.url("/v1/logs/ingest"), logs, auth)[0] == 202
    wait_for(lambda: events, 20, what="a tailed record")
    time.sleep(2.5)  # later polls must not send it again
    assert [e["message"] for e in events] == ["wanted"]
    conn.close()
    conn = http.client.HTTPConnection(sluice.settings.gateway_host, sluice.settings.gateway_port, timeout=30)
    conn.request("GET", "/v1/logs/tail?filter=" + quote("a AND"), headers=auth)
    bad = conn.getresponse()
    assert bad.status == 400 and json.loads(bad.read())["error"]["code"] == "invalid_filter"
    conn.close()


def test_metrics_count_a_known_workload_exactly(sluice):
    import urllib.request

    from tests.integration.test_native import native, produce

    def scrape(url: str) -> dict[str, float]:
        with urllib.request.urlopen(url + "/metrics") as resp:
            lines = resp.read().decode().splitlines()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines
                if line.startswith("sluice_") and not line.startswith(("sluice_gateway_request_seconds", "#"))}

    auth = {"X-API-Key": sluice.key, "Content-Type": "application/json"}
    for n in (1, 2, 3):
        body = {"logs": [{"level": "Error", "message": f"m{n}-{i}"} for i in range(n)]}
        assert post(sluice.url("/api/ingest/batch"), body, auth)[0] == 200
    assert post(sluice.url("/api/ingest/batch"), b"{", auth)[0] == 400
    assert post(sluice.url("/api/ingest/batch"), {"logs": [{"level": "Nope", "message": "x"}]}, auth)[0] == 400
    assert post(sluice.url("/api/ingest/batch"), {"logs": []}, {**auth, "X-API-Key": "wrong"})[0] == 401
    produce(sluice.settings.kafka_bootstrap, sluice.settings.native_topic, [(b"not json", native())])
    wait_for(lambda: scrape(sluice.settings.worker_url).get("sluice_worker_rows_stored_total") == 6, 30,
             what="six stored rows")
    wait_for(lambda: scrape(sluice.settings.worker_url).get(
        'sluice_worker_dead_letters_total{reason="malformed_json"}') == 1, 30, what="one dead letter")
    gateway = scrape(sluice.settings.gateway_url)
    assert gateway['sluice_gateway_records_accepted_total{dialect="loginformant"}'] == 6
    assert gateway['sluice_gateway_requests_total{dialect="loginformant",status="200"}'] == 3
    assert gateway['sluice_gateway_requests_total{dialect="loginformant",status="400"}'] == 2
    assert gateway['sluice_gateway_requests_total{dialect="loginformant",status="401"}'] == 1
    assert gateway['sluice_gateway_rejections_total{dialect="loginformant",reason="malformed_json"}'] == 1
    assert gateway['sluice_gateway_rejections_total{dialect="loginformant",reason="invalid_field"}'] == 1
    assert gateway['sluice_gateway_rejections_total{dialect="loginformant",reason="invalid_api_key"}'] == 1
    worker = scrape(sluice.settings.worker_url)
    assert worker['sluice_worker_records_consumed_total{format="loginformant.batch.v1"}'] == 3
    assert worker["sluice_worker_batch_rows_count"] >= 1 and worker["sluice_worker_batch_rows_sum"] == 6

    def ingest_lag() -> dict[str, float]:
        topic = sluice.settings.ingest_topic
        return {k: v for k, v in scrape(sluice.settings.worker_url).items()
                if k.startswith("sluice_worker_consumer_lag_records") and f'topic="{topic}"' in k}

    # Every partition reported, and nothing left behind once the offsets are committed.
    wait_for(lambda: len(ingest_lag()) == 4 and sum(ingest_lag().values()) == 0, 30, what="lag drained to 0")


def test_otlp_protobuf_and_json_land_on_the_otel_columns(sluice):
    import urllib.request

    from tests.unit.test_otlp import OTLP_JSON, SPAN, TRACE, request

    body = request().SerializeToString()
    req = urllib.request.Request(sluice.url("/v1/logs"), data=body, method="POST",
                                 headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {sluice.key}"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200 and resp.headers["content-type"] == "application/x-protobuf"
    assert post(sluice.url("/v1/logs"), OTLP_JSON, {"X-API-Key": sluice.key, "Content-Type": "application/json"})[0] == 200
    s = sluice.settings
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'otlp'")[0][0] == 3, 30, what="otlp rows")
    row = sql(s, "SELECT ServiceName, SeverityNumber, TraceId, SpanId, TraceFlags, ScopeName, ScopeVersion, "
                 "ScopeAttributes['sampled'], ResourceAttributes['host.name'], LogAttributes['order.id'], "
                 "toString(Timestamp) FROM sluice.logs WHERE Body = 'payment failed'")
    assert row == [["checkout", 17, TRACE, SPAN, 1, "checkout.http", "1.4.0", "true", "h1", "42",
                    "2023-11-14 22:13:20.123456789"]]
    assert sql(s, "SELECT TraceId FROM sluice.logs WHERE Body = 'hello'") == [[TRACE]]


def test_a_logtrace_log_without_timestamp_is_stored_at_its_receive_time(sluice):
    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    before = time.time_ns()
    logs = {"logs": [{"level": "WARN", "message": "no-clock", "service": "legacy"},
                     {"timestamp": "2024-03-15T10:22:01Z", "level": "INFO", "message": "with-clock"}]}
    assert post(sluice.url("/v1/logs/ingest"), logs, auth)[0] == 202
    after = time.time_ns()
    query = ("SELECT Body, toUnixTimestamp64Nano(Timestamp), toUnixTimestamp64Nano(ReceivedAt) FROM sluice.logs "
             "WHERE Body IN ('no-clock', 'with-clock') ORDER BY Body")
    wait_for(lambda: len(sql(sluice.settings, query)) == 2, 30, what="both LogTrace rows")
    (body, ts, received), (_, other_ts, _) = sql(sluice.settings, query)
    assert body == "no-clock" and ts == received and before <= ts <= after
    assert other_ts == 1_710_498_121 * 10**9
