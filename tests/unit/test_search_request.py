"""Search requests as other services' clients send them: unknown fields ignored and named, offset paging, sort."""

from __future__ import annotations

import pytest

from gateway.errors import ApiError
from gateway.query import parse_request
from sluice.query.errors import QueryError
from sluice.query.search import MAX_OFFSET_ROWS, SearchRequest, build, page
from tests.unit.test_gateway import make_gateway

NOW = 1_800_000_000_000_000_000


def test_unknown_post_fields_are_ignored_and_named():
    parsed = parse_request("POST", b"", b'{"filter":"level:ERROR","page":2,"size":50,"sort":"asc","x":{"deep":[1]}}')
    assert parsed.request == SearchRequest(filter="level:ERROR", sort="asc")
    assert parsed.ignored == ["page", "size", "x"]
    assert parse_request("POST", b"", b"").ignored == []


def test_unknown_query_string_fields_are_ignored_and_named():
    parsed = parse_request("GET", b"filter=a&page=3&offset=20&limit=10&sort=asc&from=-1h", b"")
    assert parsed.request == SearchRequest(filter="a", offset=20, limit=10, sort="asc", from_="-1h")
    assert parsed.ignored == ["page"]


def test_the_ignored_list_is_bounded_because_it_echoes_input():
    names = {f"field_{i:03d}" + "x" * (i % 3) * 40: 1 for i in range(100)}
    import json
    ignored = parse_request("POST", b"", json.dumps(names).encode()).ignored
    assert len(ignored) == 32 and all(len(n) <= 64 for n in ignored)
    assert ignored[0] == "field_000" and ignored[2].startswith("field_002x") and ignored[2].endswith("…")


@pytest.mark.parametrize("method, query, body, mentions", [
    ("POST", b"", b'{"limit":"50"}', "limit"),
    ("POST", b"", b'{"sort":"newest"}', "sort"),
    ("POST", b"", b'{"offset":1.5}', "offset"),
    ("POST", b"", b"[1]", "object"),
    ("POST", b"", b"{", "truncated"),
    ("GET", b"offset=ten", b"", "ten"),
    ("GET", b"sort=up", b"", "sort"),
])
def test_a_known_field_of_the_wrong_kind_is_a_400_naming_it(method, query, body, mentions):
    with pytest.raises(ApiError) as info:
        parse_request(method, query, body)
    assert info.value.status == 400 and info.value.code == "invalid_request"
    assert mentions in info.value.message


@pytest.mark.parametrize("request_, code, details", [
    (SearchRequest(offset=-1), "invalid_offset", f"max_offset_rows={MAX_OFFSET_ROWS}"),
    (SearchRequest(offset=9_001, limit=1000), "invalid_offset", f"max_offset_rows={MAX_OFFSET_ROWS}"),
    (SearchRequest(offset=10_000, limit=1), "invalid_offset", f"max_offset_rows={MAX_OFFSET_ROWS}"),
    (SearchRequest(offset=5, cursor="WzEsMl0"), "invalid_paging", ""),
])
def test_offset_paging_is_bounded_and_exclusive_of_the_cursor(request_, code, details):
    with pytest.raises(QueryError) as info:
        build(request_, "acme", "sluice", NOW)
    assert (info.value.status, info.value.code, info.value.details) == (400, code, details)
    if code == "invalid_offset":
        assert "10000" in info.value.message


def test_offset_and_sort_shape_the_sql():
    sql, params = build(SearchRequest(offset=9_000, limit=1000), "acme", "sluice", NOW)
    assert sql.endswith("ORDER BY Timestamp DESC, Seq DESC LIMIT {limit:UInt32} OFFSET {offset:UInt32}")
    assert (params["offset"], params["limit"]) == (9_000, 1001)
    sql, params = build(SearchRequest(sort="asc"), "acme", "sluice", NOW)
    assert sql.endswith("ORDER BY Timestamp ASC, Seq ASC LIMIT {limit:UInt32}") and "offset" not in params


@pytest.mark.parametrize("sort, beyond", [("desc", "<"), ("asc", ">")])
def test_the_cursor_continues_in_its_own_direction(sort, beyond):
    rows = [[NOW + i, "INFO", 9, "s", "m", "", "", f"r{i}", "logtrace", "production", {}, {}, 1000 + i]
            for i in range(3)]
    records, more, cursor = page(rows, 2, "logs", sort)
    assert more and [r["request_id"] for r in records] == ["r0", "r1"]
    sql, params = build(SearchRequest(sort=sort, cursor=cursor), "acme", "sluice", NOW)
    at = "fromUnixTimestamp64Nano({cts:Int64})"
    assert f"AND Timestamp {beyond}= {at} AND (Timestamp {beyond} {at} OR Seq {beyond} {{ckey:UInt64}})" in sql
    assert (params["cts"], params["ckey"]) == (NOW + 1, 1001)
    other = "asc" if sort == "desc" else "desc"
    with pytest.raises(QueryError) as info:
        build(SearchRequest(sort=other, cursor=cursor), "acme", "sluice", NOW)
    assert info.value.code == "invalid_cursor" and f"sort={sort}" in info.value.message


@pytest.mark.parametrize("cursor", ["!!", "W10", "WzEsMiwzXQ", "WzEsLTJd", "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LDFd"])
def test_cursors_this_api_never_returned_are_400s(cursor):
    with pytest.raises(QueryError) as info:
        build(SearchRequest(cursor=cursor), "acme", "sluice", NOW)
    assert (info.value.status, info.value.code) == (400, "invalid_cursor")


async def test_the_api_answers_with_the_ignored_fields_in_meta(monkeypatch):
    client, (key,), _ = make_gateway()
    seen = []

    def rows_sync(sql, params):
        seen.append((sql, params))
        return []

    app = client._transport.app
    monkeypatch.setattr(app.query_backend, "rows_sync", rows_sync)
    auth = {"Authorization": f"Bearer {key}"}
    r = await client.post("/v1/logs/query", json={"filter": "level:(ERROR OR WARN)", "page": 2, "offset": 10},
                          headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["ignored"] == ["page"] and r.json()["logs"] == []
    assert seen[-1][1]["offset"] == 10
    r = await client.get("/v1/logs/query", params={"filter": "-level:info", "sort": "asc", "pageSize": "5"},
                         headers=auth)
    assert r.status_code == 200 and r.json()["meta"]["ignored"] == ["pageSize"]
    assert "ORDER BY Timestamp ASC" in seen[-1][0]
    r = await client.post("/v1/logs/query", json={"offset": 9_950, "limit": 100}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_offset")
