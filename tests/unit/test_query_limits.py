"""Filter caps hold before anything compiles, and the storage's refusals become 4xx answers."""

from __future__ import annotations

import pytest

from sluice.query import search
from sluice.query.backend import refusal
from sluice.query.errors import QueryError
from sluice.query.limits import FilterLimits, count_terms
from sluice.query.search import SearchRequest, build, compile_filter
from tests.unit.test_gateway import make_gateway

LIMITS = FilterLimits(max_bytes=4096, max_terms=100)
NOW = 1_800_000_000_000_000_000


@pytest.fixture
def no_compile(monkeypatch):
    """Any parse or SQL generation fails the test: the caps must answer first."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the filter was compiled")
    monkeypatch.setattr(search, "parse", forbidden)
    monkeypatch.setattr(search, "where", forbidden)


@pytest.mark.parametrize("text, code, details", [
    ("a " * 499_000, "filter_too_long", "query_max_filter_bytes=4096"),
    ("é" * 2049, "filter_too_long", "query_max_filter_bytes=4096"),  # 4,098 bytes in 2,049 characters
    ("a " * 101, "filter_too_many_terms", "query_max_terms=100"),
    ("service:x " * 101, "filter_too_many_terms", "query_max_terms=100"),
])
def test_filters_over_a_cap_are_400s_naming_it_before_any_compile(no_compile, text, code, details):
    for attempt in (lambda: compile_filter(text, limits=LIMITS),
                    lambda: build(SearchRequest(filter=text), "acme", "sluice", NOW, limits=LIMITS)):
        with pytest.raises(QueryError) as info:
            attempt()
        assert (info.value.status, info.value.code, info.value.details) == (400, code, details)


def test_filters_within_the_caps_compile():
    assert count_terms("service:api AND level>=3 \"two words\" NOT x") == 4
    condition, params = compile_filter("x " * 100, limits=LIMITS)
    assert len(params) == 100 and condition.count("hasAllTokens") == 100
    compile_filter("é" * 2048, limits=LIMITS)


async def test_the_query_api_answers_a_megabyte_filter_400_without_compiling(no_compile):
    client, (key,), _ = make_gateway(query_max_filter_bytes=8192)
    body = {"filter": "a " * ((1 << 20) // 2 - 64)}
    r = await client.post("/v1/logs/query", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "filter_too_long"
    assert r.json()["error"]["details"] == "query_max_filter_bytes=8192"
    r = await client.get("/v1/logs/tail", params={"filter": "a " * 101}, headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "filter_too_many_terms")


REFUSED = "The storage engine refused the query: "


@pytest.mark.parametrize("status, message, expected", [
    (400, "Code: 62. DB::Exception: Max query size exceeded: 'x'. (SYNTAX_ERROR)\nStack trace: ...",
     (400, "query_refused", REFUSED + "Code: 62. DB::Exception: Max query size exceeded: 'x'. (SYNTAX_ERROR)")),
    (400, "system.users is not readable here", (400, "query_refused", REFUSED + "system.users is not readable here")),
    (400, "Code: 159. DB::Exception: Timeout exceeded: TIMEOUT_EXCEEDED", (408, "query_timeout", None)),
    (400, "Code: 158. TOO_MANY_ROWS", (422, "query_too_broad", None)),
    (413, "", (400, "query_refused", REFUSED + "HTTP 413")),
    (401, "a valid internal token is required", (503, "storage_unauthorized", None)),
])
def test_worker_refusals_are_answers_with_their_reason(status, message, expected):
    error = refusal(status, message)
    assert (error.status, error.code) == expected[:2]
    if expected[2]:
        assert error.message == expected[2]


def test_a_refusal_is_trimmed_and_never_shows_the_internal_token():
    error = refusal(400, "bad token s3cr3t-token " + "x" * 1000, secret="s3cr3t-token")
    assert "s3cr3t-token" not in error.message and "***" in error.message
    assert len(error.message) < 400
