"""Stats requests to SQL: every value a parameter, tenant-scoped, bounded, and bad inputs named 400s."""

from __future__ import annotations

import pytest

from gateway.errors import ApiError
from gateway.query import parse_stats
from sluice.query.errors import QueryError
from sluice.query.limits import FilterLimits
from sluice.query.stats import MAX_BUCKETS, MAX_TOP, StatsRequest, answer, interval_ns, plan
from sluice.search_cli import render_stats

NOW = 1_800_000_000_000_000_000  # a multiple of a minute and of an hour, in ns
HOUR = 3_600_000_000_000


def _plan(**fields):
    return plan(StatsRequest(**fields), "acme", "sluice", NOW, "production", FilterLimits(8192, 100))


def test_values_are_parameters_and_the_scope_is_the_tenant_and_environment():
    p = _plan(filter="service:\"x' OR 1=1 --\" failed", group_by=["metadata.user'--", "level"], interval="1m",
              from_="-1h")
    for sql, params in (p.groups, p.histogram):
        assert "OR 1=1" not in sql and "user'" not in sql
        assert "TenantId = {tenant:String} AND Environment = {environment:String}" in sql
        assert params["tenant"] == "acme" and params["environment"] == "production"
    groups_sql, groups_params = p.groups
    assert "upper(SeverityText)" in groups_sql and "user'--" in groups_params.values()
    assert groups_params["top"] == 11  # one more than top: whether more combinations exist
    assert "user'--" not in p.histogram[1].values()  # only the statement that groups binds the group keys


def test_histogram_buckets_are_aligned_and_cover_from_to_to():
    p = _plan(from_="-1h", to="now", interval="1m")
    assert p.step_ns == 60_000_000_000 and (p.last_bucket - p.first_bucket + 1) == 61
    p = _plan(from_="2027-01-15T08:00:00Z", to="2027-01-15T08:59:59.999Z", interval="1m")
    assert p.last_bucket - p.first_bucket + 1 == 60 and p.count is None  # the count is the histogram's sum


@pytest.mark.parametrize("text, ns", [("30s", 30_000_000_000), ("1m", 60_000_000_000), ("250ms", 250_000_000),
                                      ("2h", 2 * HOUR), ("1d", 24 * HOUR), (" 5M ", 300_000_000_000)])
def test_intervals(text, ns):
    assert interval_ns(text) == ns


@pytest.mark.parametrize("fields, code", [
    ({"interval": "0s"}, "invalid_interval"),
    ({"interval": "1 minute"}, "invalid_interval"),
    ({"interval": "-1m"}, "invalid_interval"),
    ({"interval": "1ms", "from_": "-7d"}, "too_many_buckets"),
    ({"group_by": ["a", "b", "c", "d", "e"]}, "invalid_group_by"),
    ({"group_by": ["timestamp"]}, "invalid_group_by"),
    ({"group_by": ["message"]}, "invalid_group_by"),
    ({"group_by": [" "]}, "invalid_group_by"),
    ({"top": 0}, "invalid_top"),
    ({"top": MAX_TOP + 1}, "invalid_top"),
    ({"table": "metrics"}, "invalid_table"),
    ({"from_": "yesterday"}, "invalid_time"),
    ({"from_": "now", "to": "-1h"}, "invalid_time_range"),
    ({"filter": "level:(ERROR OR"}, "invalid_filter"),
    ({"filter": "a " * 101}, "filter_too_many_terms"),
])
def test_bad_requests_are_400s_with_a_code(fields, code):
    with pytest.raises(QueryError) as info:
        _plan(**fields)
    assert (info.value.status, info.value.code) == (400, code)
    if code == "too_many_buckets":
        assert info.value.details == f"max_buckets={MAX_BUCKETS}"


def test_answers_fill_empty_buckets_sum_the_count_and_cut_groups_at_top():
    p = _plan(from_="2027-01-15T08:00:00Z", to="2027-01-15T08:04:59Z", interval="1m", group_by=["service"], top=2)
    first = p.first_bucket

    def run(sql: str, params: dict) -> list[list]:
        if "GROUP BY b" in sql:
            return [[first, 3], [first + 3, 4]]
        return [["api", 5], ["db", 1], ["web", 1]]

    out = answer(p, run)
    assert [b["count"] for b in out["histogram"]] == [3, 0, 0, 4, 0]
    assert out["histogram"][0]["start"] == "2027-01-15T08:00:00.000000000Z"
    assert out["count"] == 7
    assert out["groups"] == [{"values": {"service": "api"}, "count": 5}, {"values": {"service": "db"}, "count": 1}]
    assert out["groups_truncated"] is True
    text = render_stats(out, "table")
    assert text.splitlines()[:3] == ["count  7", "service=api  5", "service=db  1"]


def test_a_count_alone_is_one_statement():
    p = _plan(filter="failed")
    assert p.groups is None and p.histogram is None and p.count[0].startswith("SELECT count() FROM sluice.logs")
    assert answer(p, lambda sql, params: [[42]]) == {"count": 42}
    assert answer(_plan(count=False, group_by=["service"]), lambda sql, params: [["a", 1]])["groups"] == [
        {"values": {"service": "a"}, "count": 1}]


def test_unknown_fields_are_ignored_and_named_and_wrong_types_are_400():
    parsed = parse_stats(b'{"filter":"x","group_by":["service"],"size":3,"aggs":{}}')
    assert parsed.request == StatsRequest(filter="x", group_by=["service"]) and parsed.ignored == ["aggs", "size"]
    for body in (b'{"top":"5"}', b'{"group_by":"service"}', b'{"count":1}', b"[1]", b"{"):
        with pytest.raises(ApiError) as info:
            parse_stats(body)
        assert (info.value.status, info.value.code) == (400, "invalid_request"), body


async def test_stats_share_the_query_quota_and_answer_through_the_gateway(monkeypatch):
    from tests.unit.test_gateway import make_gateway
    client, (key,), _ = make_gateway(standard_query_per_hour=3)
    seen = []

    def rows_sync(sql, params):
        seen.append(params)
        return [[7]] if sql.startswith("SELECT count()") else []

    monkeypatch.setattr(client._transport.app.query_backend, "rows_sync", rows_sync)
    auth = {"Authorization": f"Bearer {key}"}
    r = await client.post("/v1/logs/stats", json={"filter": "failed", "size": 1}, headers=auth)
    assert r.status_code == 200 and r.json()["count"] == 7 and r.json()["meta"]["ignored"] == ["size"]
    assert seen[-1]["tenant"] == "acme"
    assert (await client.post("/v1/logs/query", json={}, headers=auth)).status_code == 200
    r = await client.post("/v1/logs/stats", json={"interval": "1 minute"}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_interval")
    r = await client.post("/v1/logs/stats", json={}, headers=auth)  # the fourth request of the hour: over 3
    assert r.status_code == 429 and r.headers["retry-after"]
    assert (await client.get("/v1/logs/stats", headers=auth)).status_code == 405
