"""The tests' helpers: for running the real pipeline, which the benchmarks share (sluice/local/harness.py), and a
clock a test moves by hand."""

from sluice.local.harness import Process, free_port, metric, post, sql, wait_for

__all__ = ["Clock", "Process", "free_port", "metric", "niceness", "post", "sql", "wait_for"]


class Clock:
    """A monotonic clock for code that takes one (``clock=time.monotonic``): it says ``now``, which the test sets."""

    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def niceness(tid: int, pid: int | str = "self") -> int:
    """The niceness thread ``tid`` of process ``pid`` runs at (Linux: the 19th field of its /proc stat)."""
    with open(f"/proc/{pid}/task/{tid}/stat") as stat:
        return int(stat.read().rpartition(")")[2].split()[16])
