"""The engine in a process of its own (sluice/local/chdb_server.py), as the benchmarks and the
multi-worker tests start it, and the harness's reads through it."""

from __future__ import annotations

import pytest

from sluice.local.chdb_server import engine_process
from sluice.local.harness import sql
from sluice.settings import load_settings

pytestmark = pytest.mark.integration


def test_reads_go_to_the_engine_process_when_a_server_url_is_set(tmp_path):
    with engine_process(tmp_path / "engine") as (url, proc):
        settings = load_settings({}, state_dir=tmp_path / "state", clickhouse_url=url)
        assert sql(settings, "SELECT 40 + 2 AS answer") == [[42]]
        assert (tmp_path / "engine").is_dir()  # the data is the engine process's, on its own path
        assert not (tmp_path / "state" / "clickhouse").exists()  # no embedded engine was opened here
    assert proc.poll() is not None  # stopped on exit


def test_an_engine_that_cannot_start_is_reported_not_waited_for(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(RuntimeError, match="exited with"):
        with engine_process(blocker / "engine"):
            pass


def test_an_engine_process_leaves_nothing_in_the_temporary_directory(tmp_path, monkeypatch):
    import clickhouse_connect

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the engine process's, inherited
    with engine_process(tmp_path / "engine") as (url, _):
        client = clickhouse_connect.get_client(dsn=url)
        client.command("CREATE TABLE default.t (x UInt8) ENGINE = Memory")
        client.insert("default.t", [[1], [2]], column_names=["x"])  # through a file, as the worker's inserts
        assert client.query("SELECT sum(x) FROM default.t").result_rows == [(3,)]
    assert list(scratch.iterdir()) == []
