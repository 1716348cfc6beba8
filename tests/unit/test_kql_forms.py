"""The forms migrating LogTrace users write: value lists, ranges, '-' negation, values holding ':'.

Each form parses to the tree of the plain forms it stands for, compiles to the
expected SQL shape with every value a parameter, and fails with the position
and what was expected.
"""

from __future__ import annotations

import pytest

from sluice.query.errors import QueryError
from sluice.query.kql import And, Compare, KqlError, Match, Not, Or, Range, Text, parse
from sluice.query.limits import FilterLimits, count_terms
from sluice.query.search import compile_filter
from sluice.query.sql import Compiled, where
from sluice.query.times import instant_ns

NOW = 1_800_000_000_000_000_000
LA = "LogAttributes[{p0:String}]"


def number(op: str, param: str) -> str:
    """A map value compared as a number: false, not NULL, when it is none."""
    return f"ifNull(toFloat64OrNull({LA}) {op} {{{param}:Float64}}, 0)"


def m(field: str, value: str, quoted: bool = False) -> Match:
    return Match(field, value, quoted)


TREES = [
    ("level:(ERROR OR WARN)", Or((m("level", "ERROR"), m("level", "WARN")))),
    ('level:(ERROR or WARN OR "c d")', Or((m("level", "ERROR"), m("level", "WARN"), m("level", "c d", True)))),
    ("message:(timeout AND db)", And((m("message", "timeout"), m("message", "db")))),
    ("message:(timeout db)", And((m("message", "timeout"), m("message", "db")))),
    ("service:(api OR (pay* AND NOT pay-worker))",
     Or((m("service", "api"), And((m("service", "pay*"), Not(m("service", "pay-worker"))))))),
    ("x:(a -b)", And((m("x", "a"), Not(m("x", "b"))))),
    ("x:[1 TO 2]", Range("x", "1", "2", True, True)),
    ("x:{1 TO 2}", Range("x", "1", "2", False, False)),
    ("x:[1 TO 2}", Range("x", "1", "2", True, False)),
    ("x:[* TO 2]", Range("x", None, "2", True, True)),
    ("x:{1 to *}", Range("x", "1", None, False, False)),
    ('x:["*" TO "b c"]', Range("x", "*", "b c", True, True)),
    ("x:[-5 TO -1]", Range("x", "-5", "-1", True, True)),
    ("timestamp:[2024-03-15T10:22:01Z TO now]", Range("timestamp", "2024-03-15T10:22:01Z", "now", True, True)),
    ("x:([1 TO 2] OR 5)", Or((Range("x", "1", "2", True, True), m("x", "5")))),
    ("-level:info", Not(m("level", "info"))),
    ("-timeout", Not(Text("timeout", False))),
    ('-"connection refused"', Not(Text("connection refused", True))),
    ("a -(b OR c)", And((Text("a", False), Not(Or((Text("b", False), Text("c", False))))))),
    ("service:api -level:info", And((m("service", "api"), Not(m("level", "info"))))),
    ("NOT level:info", Not(m("level", "info"))),
    ("x:-1", m("x", "-1")),
    ("duration_ms>-1", Compare("duration_ms", ">", "-1")),
    ("node:web-1", m("node", "web-1")),
    ("timestamp>2024-03-15T10:22:01Z", Compare("timestamp", ">", "2024-03-15T10:22:01Z")),
    ("cache:user:42", m("cache", "user:42")),
    ("how to fix", And((Text("how", False), Text("to", False), Text("fix", False)))),
    ("service:pay*", m("service", "pay*")),
    ("metadata.user_id:*", m("metadata.user_id", "*")),
    ('service:"my api"', m("service", "my api", True)),
    ("(a:1 OR b:2) c:3", And((Or((m("a", "1"), m("b", "2"))), m("c", "3")))),
]


@pytest.mark.parametrize("text, tree", TREES, ids=[t for t, _ in TREES])
def test_each_form_parses_to_its_tree(text, tree):
    assert parse(text) == tree


SQL = [
    ("level:(ERROR OR WARN)", "(upper(SeverityText) = {p0:String} OR upper(SeverityText) = {p1:String})",
     ["ERROR", "WARN"]),
    ("-level:info", "NOT (upper(SeverityText) = {p0:String})", ["INFO"]),
    ("severity_number:[9 TO 17]", "(SeverityNumber >= {p0:Float64} AND SeverityNumber <= {p1:Float64})", [9.0, 17.0]),
    ("severity_number:{9 TO *}", "(SeverityNumber > {p0:Float64})", [9.0]),
    ("status_code:[400 TO 500}", f"({number('>=', 'p1')} AND {number('<', 'p2')})",
     ["status_code", 400.0, 500.0]),
    ("version:[a TO c]", f"({LA} >= {{p1:String}} AND {LA} <= {{p2:String}})", ["version", "a", "c"]),
    ("service:{a TO *]", "(ServiceName > {p0:String})", ["a"]),
    ("metadata.user:[* TO *]", "mapContains(LogAttributes, {p0:String})", ["user"]),
    ("timestamp:[1970-01-01T00:00:01Z TO -1h]",
     "(Timestamp >= fromUnixTimestamp64Nano({p0:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({p1:Int64}))",
     [10**9, NOW - 3600 * 10**9]),
    ("timestamp:{1970-01-01T00:00:01Z TO *}", "(Timestamp > fromUnixTimestamp64Nano({p0:Int64}))", [10**9]),
    ("timestamp>1970-01-01T00:00:02+00:00", "Timestamp > fromUnixTimestamp64Nano({p0:Int64})", [2 * 10**9]),
    ("duration_ms>-1.5", number(">", "p1"), ["duration_ms", -1.5]),
    ("message:(timeout AND db)",
     "(hasAllTokens(lower(Body), {p0:String}) AND hasAllTokens(lower(Body), {p1:String}))",
     ["timeout", "db"]),
    ("-timeout", "NOT (hasAllTokens(lower(Body), {p0:String}))", ["timeout"]),
    ('-"login ok"', "NOT ((hasAllTokens(lower(Body), {p0:String}) AND positionCaseInsensitiveUTF8(Body, {p1:String}) > 0))",
     ["login", "login ok"]),
    ("service:(pay* OR api)", "(ServiceName LIKE {p0:String} OR ServiceName = {p1:String})", ["pay%", "api"]),
    ("cache:user:42", f"{LA} = {{p1:String}}", ["cache", "user:42"]),
    ("status_code:[400 TO 500] -service:api",
     f"(({number('>=', 'p1')} AND {number('<=', 'p2')}) AND NOT (ServiceName = {{p3:String}}))",
     ["status_code", 400.0, 500.0, "api"]),
]


@pytest.mark.parametrize("text, sql, params", SQL, ids=[t for t, _, _ in SQL])
def test_each_form_compiles_to_parameterized_sql(text, sql, params, monkeypatch):
    monkeypatch.setattr("time.time_ns", lambda: NOW)
    c = Compiled()
    assert where(parse(text), c) == sql
    assert list(c.params.values()) == params


@pytest.mark.parametrize("text, message, position", [
    ("x:[1 TO", "expected a term or a quoted phrase, found the end of the filter", 7),
    ("x:[1 2]", "expected 'TO', found '2'", 5),
    ("x:[1 TO 2)", "expected ']' or '}', found ')'", 9),
    ("x:[1 TO 2", "expected ']' or '}', found the end of the filter", 9),
    ("x:[TO 2]", "expected a term or a quoted phrase, found 'TO'", 3),
    ("x:[a [", "unexpected '[' inside a range", 5),
    ("x:{a TO b}}", "unexpected '}'", 10),
    ("x:(a OR)", "expected a term or a quoted phrase or '(' or '[' or '{', found ')'", 7),
    ("x:(a OR b", "expected ')', found the end of the filter", 9),
    ("x:()", "expected a term or a quoted phrase or '(' or '[' or '{', found ')'", 3),
    ("[1 TO 2]", "expected a term or a quoted phrase or '(', found '['", 0),
    ("a ]", "unexpected ']'", 2),
])
def test_malformed_lists_and_ranges_name_the_position_and_what_was_expected(text, message, position):
    with pytest.raises(KqlError) as info:
        parse(text)
    assert (info.value.message, info.value.position) == (message, position)
    assert str(info.value).endswith(f"at position {position}")


@pytest.mark.parametrize("text, message, position", [
    ("service:api severity_number:[a TO 5]", "the range of severity_number mixes a number and a string", 28),
    ("level:x severity_number:[a TO b]", "severity_number >= needs a number, not 'a'", 24),
    ("a:1 timestamp:[yesterday TO now]", "'yesterday' is not a time", 14),
    ("a:1 timestamp>yesterday", "'yesterday' is not a time", 4),
    ("a:1 timestamp:yesterday", "'yesterday' is not a time", 14),
])
def test_values_the_compiler_refuses_name_their_position(text, message, position):
    with pytest.raises(QueryError) as info:
        compile_filter(text)
    assert (info.value.status, info.value.code) == (400, "invalid_filter")
    assert message in info.value.message and info.value.message.endswith(f"at position {position}")


def test_list_members_and_range_ends_count_as_terms():
    assert count_terms("level:(ERROR OR WARN OR \"c d\")") == 3
    assert count_terms("x:[1 TO 2]") == 2 and count_terms("x:{* TO 2}") == 2
    assert count_terms("-level:info NOT x") == 2
    limits = FilterLimits(max_bytes=8192, max_terms=10)
    limits.check("level:(" + " OR ".join("abcdefghij") + ")")  # 10 members: allowed
    with pytest.raises(QueryError) as info:
        limits.check("level:(" + " OR ".join("abcdefghijk") + ")")
    assert info.value.code == "filter_too_many_terms"
    with pytest.raises(QueryError) as info:
        limits.check(" ".join(f"x:[{i} TO {i + 1}]" for i in range(6)))  # 12 range ends
    assert info.value.code == "filter_too_many_terms"


def test_nested_value_lists_count_against_the_depth_limit():
    with pytest.raises(KqlError, match="nests more than 32 levels"):
        parse("x:" + "(" * 33 + "a" + ")" * 33)
    assert parse("x:" + "(" * 32 + "a" + ")" * 32) == m("x", "a")


def test_times_in_ranges_are_instants():
    c = Compiled()
    where(parse("timestamp:[2024-03-15T10:22:01Z TO 2024-03-15T10:22:02.5+00:00]"), c)
    assert list(c.params.values()) == [instant_ns("2024-03-15T10:22:01Z"), instant_ns("2024-03-15T10:22:02.5Z")]
