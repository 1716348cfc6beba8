"""The layout benchmark's tables and query spellings: each variant changes what it names, and only that."""

from __future__ import annotations

from bench.search_layouts import VARIANTS, ddl
from bench.search_sql import _text


def test_each_variant_table_carries_its_changes_and_production_is_the_declared_table():
    by_name = {v.name: v for v in VARIANTS}
    production = ddl(by_name["production"], "db")
    assert "ORDER BY (TenantId, Environment, Timestamp, Seq)" in production and "bitpacking" in production
    today = ddl(by_name["before"], "db")
    assert "ORDER BY (TenantId, toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)" in today
    assert "INDEX idx_lower_body lower(Body) TYPE text(tokenizer = 'splitByNonAlpha')" in today
    assert ddl(by_name["no_body_index"], "db").count("idx_lower_body") == 0
    assert "TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1" in ddl(by_name["tokenbf"], "db")
    assert "Body String CODEC(ZSTD(9))" in ddl(by_name["body_zstd9"], "db")
    assert "Timestamp DateTime64(9) CODEC(DoubleDelta, ZSTD(1))" in ddl(by_name["doubledelta_times"], "db")
    assert "RequestId LowCardinality(String) CODEC(ZSTD(1))" in ddl(by_name["lowcard_request_id"], "db")
    for v in VARIANTS:
        text = ddl(v, "db")
        assert text.count("Seq UInt64") == 1 and ",\n)" not in text and ",," not in text, v.name
        assert "ORDER BY (TenantId, Environment, " in text or v.name == "before", v.name


def test_body_checks_read_the_body_only_where_the_index_cannot_prove_the_match():
    params: dict = {}
    assert "positionCaseInsensitiveUTF8" in _text("failed", "check", params)
    assert _text("failed", "proven", params).startswith("hasAllTokens(lower(Body)")
    assert "positionCaseInsensitiveUTF8" not in _text("failed", "proven", params)
    assert "positionCaseInsensitiveUTF8" in _text("authentication failure", "proven", params)
    assert _text("rid=42", "tokenbf", params).count("hasToken") == 2
    assert "LIKE" in _text("Failed", "ngram", params) and "%failed%" in params.values()
    assert "Failed" not in "".join(k for k in params)  # values are parameters, never SQL text
