"""bench/steady.py: the figures it derives from the worker's metrics and the CPU samples."""

import math

from bench.steady import CpuSample, cpu_figures, consumer_lag_s

METRICS = """# HELP sluice_worker_consumer_lag_seconds Age of the oldest record not yet stored, per partition.
# TYPE sluice_worker_consumer_lag_seconds gauge
sluice_worker_consumer_lag_seconds{partition="0",topic="sluice-ingest"} 0.25
sluice_worker_consumer_lag_seconds{partition="1",topic="sluice-ingest"} 1.5
sluice_worker_consumer_lag_seconds{partition="0",topic="sluice-ingest-slow"} 9.0
sluice_worker_consumer_lag_records{partition="1",topic="sluice-ingest"} 7000.0
"""


def test_the_consumer_lag_is_the_largest_age_over_the_topics_partitions():
    assert consumer_lag_s(METRICS, "sluice-ingest") == 1.5
    assert consumer_lag_s(METRICS, "sluice-ingest-slow") == 9.0


def test_no_lag_exposed_yet_reads_as_nothing_waiting():
    assert consumer_lag_s("# HELP nothing\n", "sluice-ingest") == 0.0


def test_cpu_per_record_is_each_roles_seconds_between_the_samples_over_the_records():
    before = CpuSample(0.0, {"worker": 10.0, "gateway": 2.0}, idle_ticks=100, total_ticks=1000)
    after = CpuSample(30.0, {"worker": 16.0, "gateway": 2.9}, idle_ticks=700, total_ticks=7000)
    figures = cpu_figures(before, after, records=3_000_000)
    assert math.isclose(figures["cpu_us_per_record_worker"], 2.0)
    assert math.isclose(figures["cpu_us_per_record_gateway"], 0.3)
    assert math.isclose(figures["machine_idle_share"], 0.1)
