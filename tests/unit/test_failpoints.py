import time

import pyarrow as pa
import pytest

from sluice.failpoints import (CLICKHOUSE_AFTER_INSERT, CLICKHOUSE_BEFORE_INSERT, CLICKHOUSE_INSERT, FailpointError,
                               Failpoints)
from sluice.settings import load_settings
from workers.batches import Batch, Pending
from workers import sink as sink_module
from workers.sink import ClickHouseSink


def test_a_failpoint_acts_only_while_its_file_exists(tmp_path):
    points = Failpoints(tmp_path)
    points.hit("clickhouse-insert")  # no file: nothing happens
    (tmp_path / "clickhouse-insert").write_text("error\n")
    with pytest.raises(FailpointError, match="clickhouse-insert"):
        points.hit("clickhouse-insert")
    points.hit("something-else")
    (tmp_path / "clickhouse-insert").unlink()
    points.hit("clickhouse-insert")


def test_a_delay_failpoint_sleeps_then_carries_on(tmp_path):
    (tmp_path / "clickhouse-insert").write_text("delay 0.2")
    started = time.monotonic()
    Failpoints(tmp_path).hit("clickhouse-insert")
    assert time.monotonic() - started >= 0.2


def test_without_a_directory_no_failpoint_is_looked_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clickhouse-insert").write_text("error")
    Failpoints("").hit("clickhouse-insert")  # a file in the working directory means nothing


def test_a_scoped_failpoint_acts_on_its_partition_only(tmp_path):
    (tmp_path / "clickhouse-after-insert@ingest:3").write_text("error\n")
    points = Failpoints(tmp_path)
    points.hit("clickhouse-after-insert", "ingest:2")
    points.hit("clickhouse-after-insert")
    with pytest.raises(FailpointError, match="clickhouse-after-insert@ingest:3"):
        points.hit("clickhouse-after-insert", "ingest:3")


class Client:
    """Records the tables a batch's insert writes, in order."""

    def __init__(self):
        self.written = []

    def query(self, sql, parameters=None, settings=None):
        return type("Result", (), {"result_rows": []})()

    def insert(self, table, rows, column_names=None, settings=None):
        self.written.append(table.split(".")[-1])

    write_compression = None

    def raw_insert(self, table, column_names=None, insert_block=None, settings=None, fmt=None):
        self.written.append(table.split(".")[-1])


@pytest.mark.parametrize("failpoint, written", [
    (CLICKHOUSE_INSERT, []),
    (CLICKHOUSE_BEFORE_INSERT, ["ingest_batches"]),
    (CLICKHOUSE_AFTER_INSERT, ["ingest_batches", "logs", "idempotency_keys"]),
])
def test_each_insert_failpoint_fails_the_batch_after_what_it_names(tmp_path, monkeypatch, failpoint, written):
    monkeypatch.setattr(sink_module, "split", lambda batch, repeated: (pa.table({"x": [1]}), []))
    (tmp_path / f"{failpoint}@t:0").write_text("error\n")
    sink = ClickHouseSink(None, load_settings({}, failpoints_dir=str(tmp_path)))
    batch = Batch("t", 0, 5, 5, [Pending(5, [object()], "h", idempotency="acme/k1")], replay=False)
    client = Client()
    with pytest.raises(FailpointError, match=failpoint):
        sink.insert(client, batch)
    assert client.written == written
    sink.insert(client, Batch("t", 1, 5, 5, batch.items, replay=False))  # another partition: unaffected
    assert client.written[len(written):] == ["ingest_batches", "logs", "idempotency_keys"]
