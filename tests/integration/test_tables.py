"""The table declarations (schemas/tables.py) against the real ClickHouse engine: the migrated
tables are what is declared, and each declared Arrow layout stores its values as they were built."""

from __future__ import annotations

import json
import time
import uuid

import pyarrow as pa
import pytest

from schemas import tables
from schemas.storable import ipv6_bytes
from schemas.dialects.profound.columns import ENTRY
from schemas.dialects import decode
from schemas.envelope import Envelope
from schemas.formats import Format
from tests.rows import LogRow, readable, to_arrow
from tests.unit.test_profound import good
from workers.insert_rows import insert

pytestmark = pytest.mark.integration


def describe(storage, table: str) -> list[tuple[str, str, str, str, str]]:
    rows = storage.run_sync(lambda c: c.query(f"DESCRIBE TABLE sluice.{table}").named_results())
    return [(r["name"], r["type"], r["default_type"], r["default_expression"], r["codec_expression"]) for r in rows]


@pytest.mark.parametrize("table", tables.TABLES, ids=lambda t: t.name)
def test_the_engine_describes_each_table_as_declared(storage, table):
    declared = [(c.name, c.type, "DEFAULT" if c.default else "", c.default, c.codec) for c in table.columns]
    assert describe(storage, table.name) == declared


def read_back(storage, table: str, tenant: str, columns: list[str]) -> list[dict]:
    select = ", ".join(f"toUnixTimestamp64Nano({c}) AS {c}" if c in ("ReceivedAt", "Timestamp") else c for c in columns)
    result = storage.run_sync(lambda c: c.query(
        f"SELECT {select} FROM sluice.{table} WHERE TenantId = {{t:String}} ORDER BY RequestId",
        parameters={"t": tenant}))
    return [dict(zip(columns, row)) for row in result.result_rows]


def test_logs_rows_are_stored_as_the_declared_layout_built_them(storage):
    tenant = f"tables-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()  # received now: retention drops older parts
    rows = [LogRow(tenant, "staging", "otlp", f"r{i}", now + i, 1_600_000_000_000_000_007 + i,
                   "WARN", 13, "api", f"body {i}", "ab" * 16, "cd" * 8, {"host.name": "h"}, {"k": str(i)},
                   1, "scope", "1.2", {"s": "v"}) for i in range(2)]
    table = to_arrow(rows)
    storage.run_sync(lambda c: insert(c, "sluice.logs", table, {}))
    assert read_back(storage, "logs", tenant, table.column_names) == readable(table)


@pytest.mark.parametrize("codec", [None, "lz4", "zstd"])
def test_the_workers_insert_stores_a_table_once_per_token_whatever_the_clients_compression(storage, codec):
    # A client that compresses what it sends (clickhouse-connect's HTTP client by default) gets
    # compressed IPC buffers; the engine reads them as it reads the plain ones.
    tenant = f"tables-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()
    table = to_arrow([LogRow(tenant, "production", "logtrace", f"r{i:03d}", now, now + i, "INFO", 9, "api",
                             f"body {i} " * 50, "", "", {}, {"i": str(i)}) for i in range(300)])
    token = {"insert_deduplicate": 1, "insert_deduplication_token": f"token-{tenant}"}

    def insert_twice(client):
        client.write_compression, was = codec, client.write_compression
        try:
            insert(client, "sluice.logs", table, token)
            insert(client, "sluice.logs", table, token)  # a retry of an insert that was stored
        finally:
            client.write_compression = was

    storage.run_sync(insert_twice)
    assert read_back(storage, "logs", tenant, table.column_names) == readable(table)


def test_access_rows_are_stored_as_the_declared_layout_built_them(storage):
    tenant = f"tables-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()  # received now: retention drops older parts
    sent = [("1.2.3.4", 10, 1.5), ("2001:db8:1:2::3a", None, None)]
    records = [{"visit_ids": [str(uuid.UUID(int=i + 1))], "entries": [good(
        timestamp=1_700_000_000, ip=f"{address}, 10.0.0.2", query_params={"q": "1"}, bytes_sent=size,
        duration_ms=duration)]} for i, (address, size, duration) in enumerate(sent)]
    # One record each, so RequestId orders them.
    table = pa.concat_tables(ENTRY.table(decode(Format.PROFOUND_CUSTOM, json.dumps(record).encode()),
                                         Envelope("profound.custom.v1", tenant, f"r{i}", now))
                             for i, record in enumerate(records))
    assert table.column("LogAttributes").to_pylist()[1] == [("forwarded_for", "2001:db8:1:2::3a, 10.0.0.2")]
    storage.run_sync(lambda c: insert(c, "sluice.http_logs", table, {}))
    columns = [name for name in table.column_names if name not in ("VisitId", "ClientIP")]
    assert read_back(storage, "http_logs", tenant, columns) == readable(table.select(columns))
    stored = storage.run_sync(lambda c: c.query(
        "SELECT toString(VisitId), IPv6NumToString(ClientIP) FROM sluice.http_logs WHERE TenantId = {t:String} "
        "ORDER BY RequestId", parameters={"t": tenant}).result_rows)
    assert [(visit, ipv6_bytes(address)) for visit, address in stored] == \
        [(str(uuid.UUID(int=i + 1)), ipv6_bytes(address)) for i, (address, _, _) in enumerate(sent)]
