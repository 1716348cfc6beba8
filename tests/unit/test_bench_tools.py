"""The benchmark harness reads wrk's report right and writes reports that say what was measured."""

import json

import pytest

from bench.report import markdown, write
from bench.tools import _parse

WRK_OUTPUT = """Running 30s test @ http://127.0.0.1:8080/v1/logs/ingest
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    97.68ms   40.12ms 412.00ms   70.00%
    Req/Sec   330.12     40.00   400.00     75.00%
  Latency Distribution
     50%   86.00ms
     75%  136.00ms
     90%  204.00ms
     99%    1.20s
  9900 requests in 30.01s, 2.10MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 2
Requests/sec:    329.89
"""


def test_wrk_report_is_parsed_with_units():
    r = _parse(WRK_OUTPUT, cpu_s=1.5)
    assert (r.requests, r.seconds, r.non_2xx, r.timeouts) == (9900, 30.01, 2, 3)
    assert r.latency_ms == {"p50": 86.0, "p75": 136.0, "p90": 204.0, "p99": 1200.0}
    assert r.rps == pytest.approx(9900 / 30.01)


def test_socket_errors_other_than_timeouts_fail_the_run():
    with pytest.raises(RuntimeError, match="connect 4"):
        _parse(WRK_OUTPUT.replace("connect 0", "connect 4"), cpu_s=0)


def test_reports_flatten_nested_figures(tmp_path):
    results = {"cores": 2, "sluice_logtrace_500": {"records_per_s": 157884.2, "latency_p99_ms": 287.0}, "ratio": 0.324}
    write("gateway", results, tmp_path / "g.json", tmp_path / "g.md")
    assert json.loads((tmp_path / "g.json").read_text()) == results
    text = (tmp_path / "g.md").read_text()
    assert text.startswith("# gateway\n") and "| sluice_logtrace_500.records_per_s | 157,884 |" in text
    assert "| ratio | 0.324 |" in markdown("x", results)


def test_vegeta_results_give_percentiles_of_every_answer():
    from bench.vegeta import _summary

    # timestamp ns, code, latency ns, ... : 1,000 answers over one second, one of them a 503
    rows = [f"{1_000_000_000 + i * 1_000_000},{503 if i == 7 else 202},{(i + 1) * 10_000},10,2,,,a,{i}"
            for i in range(1000)]
    r = _summary("\n".join(rows), rate=1000, seconds=1, cpu_s=0.25)
    assert (r.requests, r.non_2xx) == (1000, 1)
    assert r.latency_ms == {"p50": 5.01, "p99": 9.91, "p99.9": 10.0, "max": 10.0}
    assert r.achieved == pytest.approx(1000, rel=0.01)
    assert r.figures(100)["records_per_s"] == pytest.approx(100_000, rel=0.01)
    assert r.figures(100)["generator_cpu_share"] == 0.25


def test_profiles_count_self_time_by_function_and_time_through_modules():
    from bench.profile import Profile, _summarise

    raw = ("main (app.py:1);handle (gateway/prepare.py:10);decode (schemas/formats.py:140) 6\n"
           "main (app.py:1);handle (gateway/prepare.py:12);decode (schemas/formats.py:141) 2\n"
           "main (app.py:1);send (aiokafka/producer.py:5) 2\n")
    p = Profile()
    _summarise(raw, p, ("gateway/prepare.py", "aiokafka/"), top=2)
    assert p.samples == 10
    assert p.top == {"decode (formats.py)": 0.8, "send (producer.py)": 0.2}
    assert p.inclusive == {"gateway/prepare.py": 0.8, "aiokafka/": 0.2}


def test_the_report_says_which_goals_are_met(tmp_path):
    from bench.summary import write as summary

    gateway = {"sluice_logtrace_500": {"records_per_s": 150_000}, "sluice_2_processes_logtrace_500":
               {"records_per_s": 420_000}, "ratio_sluice_vs_decode_only_logtrace_500": 0.4,
               "ratio_sluice_2_processes_vs_decode_only_2_processes_logtrace_500": 0.6,
               "latency_logtrace_100_at_50%": {"latency_p99_ms": 30.0}}
    (tmp_path / "gateway.json").write_text(json.dumps(gateway))
    (tmp_path / "logflux.json").write_text(json.dumps({"warm_e2e_eps": 40_000.0, "during_flood_vs_warm": 0.95}))
    e2e = {"sluice_e2e_rps": 160_000.0, "sluice_sustained_rps": 90_000.0, "idle": {"freshness_max_ms": 420.0},
           "paced_50%_of_e2e": {"freshness_p99_ms": 1210.0, "latency_p99_ms": 417.0},
           "paced_90%_of_e2e": {"freshness_p99_ms": 1180.0, "latency_p99_ms": 3500.0}}
    (tmp_path / "e2e.json").write_text(json.dumps(e2e))
    text = summary(tmp_path)
    assert "| a single record at idle queryable in ≤ 0.5 s (the slowest of 20) | 420 ms | yes |" in text
    # The rate to the last row visible (160,000) counts a drain with the cores to the worker: not "sustained".
    assert "| end to end ≥ 150,000 logs/s sustained (batches of 500) | 90,000 logs/s | no |" in text
    assert "| accept p99 ≤ 50 ms end to end (at 50 % of the sustained rate) | 417 ms | no |" in text
    assert "| gateway alone ≥ 400,000 logs/s, 202 after the ack (batches of 500) | 420,000 logs/s | yes |" in text
    assert "| gateway ≥ 0.5 of the decode-only ceiling (same processes, batches of 500) | 0.60 | yes |" in text
    assert "(batches of 100) | 30 ms | no |" in text
    assert "| LogFlux ≥ 100,000 encrypted entries/s end to end, warm key cache | 40,000 entries/s | no |" in text
    assert "Collector" not in text  # not measured in this run, so not judged
    goals = json.loads((tmp_path / "report.json").read_text())["goals"]
    assert [g["met"] for g in goals] == [False, False, True, True, False, True, True, False, False, True]


def test_thread_cpu_is_read_per_name_and_warm_up_stops_once_the_jit_settles(monkeypatch):
    import os

    from bench import tools

    sum(i * i for i in range(2_000_000))  # some CPU on this thread
    assert 0 < tools.threads_cpu_s(os.getpid(), "") <= tools.process_cpu_s(os.getpid()) + 0.02
    assert tools.threads_cpu_s(os.getpid(), tools.JIT_THREADS) == 0  # no JVM here
    runs = []
    assert tools.warm_until_compiled(lambda: runs.append(1), os.getpid()) == [0.0] and len(runs) == 1

    compiled = iter([0.0, 1.0, 1.0, 1.5, 1.5, 1.51, 1.51, 1.52])  # CPU seconds before and after each run
    monkeypatch.setattr(tools, "threads_cpu_s", lambda pid, names: next(compiled))
    clock = iter(range(100))
    monkeypatch.setattr(tools.time, "perf_counter", lambda: float(next(clock)))
    shares = tools.warm_until_compiled(lambda: None, 1, rounds=8, settled=0.05)
    assert shares == pytest.approx([1.0, 0.5, 0.01])  # stops at the first run under 5 % of a core
    compiled = iter([0.0, 1.0] * 3)
    assert len(tools.warm_until_compiled(lambda: None, 1, rounds=3)) == 3  # and never after ``rounds``


def test_peak_memory_is_read_and_grows_with_what_the_process_touched():
    import os
    from pathlib import Path

    from bench import tools

    status = Path("/proc/self/status").read_text()
    resident = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024
    before = tools.peak_rss_mib(os.getpid())
    assert before >= resident
    block = bytearray(int(before - resident + 64) << 20)  # zero-filled: every page touched, past the old peak
    after = tools.peak_rss_mib(os.getpid())
    assert len(block) and after - before >= 32


def test_insert_size_waits_for_the_parts_to_settle(monkeypatch):
    from bench import insert_size

    class Engine:
        """Parts 9 while merging, then 3 merged parts, then nothing changes."""

        def __init__(self):
            self.polls = 0

        def query(self, sql):
            merging = self.polls < 4
            if "system.merges" in sql:
                self.polls += 1
                return type("R", (), {"result_rows": [[1 if merging else 0]]})
            return type("R", (), {"result_rows": [[9 if merging else 3]]})

    monkeypatch.setattr(insert_size, "QUIET_S", 0.05)
    monkeypatch.setattr(insert_size.time, "sleep", lambda s: None)
    engine = Engine()
    assert insert_size.settle(engine, "sluice") == 3
    assert engine.polls > 4  # not before the merges ended


def test_the_collector_goals_take_the_gateway_with_one_process_or_two_whichever_is_more(tmp_path):
    from bench.summary import write as summary

    gateway = {"sluice_logtrace_500": {"records_per_s": 620_000}, "sluice_2_processes_logtrace_500":
               {"records_per_s": 890_000}, "sluice_otlp_500": {"records_per_s": 550_000},
               "sluice_2_processes_otlp_500": {"records_per_s": 780_000},
               "otelcol_otlp_500": {"records_per_s": 600_000}}
    (tmp_path / "gateway.json").write_text(json.dumps(gateway))
    text = summary(tmp_path)
    assert "| ahead of the OpenTelemetry Collector, HTTP → Kafka records/s (batches of 500) | 1.48 | yes |" in text
    assert "| same, OTLP/JSON into both (batches of 500) | 1.30 | yes |" in text


def test_the_worker_cpu_goals_read_the_hot_path_figures_to_a_tenth(tmp_path):
    from bench.summary import write as summary

    hot = {d: {"hot+insert_cpu_us_per_row": v} for d, v in
           (("logtrace", 7.54), ("astralog", 6.48), ("loginformant", 3.9), ("logflux", 5.95))}
    (tmp_path / "hot_path.json").write_text(json.dumps(hot))
    text = summary(tmp_path)
    assert "mapping and insert (the dearest of three) | 7.5 µs | no |" in text
    assert "LogFlux batches, warm key cache, mapping and insert | 6.0 µs | yes |" in text


def test_the_worker_cpu_goals_are_decided_by_their_ratio_to_the_engines_own_mapping(tmp_path):
    from bench.summary import write as summary

    hot = {d: {"hot+insert_cpu_us_per_row": v, "hot_with_insert_vs_logtrace_floor": ratio} for d, v, ratio in
           (("logtrace", 7.9, 0.91), ("astralog", 8.8, 1.02), ("loginformant", 8.2, 0.95), ("logflux", 9.4, 1.6))}
    (tmp_path / "hot_path.json").write_text(json.dumps(hot))
    text = summary(tmp_path)
    assert "(the dearest of three) | 8.8 µs; 1.020, goal ≤ 1.053 of the engine mapping" in text
    assert "LogFlux batches, warm key cache, mapping and insert | 9.4 µs; 1.600, goal ≤ 1.579 of" in text
    goals = json.loads((tmp_path / "report.json").read_text())["goals"]
    assert [(g["met"], g["ratio"]) for g in goals] == [(True, 1.02), (False, 1.6)]


def test_vegeta_results_count_the_share_of_answers_over_50_ms():
    from bench.vegeta import _summary

    latencies_ms = [4] * 95 + [51] * 4 + [50]  # 50 ms itself is within
    rows = [f"{1_000_000_000 + i * 10_000_000},202,{ms * 1_000_000},10,2,,,a,{i}" for i, ms in enumerate(latencies_ms)]
    r = _summary("\n".join(rows), rate=100, seconds=1, cpu_s=0.1)
    assert r.over_50ms == 0.04 and r.figures(500)["latency_over_50ms"] == 0.04


def test_the_gateways_view_counts_requests_it_took_long_to_handle_and_to_publish():
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from bench.gateway_view import parse, slow_shares

    registry = CollectorRegistry()
    buckets = (0.01, 0.05, 0.1)
    handled = Histogram("sluice_gateway_request_seconds", "", ["dialect"], buckets=buckets, registry=registry)
    published = Histogram("sluice_gateway_publish_seconds", "", buckets=buckets, registry=registry)
    handled.labels("astralog").observe(0.2)  # before the phase: not counted
    before = parse(generate_latest(registry).decode())
    for seconds in (0.004, 0.02, 0.07):
        handled.labels("logtrace").observe(seconds)
    handled.labels("astralog").observe(0.3)
    for seconds in (0.003, 0.06):
        published.observe(seconds)
    shares = slow_shares(before, parse(generate_latest(registry).decode()), 0.05)
    assert shares == {"gateway_handled_over_50ms": 0.5, "gateway_published_over_50ms": 0.5}
    assert slow_shares(before, before, 0.05) == {"gateway_handled_over_50ms": None, "gateway_published_over_50ms": None}


def test_the_hot_path_benchmarks_otlp_requests_map_alike_on_both_paths():
    """The OTLP/JSON workload is mapped whole by the hot path, to the reference's rows: the benchmark compares
    two ways to the same table, not a fast way to a different one."""
    from bench.hot_path import workload
    from schemas.dialects import NESTED, decode
    from schemas.formats import Format
    from schemas.rows.columnar import to_table
    from schemas.rows.nested import nested_rows
    from workers import hot

    values, envelopes = workload("otlp", 3, 5)
    out = hot.map_values(Format.OTLP_JSON, values, envelopes)
    assert out.declined == [] and sum(map(len, out.rows)) == 15
    got = hot.joined(out.rows)[0]
    want = to_table([nested_rows(NESTED[Format.OTLP_JSON], decode(Format.OTLP_JSON, v), e)
                     for v, e in zip(values, envelopes)])
    assert got.equals(want)
    assert want.column("ServiceName").to_pylist()[:5] == ["svc-orders"] * 5
    assert dict(want.column("LogAttributes")[0].as_py())["user.tier"] in ("free", "pro", "enterprise")


def test_a_hot_path_child_with_inserts_leaves_no_engine_behind(tmp_path):
    """Each ``+insert`` child opens an engine in a temporary state directory: it measures, then removes it
    (a full ``make bench-hot-path`` ran 30 children and left 186 MiB of parts in /tmp)."""
    import os
    import pickle
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.hot_path", "--child", "hot+insert", "logtrace", "2", "10"],
                         check=True, capture_output=True, timeout=300,
                         env={**os.environ, "TMPDIR": str(tmp_path)}).stdout
    assert pickle.loads(out)["rows"] == 20
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("sluice-bench-hot-")] == []


def test_the_gateway_benchmark_refuses_a_malformed_set_option_before_it_starts_a_broker(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "bench.gateway", "--seconds", "1", "--set", "kafka_sticky_partition_s"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "SLUICE_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "--set 'kafka_sticky_partition_s': expected NAME=VALUE" in result.stderr


def test_the_memory_goal_reads_the_worker_against_a_separate_engine_and_reports_the_embedded_one(tmp_path):
    from bench.summary import write as summary

    (tmp_path / "memory.json").write_text(json.dumps({"worker_peak_rss_mib": 530, "engine_peak_rss_mib": 700}))
    (tmp_path / "memory_embedded.json").write_text(json.dumps({"worker_peak_rss_mib": 1141}))
    text = summary(tmp_path)
    assert "| worker peak RSS ≤ 512 MiB with a backlog of 1 MiB records (its own memory, engine apart) | 530 MiB | no |" \
        in text
    assert "| worker_peak_rss_mib | 1,141 |" in text.split("memory_embedded", 1)[1]  # reported in its own table, judged by no goal
    assert [g["met"] for g in json.loads((tmp_path / "report.json").read_text())["goals"]] == [False]
