"""The query language against the real engine: 200+ random filters equal a brute-force Python filter."""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import time

import pytest

from sluice.query.kql import And, Compare, Not, Or, Text, parse
from sluice.query.search import SearchRequest, build, page
from workers.normalize import LogRow
from workers.sink import to_arrow

pytestmark = pytest.mark.integration

LEVELS = ["INFO", "ERROR", "WARN", "debug"]
SERVICES = ["api", "payment-gateway", "pay-worker", ""]
BODIES = ["connection timeout on db-primary-03", "user login ok", "payment failed for order 42",
          "Timeout while calling api", "cache miss for key user:42", "all good"]
WORDS = ["timeout", "payment", "user", "db", "ok", "api", "order", "missing"]
PHRASES = ["login ok", "failed for", "db-primary", "cache miss"]


def dataset(n: int, rnd: random.Random) -> list[LogRow]:
    rows = []
    for i in range(n):
        attrs = {}
        if rnd.random() < 0.7:
            attrs["user"] = rnd.choice(["1", "2", "42"])
        if rnd.random() < 0.7:
            attrs["status_code"] = rnd.choice(["200", "404", "500", "oops"])
        resource = {"host.name": rnd.choice(["h1", "h2"])} if rnd.random() < 0.6 else {}
        rows.append(LogRow("q", "production", "logtrace", f"r{i}", time.time_ns(), time.time_ns() - i * 1000,
                           rnd.choice(LEVELS), 9, rnd.choice(SERVICES), f"{rnd.choice(BODIES)} #{i}",
                           "", "", resource, attrs))
    return rows


def atom(rnd: random.Random) -> str:
    return rnd.choice([
        lambda: f"level:{rnd.choice(LEVELS + ['error', 'E*'])}",
        lambda: f"service:{rnd.choice(['api', 'payment-gateway', 'pay*', '*'])}",
        lambda: f"metadata.user:{rnd.choice(['1', '42', '*'])}",
        lambda: f"status_code{rnd.choice(['>=', '<', '>', '<='])}{rnd.choice([200, 404, 500])}",
        lambda: f"host:{rnd.choice(['h1', 'h2', '*'])}",
        lambda: rnd.choice(WORDS),
        lambda: f'"{rnd.choice(PHRASES)}"',
        lambda: rnd.choice(["tim*", "pay*"]),
    ])()


def expression(rnd: random.Random, depth: int = 0) -> str:
    if depth >= 3 or rnd.random() < 0.35:
        return atom(rnd)
    kind = rnd.choice(["AND", "OR", "NOT", "implicit"])
    if kind == "NOT":
        return f"NOT ({expression(rnd, depth + 1)})"
    joiner = " " if kind == "implicit" else f" {kind} "
    return "(" + joiner.join(expression(rnd, depth + 1) for _ in range(rnd.randint(2, 3))) + ")"


_TOKENS = re.compile(r"[A-Za-z0-9]+")


def evaluate(node, row: LogRow):
    """SQL's three-valued logic over one row: True, False or None (NULL)."""
    if isinstance(node, And):
        values = [evaluate(n, row) for n in node.items]
        return False if False in values else (None if None in values else True)
    if isinstance(node, Or):
        values = [evaluate(n, row) for n in node.items]
        return True if True in values else (None if None in values else False)
    if isinstance(node, Not):
        value = evaluate(node.item, row)
        return None if value is None else not value
    if isinstance(node, Text):
        if "*" in node.value and not node.quoted:
            return fnmatch.fnmatchcase(row.body.lower(), node.value.lower())
        needle = node.value.lower()
        return set(_TOKENS.findall(needle)) <= set(_TOKENS.findall(row.body.lower())) and needle in row.body.lower()
    field_value = {
        "level": row.severity_text.upper(), "service": row.service,
        "metadata.user": row.log_attributes.get("user", ""), "status_code": row.log_attributes.get("status_code", ""),
        "host": row.resource_attributes.get("host.name", ""),
    }[node.field]
    if isinstance(node, Compare):
        try:
            number = float(field_value)
        except ValueError:
            return None
        return {">=": number >= float(node.value), "<": number < float(node.value),
                ">": number > float(node.value), "<=": number <= float(node.value)}[node.op]
    value = node.value.upper() if node.field == "level" else node.value
    if value == "*":
        present = {"metadata.user": "user" in row.log_attributes, "host": "host.name" in row.resource_attributes}
        return present.get(node.field, field_value != "")
    if "*" in value:
        return fnmatch.fnmatchcase(field_value, value)
    return field_value == value


@pytest.fixture(scope="module")
def loaded(storage):
    rnd = random.Random(20261123)
    rows = dataset(400, rnd)
    decoys = [r._replace(tenant="other", request_id=f"other-{i}") for i, r in enumerate(dataset(50, rnd))]
    storage.run_sync(lambda c: c.insert_arrow("sluice.logs", to_arrow(rows + decoys)))
    return rows


def run(storage, request: SearchRequest, tenant: str = "q") -> list[dict]:
    sql, params = build(request, tenant, "sluice", time.time_ns())
    rows = storage.run_sync(lambda c: [list(r) for r in c.query(sql, parameters=params).result_rows])
    return page(rows, request.limit)


def test_random_filters_match_a_brute_force_filter(storage, loaded):
    rnd = random.Random(7)
    checked = 0
    for _ in range(220):
        text = expression(rnd)
        tree = parse(text)
        expected = {r.request_id for r in loaded if evaluate(tree, r) is True}
        records, more, _ = run(storage, SearchRequest(filter=text, from_="-1h", limit=1000))
        assert not more
        assert {r["request_id"] for r in records} == expected, text
        checked += bool(expected)
    assert checked > 50  # most filters select something, so equality is not trivially empty


def test_pages_return_every_record_exactly_once_while_rows_arrive(storage, loaded):
    seen, cursor = [], None
    while True:
        records, more, cursor = run(storage, SearchRequest(filter="", from_="-1h", limit=37, cursor=cursor))
        seen += [r["request_id"] for r in records]
        newer = dataset(3, random.Random(len(seen)))  # new rows land between pages
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", to_arrow(
            [r._replace(request_id=f"new-{len(seen)}-{i}", timestamp_ns=time.time_ns()) for i, r in enumerate(newer)])))
        if not more:
            break
    originals = [s for s in seen if not s.startswith("new-")]
    assert sorted(originals) == sorted(r.request_id for r in loaded) and len(originals) == len(set(originals))


@pytest.mark.parametrize("attack", [
    "tenant:other", "tenant:* OR tenant:other", "service:api' OR '1'='1", 'service:"x\\" OR TenantId != \'\'"',
    "message:\\", "NOT tenant:q", "level:ERROR) OR (1=1", "metadata.user:1 OR TenantId:other",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 OR service:*", "resource.tenant:other", "SELECT", "x:1 UNION ALL SELECT",
])
def test_injection_attempts_never_leave_the_tenant(storage, loaded, attack):
    try:
        records, _, _ = run(storage, SearchRequest(filter=attack, from_="-1h", limit=1000))
    except Exception as exc:  # a 400 for a malformed filter is fine; a leak is not
        assert "QueryError" in type(exc).__name__ or "Kql" in type(exc).__name__, exc
        return
    assert not [r for r in records if r["request_id"].startswith("other-")]


def test_a_query_that_reads_too_much_is_a_422_and_a_slow_one_a_408(storage, loaded):
    from sluice.query.backend import _classify

    # Through Storage.read, as the worker runs searches: with chDB a query that
    # fails midway breaks the shared connection, so read reconnects.
    sql, params = build(SearchRequest(filter="", from_="-1h"), "q", "sluice", time.time_ns())
    with pytest.raises(Exception) as info:
        asyncio.run(storage.read(sql, params, {"max_rows_to_read": 10}))
    assert (_classify(str(info.value)).status, _classify(str(info.value)).code) == (422, "query_too_broad")
    with pytest.raises(Exception) as info:
        asyncio.run(storage.read("SELECT sleepEachRow(0.01) FROM numbers(1000)", None,
                                 {"max_execution_time": 0.1, "max_block_size": 1}))
    assert (_classify(str(info.value)).status, _classify(str(info.value)).code) == (408, "query_timeout")
    # Still usable, for writes too: nothing of the read-only query stuck to the connection.
    storage.run_sync(lambda c: c.insert("sluice.schema_migrations", [[999, "probe"]], column_names=["Version", "Name"]))
    assert asyncio.run(storage.read("SELECT Name FROM sluice.schema_migrations WHERE Version = 999", None, {}))[1] == [["probe"]]


def test_a_megabyte_filter_is_a_400_and_health_answers_during_a_burst_of_them(sluice):
    import json
    import threading
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import post, wait_for

    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    body = json.dumps({"filter": "a " * ((1 << 20) // 2 - 64)}).encode()  # just under the 1 MiB body limit
    assert len(body) > 1_000_000
    health: list[int] = []
    burst_over = threading.Event()

    def probe() -> None:
        while not burst_over.is_set():
            with urllib.request.urlopen(sluice.url("/health"), timeout=60) as resp:
                health.append(resp.status)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        wait_for(lambda: health, 30, interval_s=0.01, what="the first health answer")
        before = len(health)
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: post(sluice.url("/v1/logs/query"), body, auth, timeout=60), range(36)))
        during = len(health) - before
    finally:
        burst_over.set()
        prober.join()
    assert {(status, payload["error"]["code"], payload["error"]["details"]) for status, payload, _ in answers} == {
        (400, "filter_too_long", f"query_max_filter_bytes={sluice.settings.query_max_filter_bytes}")}
    assert during > 0 and set(health) == {200}  # /health kept answering while the burst was being refused
    status, payload, _ = post(sluice.url("/v1/logs/query"), {"filter": "a " * 101}, auth)
    assert (status, payload["error"]["code"]) == (400, "filter_too_many_terms")


def test_statements_the_storage_refuses_are_answers_with_their_reason(sluice):
    from sluice.query.backend import QueryBackend
    from sluice.query.errors import QueryError

    backend = QueryBackend(sluice.settings)
    assert backend.rows_sync("SELECT {a:Int64}", {"a": 7}) == [[7]]
    for sql, params in [("SELECT {a:Int64}", {"a": "1e30"}), ("SELECT name FROM system.users", {})]:
        with pytest.raises(QueryError) as info:
            backend.rows_sync(sql, params)
        assert (info.value.status, info.value.code) == (400, "query_refused"), info.value.message
        assert "\n" not in info.value.message
    with pytest.raises(QueryError) as info:
        QueryBackend(sluice.settings.replace(internal_token="not-the-token")).rows_sync("SELECT 1", {})
    assert (info.value.status, info.value.code) == (503, "storage_unauthorized")
    assert "not-the-token" not in info.value.message
