import time

import pytest

from sluice.failpoints import Failpoints, FailpointError


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
