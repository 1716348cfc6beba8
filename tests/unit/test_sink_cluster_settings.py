"""On a ClickHouse cluster every write of a batch waits for a quorum of its shard's replicas and every
read that decides what to store is sequentially consistent; on one server, neither is asked for."""

from __future__ import annotations

import pyarrow as pa

from sluice.settings import load_settings
from workers import sink as sink_module
from workers.batches import Batch, Pending
from workers.sink import ClickHouseSink


class Client:
    def __init__(self):
        self.calls = []

    def query(self, sql, parameters=None, settings=None):
        self.calls.append(("query", sql.split()[0], settings))
        return type("Result", (), {"result_rows": []})()

    def insert(self, table, rows, column_names=None, settings=None):
        self.calls.append(("insert", table, settings))

    write_compression = None

    def raw_insert(self, table, column_names=None, insert_block=None, settings=None, fmt=None):
        self.calls.append(("insert", table, settings))


def _batch() -> Batch:
    return Batch("t", 0, 5, 5, [Pending(5, [object()], "h", idempotency="acme/k1")], replay=False)


def _run(monkeypatch, **settings) -> list:
    monkeypatch.setattr(sink_module, "split", lambda batch, repeated: (pa.table({"x": [1]}), []))
    client = Client()
    ClickHouseSink(None, load_settings({}, **settings)).insert(client, _batch())
    return client.calls


def test_on_a_cluster_every_write_waits_for_a_quorum_and_reads_are_consistent(monkeypatch):
    calls = _run(monkeypatch, clickhouse_cluster="c1")
    writes = [c for c in calls if c[0] == "insert"]
    assert {table for _, table, _ in writes} == {"sluice.ingest_batches", "sluice.logs", "sluice.idempotency_keys"}
    assert all(s["insert_quorum"] == "auto" and s["distributed_foreground_insert"] == 1 for _, _, s in writes)
    reads = [s for kind, _, s in calls if kind == "query"]
    assert reads and all(s == {"select_sequential_consistency": 1} for s in reads)  # the idempotency keys' read


def test_on_one_server_nothing_cluster_specific_is_asked_for(monkeypatch):
    calls = _run(monkeypatch)
    assert all("insert_quorum" not in (s or {}) and "select_sequential_consistency" not in (s or {})
               for _, _, s in calls)
    assert any(table == "sluice.logs" for kind, table, _ in calls if kind == "insert")
