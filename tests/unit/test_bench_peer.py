"""The VictoriaLogs peer scenario: same entries as JSON lines, exact counts, CPU over process trees, ratios."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import peer, tools, victorialogs
from bench.e2e import make_bodies


def test_the_peer_gets_the_same_entries_one_json_object_a_line():
    body = make_bodies(1, 7)[0]
    lines = victorialogs.jsonlines(body).splitlines()
    assert [json.loads(line) for line in lines] == json.loads(body)["logs"]
    assert len(lines) == 7 and victorialogs.jsonlines(body).endswith(b"\n")


def test_counts_and_metrics_are_read_from_the_peers_answers():
    assert victorialogs.parse_count(b'{"n":"1500"}\n') == 1500
    assert victorialogs.parse_count(b"") == 0  # nothing stored yet: no line at all
    page = ('# HELP x\nvl_rows_ingested_total{type="jsonline"} 2500\n'
            'vl_rows_ingested_total{type="jsonline_stream"} 7\n')
    assert victorialogs.parse_metric(page, 'vl_rows_ingested_total{type="jsonline"}') == 2500
    assert victorialogs.parse_metric(page, 'vl_rows_ingested_total{type="elasticsearch"}') == 0


def test_disk_bytes_add_up_every_file_below_the_data_directory(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "part").write_bytes(b"x" * 1000)
    (tmp_path / "index").write_bytes(b"y" * 24)
    assert victorialogs.tree_bytes(tmp_path) == 1024


def test_cpu_of_a_process_tree_includes_its_children():
    burn = "sum(i * i for i in range(3_000_000)); print('done', flush=True); input()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"  # its CPU is spent; it now waits on stdin
        child_s = tools.process_cpu_s(child.pid)
        assert child_s > 0.05
        assert peer.tree_cpu_s(os.getpid()) >= tools.process_cpu_s(os.getpid()) + child_s - 0.02
        assert peer.tree_cpu_s(child.pid) == pytest.approx(child_s, abs=0.02)
    finally:
        child.communicate("\n", timeout=30)


def test_settle_waits_for_the_count_then_for_quiet_and_samples_at_the_last_change():
    counts = iter([0, 500, 1000] + [1000] * 10_000)
    samples = iter(range(100))
    rows, changed, sample = peer.settle(lambda: next(counts), 1000, lambda: {"n": next(samples)},
                                        quiet_s=0.05, poll_s=0.001)
    assert rows == 1000 and sample == {"n": 2}  # taken when 1000 was first seen, not after the quiet wait
    with pytest.raises(TimeoutError, match="only 10 of 20 records"):
        peer.settle(lambda: 10, 20, dict, quiet_s=0, timeout_s=0.05, poll_s=0.001)


class FakeSystem:
    """Stores what the fake wrk sends, plus ``extra`` records (abandoned by wrk, or stored twice)."""

    def __init__(self, extra_stored: int = 0, extra_accepted: int = 0):
        self.stored = self.accepted = 0
        self.extra_stored, self.extra_accepted = extra_stored, extra_accepted

    def wrk(self, cache_dir, url, files, headers, seconds, connections):
        requests = seconds * 10
        self.stored += requests * 500 + self.extra_stored
        self.accepted += requests * 500 + self.extra_accepted
        return tools.WrkResult(requests, float(seconds), 0, 0, {"p50": 5.0, "p99": 40.0}, 0.1)

    def system(self) -> peer.System:
        return peer.System("fake", "http://x", [], {}, lambda: self.stored, lambda: self.accepted,
                           {"self": os.getpid()}, lambda: (4_000, self.stored))


def test_a_system_is_measured_from_the_first_request_until_the_last_record_is_queryable(monkeypatch, tmp_path):
    fake = FakeSystem(extra_stored=500, extra_accepted=500)  # one request abandoned by wrk, but accepted
    monkeypatch.setattr(tools, "wrk", fake.wrk)
    r = peer.measure(fake.system(), tmp_path, seconds=2, connections=4, batch=500, warm_s=1, quiet_s=0.02)
    assert (r["records_answered"], r["records_accepted"], r["records_stored"]) == (10_000, 10_500, 10_500)
    assert r["accepted_rps"] == 5_000 and r["stored_rps"] > 0
    assert (r["accept_p50_ms"], r["accept_p99_ms"]) == (5.0, 40.0)
    assert r["disk_bytes_per_record"] == 4_000 / fake.stored
    assert set(r["cpu_s_by_process"]) == {"self"} and r["cpu_s"] >= 0


@pytest.mark.parametrize("extra_stored, extra_accepted", [(500, 0), (0, 500), (0, -500)])
def test_a_missing_or_doubled_record_fails_the_run(monkeypatch, tmp_path, extra_stored, extra_accepted):
    fake = FakeSystem(extra_stored, extra_accepted)
    monkeypatch.setattr(tools, "wrk", fake.wrk)
    with pytest.raises(RuntimeError, match="records missing or stored twice"):
        peer.measure(fake.system(), tmp_path, seconds=2, connections=4, batch=500, warm_s=1, quiet_s=0.02)


def test_ratios_are_sluice_over_the_peer():
    sluice = {"stored_rps": 60_000.0, "accepted_rps": 120_000.0, "cpu_us_per_record": 20.0,
              "disk_bytes_per_record": 30.0}
    vl = {"stored_rps": 240_000.0, "accepted_rps": 240_000.0, "cpu_us_per_record": 4.0,
          "disk_bytes_per_record": 10.0}
    assert peer.ratios(sluice, vl) == {"ratio_sluice_vs_victorialogs_stored": 0.25,
                                       "ratio_sluice_vs_victorialogs_accepted": 0.5,
                                       "ratio_sluice_vs_victorialogs_cpu_per_record": 5.0,
                                       "ratio_sluice_vs_victorialogs_disk_per_record": 3.0}


def test_the_report_judges_the_peer_goals(tmp_path):
    from bench.summary import write as summary

    (tmp_path / "peer.json").write_text(json.dumps({"sluice": {"stored_rps": 160_000.0},
                                                    "ratio_sluice_vs_victorialogs_stored": 0.5}))
    text = summary(tmp_path)
    assert "| end to end stored ≥ 0.55 of VictoriaLogs, same records in the same run (batches of 500) | 0.50 | no |" \
        in text
    # 160,000 logs/s, but 0.50 of VictoriaLogs in the same run: the issue set 150,000 beside VictoriaLogs'
    # 269,000, so the ratio it implies (0.558) decides, and this machine's speed does not.
    assert "until the last record is queryable (peer run) | 160,000 logs/s; 0.500, goal ≥ 0.558 of Victoria" in text
    goals = json.loads((tmp_path / "report.json").read_text())["goals"]
    assert [g["met"] for g in goals] == [False, False]


def test_a_benchmarks_set_options_become_settings_overrides():
    from bench.harness import setting_overrides
    from sluice.settings import load_settings

    overrides = setting_overrides(["consumer_fetch_bytes=16777216", " insert_threads=4", "internal_token=a=b"])
    assert overrides == {"consumer_fetch_bytes": "16777216", "insert_threads": "4", "internal_token": "a=b"}
    settings = load_settings({}, **overrides)
    assert (settings.consumer_fetch_bytes, settings.insert_threads) == (16777216, 4)
    for bad in ("consumer_fetch_bytes", "=4"):
        with pytest.raises(ValueError, match="expected NAME=VALUE"):
            setting_overrides([bad])
    with pytest.raises(ValueError, match="--set: unknown settings: consumer_fetch_byte$"):
        setting_overrides(["consumer_fetch_byte=4"])
    with pytest.raises(ValueError, match="--set: setting insert_threads: expected int, got 'four'"):
        setting_overrides(["insert_threads=four"])


def test_a_malformed_set_option_stops_a_benchmark_before_it_starts_anything(capsys):
    import argparse

    from bench.harness import add_set_option, setting_overrides

    parser = argparse.ArgumentParser(prog="bench")
    add_set_option(parser)
    args = parser.parse_args(["--set", "insert_threads=4", "--set", "insert_threads"])
    with pytest.raises(SystemExit) as stopped:
        setting_overrides(args.set, parser)
    assert stopped.value.code == 2
    assert "--set 'insert_threads': expected NAME=VALUE" in capsys.readouterr().err


def test_several_workers_need_the_engine_in_a_process_of_its_own(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.peer", "--workers", "2", "--seconds", "1"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SLUICE_STATE_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "--workers above 1 needs --engine process" in result.stderr
