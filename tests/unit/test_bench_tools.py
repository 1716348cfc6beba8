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
