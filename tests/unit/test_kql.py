import pytest

from sluice.query.kql import KqlError, parse
from sluice.query.search import QueryError, SearchRequest, build
from sluice.query.sql import Compiled, where
from sluice.query.times import instant_ns

NOW = 1_800_000_000_000_000_000
LA = "LogAttributes[{p0:String}]"

# (filter, SQL, parameters)
CASES = [
    ("service:api", "ServiceName = {p0:String}", ["api"]),
    ("source:CI/CD", "ServiceName = {p0:String}", ["CI/CD"]),
    ("node:web-1", "ServiceName = {p0:String}", ["web-1"]),
    ("level:error", "upper(SeverityText) = {p0:String}", ["ERROR"]),
    ("severity:Warning", "upper(SeverityText) = {p0:String}", ["WARNING"]),
    ("level:E*", "upper(SeverityText) LIKE {p0:String}", ["E%"]),
    ("service:pay*", "ServiceName LIKE {p0:String}", ["pay%"]),
    ("service:*pay*", "ServiceName LIKE {p0:String}", ["%pay%"]),
    ("service:*", "ServiceName != ''", []),
    ('service:"pay*"', "ServiceName = {p0:String}", ["pay*"]),
    ("service:100%_x", "ServiceName = {p0:String}", ["100%_x"]),
    ("service:100%_x*", "ServiceName LIKE {p0:String}", ["100\\%\\_x%"]),
    ("trace_id:abc", "TraceId = {p0:String}", ["abc"]),
    ("span_id:def", "SpanId = {p0:String}", ["def"]),
    ("request_id:req_1", "RequestId = {p0:String}", ["req_1"]),
    ("dialect:logflux", "Source = {p0:String}", ["logflux"]),
    ("env:staging", "Environment = {p0:String}", ["staging"]),
    ("severity_number:17", "SeverityNumber = {p0:Float64}", [17.0]),
    ("severity_number>=17", "SeverityNumber >= {p0:Float64}", [17.0]),
    ("metadata.user_id:123", f"{LA} = {{p1:String}}", ["user_id", "123"]),
    ("properties.orderId:\"ORD-9912\"", f"{LA} = {{p1:String}}", ["orderId", "ORD-9912"]),
    ("attributes.http.status:500", f"{LA} = {{p1:String}}", ["http.status", "500"]),
    ("custom_field:x", f"{LA} = {{p1:String}}", ["custom_field", "x"]),
    ("metadata.user_id:*", "mapContains(LogAttributes, {p0:String})", ["user_id"]),
    ("host:h1", "ResourceAttributes[{p0:String}] = {p1:String}", ["host.name", "h1"]),
    ("project_id:org-xyz", "ResourceAttributes[{p0:String}] = {p1:String}", ["project_id", "org-xyz"]),
    ("resource.k8s.pod:p1", "ResourceAttributes[{p0:String}] = {p1:String}", ["k8s.pod", "p1"]),
    ("status_code>=500", f"ifNull(toFloat64OrNull({LA}) >= {{p1:Float64}}, 0)", ["status_code", 500.0]),
    ("duration_ms>250.5", f"ifNull(toFloat64OrNull({LA}) > {{p1:Float64}}, 0)", ["duration_ms", 250.5]),
    ("duration_ms<=-1", f"ifNull(toFloat64OrNull({LA}) <= {{p1:Float64}}, 0)", ["duration_ms", -1.0]),
    ("version<b", f"{LA} < {{p1:String}}", ["version", "b"]),
    ("timestamp>-1h", "Timestamp > fromUnixTimestamp64Nano({p0:Int64})", [NOW - 3600 * 10**9]),
    ("@timestamp<=now", "Timestamp <= fromUnixTimestamp64Nano({p0:Int64})", [NOW]),
    ("timeout", "hasAllTokens(lower(Body), {p0:String})", ["timeout"]),  # one token: the index proves it
    ("Timeout", "hasAllTokens(lower(Body), {p0:String})", ["timeout"]),
    ('"Connection Refused"', "(hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0)",
     ["connection refused", "Connection Refused"]),
    ("message:timeout", "hasAllTokens(lower(Body), {p0:String})", ["timeout"]),
    ('"rid=42"', "(hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0)", ["rid 42", "rid=42"]),
    ('"rid=4321 failed"', "(hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0)",
     ["4321 failed", "rid=4321 failed"]),  # the index is given the longer words, the check keeps all
    ("failed!", "(hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0)", ["failed", "failed!"]),
    ("time*", "Body ILIKE {p0:String}", ["time%"]),
    ("msg:*fail*", "Body ILIKE {p0:String}", ["%fail%"]),
    ('"say \\"hi\\""', "(hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0)",
     ["say hi", 'say "hi"']),
    ("a:1 AND b:2", f"({LA} = {{p1:String}} AND LogAttributes[{{p2:String}}] = {{p3:String}})", ["a", "1", "b", "2"]),
    ("a:1 b:2", f"({LA} = {{p1:String}} AND LogAttributes[{{p2:String}}] = {{p3:String}})", ["a", "1", "b", "2"]),
    ("a:1 or b:2", f"({LA} = {{p1:String}} OR LogAttributes[{{p2:String}}] = {{p3:String}})", ["a", "1", "b", "2"]),
    ("NOT a:1", f"NOT ({LA} = {{p1:String}})", ["a", "1"]),
    ("not not a:1", f"NOT (NOT ({LA} = {{p1:String}}))", ["a", "1"]),
    ("a:1 OR b:2 AND c:3",
     f"({LA} = {{p1:String}} OR (LogAttributes[{{p2:String}}] = {{p3:String}} AND LogAttributes[{{p4:String}}] = {{p5:String}}))",
     ["a", "1", "b", "2", "c", "3"]),
    ("(a:1 OR b:2) AND c:3",
     f"(({LA} = {{p1:String}} OR LogAttributes[{{p2:String}}] = {{p3:String}}) AND LogAttributes[{{p4:String}}] = {{p5:String}})",
     ["a", "1", "b", "2", "c", "3"]),
    ("NOT a:1 OR b:2", f"(NOT ({LA} = {{p1:String}}) OR LogAttributes[{{p2:String}}] = {{p3:String}})", ["a", "1", "b", "2"]),
    ('service:"a\' OR 1=1 --"', "ServiceName = {p0:String}", ["a' OR 1=1 --"]),
    ("service:Ünïcödé", "ServiceName = {p0:String}", ["Ünïcödé"]),
    ('"AND"', "hasAllTokens(lower(Body), {p0:String})", ["and"]),
]


@pytest.mark.parametrize("text, sql, params", CASES, ids=[c[0] for c in CASES])
def test_grammar_table(text, sql, params, monkeypatch):
    monkeypatch.setattr("time.time_ns", lambda: NOW)
    c = Compiled()
    assert where(parse(text), c) == sql
    assert list(c.params.values()) == params


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("text, message, position", [
    ("a AND", "expected a term or a quoted phrase or '(', found the end of the filter", 5),
    ("(a:1", "expected ')', found the end of the filter", 4),
    ("a:", "expected a term or a quoted phrase or '(' or '[' or '{', found the end of the filter", 2),
    ('msg:"open', "unterminated quoted phrase", 4),
    ("a:1 )", "expected the end, found ')'", 4),
    ("a = 1", "unexpected '='", 2),
    ("OR a", "expected a term or a quoted phrase or '(', found 'OR'", 0),
])
def test_syntax_errors_say_where_and_what(text, message, position):
    with pytest.raises(KqlError) as info:
        parse(text)
    assert (info.value.message, info.value.position) == (message, position)


def test_empty_filter_matches_everything():
    assert parse("   ") is None and where(None, Compiled()) == "1"


def test_relative_and_absolute_times():
    assert instant_ns("now", NOW) == NOW
    assert instant_ns("-15m", NOW) == NOW - 900 * 10**9
    assert instant_ns("-7d", NOW) == NOW - 7 * 86400 * 10**9
    assert instant_ns("1970-01-01T00:00:01Z", NOW) == 10**9
    with pytest.raises(ValueError, match="not a time"):
        instant_ns("yesterday", NOW)
    # Beyond an Int64 of nanoseconds the engine would wrap the parameter around: clamped instead.
    assert instant_ns("9999-01-01T00:00:00Z", NOW) == 2**63 - 1
    assert instant_ns("1000-01-01", NOW) == instant_ns("-9999999d", NOW) == -(2**63)
    assert instant_ns("2262-04-11T00:00:00Z", NOW) == 9_223_286_400 * 10**9


def test_search_request_is_always_tenant_scoped_and_validated():
    sql, params = build(SearchRequest(filter="tenant:other"), "acme", "sluice", NOW)
    assert sql.count("TenantId = {tenant:String}") == 1 and params["tenant"] == "acme"
    assert "TenantId = {p0:String}" in sql and params["p0"] == "other"  # can only narrow
    for bad, code in [(SearchRequest(limit=0), "invalid_limit"), (SearchRequest(limit=1001), "invalid_limit"),
                      (SearchRequest(from_="now", to="-1h"), "invalid_time_range"),
                      (SearchRequest(filter="a AND"), "invalid_filter"), (SearchRequest(cursor="!!"), "invalid_cursor")]:
        with pytest.raises(QueryError) as info:
            build(bad, "acme", "sluice", NOW)
        assert (info.value.status, info.value.code) == (400, code)


@pytest.mark.parametrize("text", ["(" * 5000 + "a" + ")" * 5000, "NOT " * 5000 + "a", "(" * 33 + "a" + ")" * 33])
def test_nesting_is_bounded_with_a_clear_error(text):
    with pytest.raises(KqlError, match="nests more than 32 levels"):
        parse(text)
    assert parse("(" * 31 + "NOT a" + ")" * 31) is not None  # 32 levels: allowed
