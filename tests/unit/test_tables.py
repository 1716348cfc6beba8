"""Each table is declared once (schemas/tables.py): the DDL, the Arrow layouts, the row builders
and the query layer's columns all agree with the declaration."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from schemas import clickhouse, storable, tables
from schemas.dialects.native import arrow as native_arrow
from schemas.envelope import Envelope
from schemas.tables import ATTRIBUTES, ENVELOPE, HTTP_LOGS, LOGS, TIMESTAMP, Column, Table
from sluice.query import sql
from schemas.rows import arrow, columnar
from schemas.dialects.profound.columns import ENTRY
from schemas.dialects.profound.wire import AccessLog
from schemas.rows.declared_http import Derived, Member
from schemas.rows.columnar import LogColumns, normalize_arrow, to_table
from tests.rows import LOG_ROW_COLUMNS, LogRow, log_rows, to_arrow
from tests.unit.test_profound import good
from tests.unit.test_profound_columns import HTTP_ROW_FIELDS, HttpRow, published, reference_rows

ENV = Envelope("logtrace.ingest.v1", "acme", "req-1", 1_700_000_000_123_456_789, "staging")


def inserted(table: Table) -> list[tuple[str, pa.DataType]]:
    return [(c.name, c.arrow) for c in table.columns if c.arrow is not None]


def fits(declared: str, arrow_type: pa.DataType) -> bool:
    """Whether an Arrow column of ``arrow_type`` is what a ClickHouse column of type ``declared`` stores as is."""
    inner = re.sub(r"^(Nullable|LowCardinality)\((.*)\)$", r"\2", declared)
    if inner in ("String", "UUID"):
        return arrow_type == pa.string()
    if match := re.fullmatch(r"(U?)Int(8|16|32|64)", inner):
        return arrow_type == getattr(pa, f"{match.group(1).lower()}int{match.group(2)}")()
    if inner in ("Float32", "Float64"):
        return arrow_type == getattr(pa, inner.lower())()
    if inner == "DateTime64(9)":
        return arrow_type == TIMESTAMP
    if inner == "IPv6":
        return arrow_type == pa.binary(16)
    if inner.startswith("Map("):
        return arrow_type == ATTRIBUTES
    return False


@pytest.mark.parametrize("table", tables.TABLES, ids=lambda t: t.name)
def test_every_inserted_column_carries_the_arrow_type_its_clickhouse_type_stores(table):
    for column in table.columns:
        if column.arrow is not None:
            assert fits(column.type, column.arrow), column
        else:  # never inserted: the engine fills it
            assert column.default or column.type in ("LowCardinality(String)", "Map(LowCardinality(String), String)")


@pytest.mark.parametrize("table, ddl", [(LOGS, clickhouse.LOGS_COLUMNS), (HTTP_LOGS, clickhouse.HTTP_LOGS_COLUMNS)],
                         ids=["logs", "http_logs"])
def test_the_create_statements_list_the_declared_columns_in_order(table, ddl):
    lines = [line.strip().rstrip(",") for line in ddl.strip().splitlines()]
    columns = [line for line in lines if not line.startswith("INDEX ")]
    assert columns == [c.ddl for c in table.columns]
    assert lines[len(columns):] and all(line.startswith("INDEX ") for line in lines[len(columns):])
    migration = next(m for m in clickhouse.MIGRATIONS if m.name == table.name)
    assert f"{{db}}.{table.name} ({ddl})" in migration.forwards[0]
    # The storability bounds read the same columns.
    assert list(storable.columns(ddl)) == list(table.names)


def test_a_column_renders_its_default_and_codec_as_clickhouse_reads_them():
    assert Column("A", "DateTime", None, default="toDateTime(B)").ddl == "A DateTime DEFAULT toDateTime(B)"
    assert Column("A", "String", pa.string(), "ZSTD(1)").ddl == "A String CODEC(ZSTD(1))"
    assert Column("A", "UInt8", pa.uint8(), "ZSTD(1)", "1").ddl == "A UInt8 DEFAULT 1 CODEC(ZSTD(1))"


def test_a_table_refuses_a_second_column_of_one_name_and_names_a_missing_one():
    with pytest.raises(ValueError, match="twice"):
        Table("t", (Column("A", "String", pa.string()), Column("A", "UInt8", pa.uint8())))
    with pytest.raises(KeyError, match="logs has no column Nope"):
        LOGS.column("Nope")


def test_both_tables_start_with_the_envelope_and_the_event_time():
    for table in tables.TABLES:
        assert table.columns[:len(ENVELOPE)] == ENVELOPE
        assert table.column("Timestamp") == LOGS.column("Timestamp")
        assert table.column("TimestampTime").default == "toDateTime(Timestamp)"


def test_the_arrow_layouts_are_the_declared_inserted_columns():
    assert [(f.name, f.type) for f in arrow.LOGS_SCHEMA] == inserted(LOGS)
    assert [(f.name, f.type) for f in arrow.HTTP_LOGS_SCHEMA] == inserted(HTTP_LOGS)


def test_the_arrow_time_and_map_types_are_defined_once():
    assert arrow.TIMESTAMP is TIMESTAMP and native_arrow.TIMESTAMP is TIMESTAMP
    assert arrow.ATTRIBUTES is ATTRIBUTES and native_arrow.ATTRIBUTES is ATTRIBUTES
    assert columnar.ATTRIBUTES is ATTRIBUTES and columnar.TIMESTAMP is TIMESTAMP


def log_row(i: int) -> LogRow:
    return LogRow("acme", "staging", "otlp", f"r{i}", 10 + i, 20 + i, "WARN", 13, f"svc{i}", f"body {i}", "t" * 32,
                  "s" * 16, {"host.name": f"h{i}"}, {"k": str(i)}, i, "scope", "1.0", {"sk": "sv"})


def test_log_rows_become_the_logs_layout_column_by_column():
    assert set(LOG_ROW_COLUMNS) == set(LogRow._fields)
    assert set(LOG_ROW_COLUMNS.values()) == {name for name, _ in inserted(LOGS)}
    rows = [log_row(0), log_row(1)]
    table = to_arrow(rows)
    assert table.schema == arrow.LOGS_SCHEMA and to_arrow([]).schema == arrow.LOGS_SCHEMA
    for field, name in LOG_ROW_COLUMNS.items():
        values = table.column(name)
        if values.type == TIMESTAMP:
            values = values.cast(pa.int64())
        got = [dict(v) if isinstance(v, list) else v for v in values.to_pylist()]
        assert got == [getattr(row, field) for row in rows], name


def test_columns_and_log_rows_agree_both_ways():
    columns = LogColumns(ENV, "logtrace", [None, None], ["info", "error"], ["api", "db"], ["a", "b"],
                         [{"k": "1"}, {}], trace_id=["t1", "t2"], trace_flags=[1, 0])
    table = to_table([columns])
    assert table.schema == arrow.LOGS_SCHEMA
    rows = log_rows(columns)
    assert [(r.tenant, r.environment, r.source, r.request_id, r.received_ns, r.timestamp_ns) for r in rows] == \
        [("acme", "staging", "logtrace", "req-1", ENV.received_ns, ENV.received_ns)] * 2
    assert [(r.severity_number, r.service, r.trace_id, r.trace_flags, r.log_attributes) for r in rows] == \
        [(9, "api", "t1", 1, {"k": "1"}), (17, "db", "t2", 0, {})]
    assert to_arrow(rows).equals(table)


def test_the_envelope_fills_the_declared_envelope_columns():
    assert list(columnar._envelope(ENV, "native")) == [c.name for c in ENVELOPE]
    records = native_arrow.read(native_arrow.encode(pa.table({"body": ["x", "y"]})))
    table = normalize_arrow(records, ENV).table
    assert table.schema == arrow.LOGS_SCHEMA
    assert table.select(["TenantId", "Environment", "Source", "RequestId"]).to_pylist() == [
        {"TenantId": "acme", "Environment": "staging", "Source": "native", "RequestId": "req-1"}] * 2
    assert table.column("ReceivedAt").cast(pa.int64()).to_pylist() == [ENV.received_ns] * 2


def _read(sources) -> set[str]:
    """The entry members ``sources`` read, through the derivations they read."""
    derived = {d.name: d for d in ENTRY.derivations}
    out: set[str] = set()
    for s in sources:
        if type(s) is Member:
            out.add(s.name)
        elif type(s) is Derived:
            out |= _read(derived[s.name].args)
    return out


def test_access_entries_become_the_http_logs_layout_column_by_column():
    assert {name for name, _ in ENTRY.columns} == {name for name, _ in inserted(HTTP_LOGS)}
    assert set(HTTP_ROW_FIELDS) | {"Source", "ClientIP"} == {name for name, _ in inserted(HTTP_LOGS)}
    assert set(HTTP_ROW_FIELDS.values()) | {"client_ip"} == set(HttpRow._fields)
    # Nothing an entry sends is dropped: every member reaches a column.
    assert _read(s for _, s in ENTRY.columns) == set(AccessLog.__struct_fields__)
    entries = published([good(timestamp=6, host="h0", status_code=200, ip="1.2.3.4, 10.0.0.0", referer="ref",
                              query_params={"q": "0"}, bytes_sent=10, duration_ms=1.5),
                         good(timestamp=7, host="h1", status_code=201, ip="2001:db8:1:2::3a", referer="ref",
                              query_params={"q": "1"})])
    rows = reference_rows(entries, ENV)
    assert [(r.bytes_sent, r.duration_ms, r.client_ip) for r in rows] == [(10, 1.5, "1.2.3.4"),
                                                                           (None, None, "2001:db8:1:2::3a")]
    table = ENTRY.table(entries, ENV)
    assert table.schema == arrow.HTTP_LOGS_SCHEMA and ENTRY.table([], ENV).schema == arrow.HTTP_LOGS_SCHEMA
    for name, field in HTTP_ROW_FIELDS.items():
        values = table.column(name)
        if values.type == TIMESTAMP:
            values = values.cast(pa.int64())
        got = [dict(v) if isinstance(v, list) else v for v in values.to_pylist()]
        assert got == [getattr(row, field) for row in rows], name
    assert table.column("Source").to_pylist() == ["profound"] * 2
    assert table.column("ClientIP").to_pylist() == [storable.ipv6_bytes(row.client_ip) for row in rows]


@pytest.mark.parametrize("table, columns, fields",
                         [(LOGS, sql.COLUMNS, sql.LOGS), (HTTP_LOGS, sql.ACCESS_COLUMNS, sql.ACCESS)],
                         ids=["logs", "http_logs"])
def test_the_query_fields_name_declared_columns_read_by_their_declared_types(table, columns, fields):
    kinds = {"String": "string", "LowCardinality(String)": "string", "UInt8": "number", "UInt16": "number",
             "Nullable(UInt64)": "number", "Nullable(Float64)": "number", "DateTime64(9)": "time", "IPv6": "ip"}
    for name, (expression, kind) in columns.items():
        column = re.fullmatch(r"(?:toString\()?(\w+)\)?", expression).group(1)
        declared = table.column(column).type
        if column == "SeverityText":
            assert kind == "level", name
        elif column == "Body":
            assert kind == "text", name
        elif declared == "UUID":
            assert (expression, kind) == (f"toString({column})", "string"), name
        else:
            assert (expression, kind) == (column, kinds[declared]), name
    maps = {column for _, column in fields.prefixes} | {column for column, _ in fields.aliases.values()}
    maps.add(fields.fallback)
    assert all(table.column(column).type.startswith("Map(") for column in maps)


def test_a_query_field_must_name_a_declared_column_of_a_type_fields_read():
    with pytest.raises(KeyError, match="has no column"):
        sql._column(LOGS, "Status")
    with pytest.raises(ValueError, match="no query field reads logs.LogAttributes"):
        sql._column(LOGS, "LogAttributes")
