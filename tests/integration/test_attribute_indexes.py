"""Migration 10 (the attribute key blooms dropped) against the real engine: the table keeps the trace, value
and body indexes, the migration runs again and back, attribute searches find the same rows in a part written
with the key blooms and in one written without them, and the layout benchmark's production table is this one."""

from __future__ import annotations

import re
import time

import pyarrow as pa
import pytest

from bench.attribute_indexes import tables
from bench.search_layouts import VARIANTS, ddl, granules
from schemas.clickhouse import MIGRATIONS
from sluice.query.search import LIMITS, SearchRequest, build

pytestmark = pytest.mark.integration

(KEYS,) = [m for m in MIGRATIONS if m.name == "attribute_key_blooms"]
KEPT = ["idx_trace_id", "idx_log_attr_value", "idx_lower_body"]
BEFORE = ["idx_trace_id", "idx_res_attr_key", "idx_log_attr_key", "idx_log_attr_value", "idx_lower_body"]


def _apply(storage, statements) -> None:
    for statement in statements:
        storage.run_sync(lambda c: c.command(statement.format(db="sluice")))


def _indexes(storage) -> list[str]:
    """The logs table's skip indexes, in the order its CREATE statement declares them."""
    create = storage.run_sync(lambda c: c.query("SHOW CREATE TABLE sluice.logs").result_rows[0][0])
    return re.findall(r"^\s*INDEX (\w+) ", create, re.M)


def _rows(tenant: str) -> pa.Table:
    """LogTrace entries of seven attributes each, as the hot path maps them, of ``tenant``, received now."""
    (table,) = tables(2)
    return table.set_column(table.schema.get_field_index("TenantId"), "TenantId", pa.array([tenant] * table.num_rows))


def _search(tenant: str, kql: str) -> tuple[str, dict]:
    request = SearchRequest(filter=kql, from_="2026-11-01T00:00:00Z", to="2026-12-01T00:00:00Z", limit=1000)
    return build(request, tenant, "sluice", time.time_ns(), "production")  # a key's scope, as the gateway's


def _found(storage, tenant: str, kql: str) -> list[tuple]:
    sql, params = _search(tenant, kql)
    return storage.run_sync(lambda c: c.query(sql, parameters=params, settings=LIMITS).result_rows)


def _granules(storage, tenant: str, kql: str) -> str:
    """What the indexes leave of the search's granules, ``selected/total``."""
    sql, params = _search(tenant, kql)
    return storage.run_sync(lambda c: granules(c, sql, params))


def _expected(rows: pa.Table) -> dict[str, int]:
    """Attribute searches over ``rows`` and how many rows each finds, counted from the rows themselves."""
    attributes = [dict(a) for a in rows.column("LogAttributes").to_pylist()]
    user, duration = attributes[17]["user.id"], attributes[3]["duration_ms"]
    expected = {
        "user.tier:pro": sum(a["user.tier"] == "pro" for a in attributes),
        f"user.id:{user}": sum(a["user.id"] == user for a in attributes),
        f'duration_ms:"{duration}"': sum(a["duration_ms"] == duration for a in attributes),
        "user.tier:*": len(attributes),
        "no.such.key:*": 0,
        "user.id:u999999": 0,
    }
    assert 0 < expected["user.tier:pro"] < len(attributes) and expected[f"user.id:{user}"] >= 1
    return expected


def test_the_table_keeps_the_trace_value_and_body_indexes_and_the_migration_runs_again_and_back(storage):
    assert _indexes(storage) == KEPT
    _apply(storage, KEYS.backwards)
    try:
        assert _indexes(storage) == BEFORE
        _apply(storage, KEYS.backwards)  # as after a crash right before the reversal was recorded
        assert _indexes(storage) == BEFORE
    finally:
        _apply(storage, KEYS.forwards)
    _apply(storage, KEYS.forwards)
    assert _indexes(storage) == KEPT


def test_attribute_searches_find_the_same_rows_with_the_key_blooms_and_after_they_are_dropped(storage):
    rows = _rows("attr-keys")
    expected = _expected(rows)
    _apply(storage, KEYS.backwards)
    try:
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", rows))
        with_blooms = {kql: _found(storage, "attr-keys", kql) for kql in expected}
        # Parts other tests wrote before the blooms came back hold none, and a granule of theirs can straddle
        # this tenant's range of the sort key (it failed so, '1/2', when the merges had not reached them yet):
        # every part gets them, as MATERIALIZE INDEX gives them to a server's older parts.
        for name in ("idx_res_attr_key", "idx_log_attr_key"):
            storage.run_sync(lambda c: c.command(
                f"ALTER TABLE sluice.logs MATERIALIZE INDEX {name} SETTINGS mutations_sync = 2"))
        # The key bloom is in use while declared: a key no row holds leaves no granule to read.
        assert _granules(storage, "attr-keys", "no.such.key:*").startswith("0/")
    finally:
        _apply(storage, KEYS.forwards)
    assert not _granules(storage, "attr-keys", "no.such.key:*").startswith("0/")
    for kql, count in expected.items():
        found = _found(storage, "attr-keys", kql)
        assert len(found) == count, kql
        assert found == with_blooms[kql], kql  # the same part, so the same rows, Seq and all


def test_a_part_written_without_the_key_blooms_answers_as_one_written_with_them(storage):
    _apply(storage, KEYS.backwards)
    try:
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", _rows("attr-before")))
    finally:
        _apply(storage, KEYS.forwards)
    rows = _rows("attr-after")
    storage.run_sync(lambda c: c.insert_arrow("sluice.logs", rows))
    for kql, count in _expected(rows).items():
        before, after = _found(storage, "attr-before", kql), _found(storage, "attr-after", kql)
        assert len(after) == count, kql
        # The same rows: every column but the engine's Seq, which numbers each insert anew (the tenant is not one).
        assert [r[:-1] for r in before] == [r[:-1] for r in after], kql


def test_the_layout_benchmarks_production_table_has_the_migrated_tables_indexes(storage):
    (production,) = [v for v in VARIANTS if v.name == "production"]
    assert re.findall(r"^\s*INDEX (\w+) ", ddl(production, "db"), re.M) == _indexes(storage)
