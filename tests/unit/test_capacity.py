"""The sizing table's arithmetic, from benchmark reports, and how it replaces the document's table."""

from __future__ import annotations

import pytest

from bench import capacity

PEER = {"batch": 500,
        "sluice": {"records_stored": 1_000_000, "disk_bytes_per_record": 20.0,
                   "cpu_s_by_process": {"gateway": 3.0, "broker": 4.0, "worker": 10.0}},
        "victorialogs": {"cpu_us_per_record": 9.0}}
HOT = {"logtrace": {"hot_cpu_us_per_row": 3.0, "hot+insert_cpu_us_per_row": 12.0}}


def test_stages_are_cpu_per_stored_record_with_the_workers_insert_share_split_off():
    s = capacity.stages(PEER, HOT)
    assert (s.gateway_us, s.broker_us, s.peer_us, s.disk_bytes) == (3.0, 4.0, 9.0, 20.0)
    assert (s.worker_map_us, s.insert_us) == pytest.approx((2.5, 7.5))  # 3 of 12 us is mapping
    assert 150 < s.wire_bytes < 400  # bench.peer's LogTrace entries, made again


def test_a_rate_needs_its_cores_over_the_planned_share_of_each_pod():
    s = capacity.Stages(3.0, 4.0, 2.5, 7.5, 250.0, 20.0, 9.0)
    p = capacity.plan(s, 1_000_000)
    assert p["gateway_cores"] == pytest.approx(3.0) and p["gateway_pods"] == 3  # 3 cores / (2 x 0.6)
    assert p["broker_cores"] == pytest.approx(12.0)  # three copies of every record
    assert p["worker_pods"] == 3 and p["partitions"] == 6
    assert p["clickhouse_cores"] == pytest.approx(15.0) and p["clickhouse_shards"] == 2
    assert p["ingress_mb_s"] == pytest.approx(250.0) and p["kafka_replication_mb_s"] == pytest.approx(500.0)
    assert p["disk_gb_per_day"] == pytest.approx(1_000_000 * 20 * 86_400 * 2 / 1e9)
    assert capacity.plan(s, 1)["worker_pods"] == 1  # never fewer than one of each


def test_write_replaces_only_the_table_between_the_markers(tmp_path):
    doc = tmp_path / "capacity.md"
    doc.write_text(f"intro\n{capacity.BEGIN}\nold table\n{capacity.END}\noutro\n")
    s = capacity.Stages(3.0, 4.0, 2.5, 7.5, 250.0, 20.0, 9.0)
    capacity.write(doc, s)
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "| 100,000 logs/s | 1,000,000 logs/s | 10,000,000 logs/s |" in text and "| gateway pods | 1 | 3 | 25 |" in text
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        capacity.write(tmp_path / "bare.md", s)
