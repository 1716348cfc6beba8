"""The query language against the real engine: 200+ random filters equal a brute-force Python filter."""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import time

import pytest

from sluice.query.kql import And, Compare, Not, Or, Range, Text, parse
from sluice.query.search import SearchRequest, build, page
from tests.rows import LogRow, to_arrow

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
        lambda: f"status_code:{rnd.choice('[{')}{rnd.choice(['*', 200, 404])} TO {rnd.choice(['*', 404, 500])}"
                f"{rnd.choice(']}')}",
        lambda: f"level:({rnd.choice(LEVELS)} {rnd.choice(['OR', 'AND', ''])} {rnd.choice(['error', 'W*'])})",
        lambda: f"-{rnd.choice(['level:info', 'timeout', 'service:api', 'metadata.user:*'])}",
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
    if isinstance(node, Range) and node.low is None and node.high is None:
        return "status_code" in row.log_attributes
    if isinstance(node, (Compare, Range)):
        try:
            number = float(field_value)
        except ValueError:
            return False  # not a number: the comparison is false (ifNull), not NULL
        if isinstance(node, Range):
            low = node.low is None or (number >= float(node.low) if node.include_low else number > float(node.low))
            high = node.high is None or (number <= float(node.high) if node.include_high else number < float(node.high))
            return low and high
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


# Each KQL form through the real gateway and worker, on rows ingested as LogTrace's doc sends them.
# (id, level, service, message, attributes); row i is i seconds after the first.
FORM_ROWS = [
    ("e0", "ERROR", "payment-gateway", "Connection timeout on db-primary-03",
     {"status_code": 500, "duration_ms": 1200, "user": "u1"}),
    ("e1", "WARN", "payment-gateway", "slow response from db", {"status_code": 200, "duration_ms": 800}),
    ("e2", "INFO", "pay-worker", "job done", {"status_code": 200, "duration_ms": 15, "user": "u2"}),
    ("e3", "info", "api", "user login ok", {"status_code": 404, "duration_ms": 3}),
    ("e4", "DEBUG", "api", "cache miss for key user:42", {"duration_ms": 250, "user": "u1"}),
    ("e5", "ERROR", "api", "timeout calling payment provider",
     {"status_code": 503, "duration_ms": 10000, "version": "b"}),
    ("e6", "WARN", "billing", "disk almost full", {"status_code": "oops", "version": "a"}),
]


def _forms(t) -> list[tuple[str, set[str]]]:
    """(filter, the ids it must return); ``t(i)`` is row i's timestamp."""
    return [
        ("level:(ERROR OR WARN)", {"e0", "e1", "e5", "e6"}),
        ('level:(error or "warn")', {"e0", "e1", "e5", "e6"}),
        ("message:(timeout AND db)", {"e0"}),
        ("message:(timeout db)", {"e0"}),
        ("service:(api OR billing)", {"e3", "e4", "e5", "e6"}),
        ("service:(pay* AND NOT pay-worker)", {"e0", "e1"}),
        ("status_code:[400 TO 503]", {"e0", "e3", "e5"}),
        ("status_code:{404 TO 503}", {"e0"}),
        ("status_code:[500 TO *]", {"e0", "e5"}),
        ("duration_ms:{* TO 15]", {"e2", "e3"}),
        ("duration_ms:[* TO *]", {"e0", "e1", "e2", "e3", "e4", "e5"}),
        ("duration_ms>1000", {"e0", "e5"}),  # numerically: "800" > "1000" as strings
        ("duration_ms<=15", {"e2", "e3"}),
        ("version:[a TO b]", {"e5", "e6"}),
        ("version:{a TO b]", {"e5"}),
        ("-status_code:[200 TO 299]", {"e0", "e3", "e4", "e5", "e6"}),  # no numeric code: kept
        ("NOT duration_ms>100", {"e2", "e3", "e6"}),
        ("-level:info", {"e0", "e1", "e4", "e5", "e6"}),
        ("NOT level:info", {"e0", "e1", "e4", "e5", "e6"}),
        ("-timeout", {"e1", "e2", "e3", "e4", "e6"}),
        ('-"login ok" service:api', {"e4", "e5"}),
        ("service:api -(level:ERROR OR level:DEBUG)", {"e3"}),
        ("service:pay*", {"e0", "e1", "e2"}),
        ("user:*", {"e0", "e2", "e4"}),
        ("-user:*", {"e1", "e3", "e5", "e6"}),
        ('"login ok"', {"e3"}),
        ('message:"db-primary-03"', {"e0"}),
        ("timeout", {"e0", "e5"}),
        ("(level:ERROR OR level:DEBUG) service:api", {"e4", "e5"}),
        ("level:ERROR OR level:DEBUG AND service:api", {"e0", "e4", "e5"}),
        (f"timestamp:[{t(2)} TO {t(4)}]", {"e2", "e3", "e4"}),
        (f"timestamp:{{{t(2)} TO {t(4)}}}", {"e3"}),
        (f"timestamp>{t(5)}", {"e6"}),
        (f"timestamp:[* TO {t(0)}]", {"e0"}),
    ]


def test_every_kql_form_returns_exactly_its_rows_through_the_api(sluice):
    import json
    import urllib.parse
    import urllib.request
    from datetime import datetime, timedelta, timezone

    from tests.support import post, wait_for

    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)

    def t(i: int) -> str:
        return (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")

    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    logs = [{"timestamp": t(i), "level": level, "service": service, "message": message,
             "attributes": {"id": rid, **attributes}}
            for i, (rid, level, service, message, attributes) in enumerate(FORM_ROWS)]
    assert post(sluice.url("/v1/logs/ingest"), {"logs": logs}, auth)[0] == 202

    def search(body: dict) -> tuple[int, dict]:
        status, payload, _ = post(sluice.url("/v1/logs/query"), {"from": "-2h", **body}, auth)
        return status, payload

    def ids(payload: dict) -> list[str]:
        return [r["attributes"]["id"] for r in payload["logs"]]

    wait_for(lambda: len(ids(search({})[1])) == len(FORM_ROWS), 60, what="the rows to be searchable")
    for text, expected in _forms(t):
        status, payload = search({"filter": text, "limit": 1000})
        assert status == 200, (text, payload)
        assert set(ids(payload)) == expected and len(ids(payload)) == len(expected), text

    # The same through GET's query string.
    url = sluice.url("/v1/logs/query?" + urllib.parse.urlencode({"filter": "level:(ERROR OR WARN) -service:api",
                                                                 "from": "-2h", "sort": "asc", "page": "1"}))
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth)) as resp:
        answer = json.loads(resp.read())
    assert ids(answer) == ["e0", "e1", "e6"] and answer["meta"]["ignored"] == ["page"]

    newest_first = [r[0] for r in reversed(FORM_ROWS)]
    # Offset paging, newest first and oldest first.
    for sort, order in (("desc", newest_first), ("asc", newest_first[::-1])):
        pages = [ids(search({"sort": sort, "limit": 3, "offset": offset})[1]) for offset in (0, 3, 6)]
        assert pages == [order[0:3], order[3:6], order[6:]], sort
        # The cursor walks the same order, each row once.
        seen, cursor = [], None
        while True:
            status, payload = search({"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})})
            assert status == 200, payload
            seen += ids(payload)
            cursor = payload["meta"]["next_cursor"]
            if not payload["meta"]["has_more"]:
                break
        assert seen == order, sort
    first = search({"sort": "asc", "limit": 2})[1]
    status, payload = search({"sort": "desc", "cursor": first["meta"]["next_cursor"]})
    assert (status, payload["error"]["code"]) == (400, "invalid_cursor")

    # Fields of other services' clients are ignored and named; paging errors name their bound.
    status, payload = search({"filter": "level:ERROR", "page": 2, "size": 10, "sort": "asc"})
    assert status == 200 and ids(payload) == ["e0", "e5"] and payload["meta"]["ignored"] == ["page", "size"]
    assert search({})[1]["meta"]["ignored"] == []
    status, payload = search({"offset": 9_001, "limit": 1000})
    assert (status, payload["error"]["code"], payload["error"]["details"]) == (400, "invalid_offset",
                                                                               "max_offset_rows=10000")
    status, payload = search({"offset": 1, "cursor": first["meta"]["next_cursor"], "sort": "asc"})
    assert (status, payload["error"]["code"]) == (400, "invalid_paging")
    for text, position in (("level:(ERROR OR", 15), ("status_code:[1 TO 2", 19), ("timestamp:[now TO soon]", 10)):
        status, payload = search({"filter": text})
        assert (status, payload["error"]["code"]) == (400, "invalid_filter"), text
        assert payload["error"]["message"].endswith(f"at position {position}"), payload
