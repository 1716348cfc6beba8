"""The parser and compiler meet any soup of the language's own pieces with a tree or their own error.

Random characters (tests/unit/test_properties.py) rarely form a range or a
list; soups of keywords, brackets, '-' and values reach those paths every time.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.query import kql
from sluice.query.errors import QueryError
from sluice.query.limits import FilterLimits
from sluice.query.search import compile_filter
from sluice.query.sql import ACCESS, LOGS

PIECES = st.sampled_from([
    "[", "]", "{", "}", "(", ")", "-", ":", ">", ">=", "<", "*", "TO", "to", "AND", "OR", "NOT", " ", '"', '\\"',
    "level", "service", "status", "attributes.user", "timestamp", "severity_number", "ip", "message",
    "a", "pay*", "1", "-5", "2.5", "now", "-1h", "2024-03-15T10:22:01Z", "x y",
])
SOUP = st.lists(PIECES, max_size=24).map("".join) | st.lists(PIECES, max_size=24).map(" ".join)
EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXAMPLES
@given(SOUP)
def test_any_soup_parses_or_fails_with_a_positioned_kql_error(text):
    try:
        kql.parse(text)
    except kql.KqlError as exc:
        assert 0 <= exc.position <= len(text) and exc.message


@EXAMPLES
@given(SOUP, st.sampled_from([LOGS, ACCESS]))
def test_any_soup_compiles_or_is_a_400_and_values_stay_parameters(text, fields):
    try:
        condition, params = compile_filter(text, fields, FilterLimits(8192, 100))
    except QueryError as exc:
        assert exc.status == 400 and exc.code in ("invalid_filter", "filter_too_many_terms"), exc.code
        return
    # No literal in the SQL but the empty string: every value travels as a parameter.
    assert "'" not in condition.replace("''", "") and '"' not in condition
    for name, bound in params.items():
        assert f"{{{name}:" in condition
        if isinstance(bound, str) and set(bound) & set("'\"\\*[]{}-"):
            assert bound not in condition
