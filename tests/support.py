"""The tests' helpers for running the real pipeline, which the benchmarks share: sluice/local/harness.py."""

from sluice.local.harness import Process, free_port, metric, post, sql, wait_for

__all__ = ["Process", "free_port", "metric", "post", "sql", "wait_for"]
