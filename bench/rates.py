"""Which rate is the most Sluice stores while it also accepts: the two bounds and the search between them.

bench.e2e's maximum phase gives two rates. "From the first request to the last row
visible" counts the drain after the load, when the worker has the cores to itself: a
steady load at that rate grows a backlog. ``under_load`` is the rate while the gateway,
loaded far past it, takes its own share of the cores: a steady load at that rate leaves
the gateway cores to spare. ``sustained`` bisects between the two with paced loads and
keeps the highest rate the worker kept up with (stepping below the lower bound when no trial
was): the maximum the paced phases take their shares of.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

#: A paced load is kept up with when, at some moment of its last third, no more than this many seconds'
#: worth of its records were sent and not yet stored: a worker that keeps up stores a chunk at a time
#: and comes back within its freshness (about half a second) of the load after each, one that does not
#: falls further behind every second and never comes back.
BEHIND_S = 1.0


class UnderLoad:
    rate: float | None = None  # rows stored per second while the gateway was loaded too


@contextlib.contextmanager
def _sampling(sample: Callable[[threading.Event], None]) -> Iterator[None]:
    """Runs ``sample(done)`` in a thread while the block runs; ``done`` is set as the block ends, and the
    block's exit waits for the thread."""
    done = threading.Event()
    sampler = threading.Thread(target=sample, args=(done,))
    sampler.start()
    try:
        yield
    finally:
        done.set()
        sampler.join()


@contextlib.contextmanager
def under_load(rows: Callable[[], int], skip_s: float,
               clock: Callable[[], float] = time.perf_counter) -> Iterator[UnderLoad]:
    """The stored rate (by ``rows()``) while the block's load runs, from ``skip_s`` after it began
    to its end; None when the block ended before ``skip_s``."""
    result = UnderLoad()
    first: list[tuple[float, int]] = []

    def sample() -> tuple[float, int]:
        began = clock()
        n = rows()
        return (began + clock()) / 2, n  # the count is of some moment during the query

    def first_sample(done: threading.Event) -> None:
        if not done.wait(skip_s):  # a timed sample point, not a wait for a condition
            first.append(sample())

    with _sampling(first_sample):
        yield result
    if first:
        (t0, rows0), (t1, rows1) = first[0], sample()
        result.rate = (rows1 - rows0) / (t1 - t0)


class Backlog:
    least_s: float | None = None  # the least behind among the samples, in seconds of the load's rate


@contextlib.contextmanager
def backlog(stored: Callable[[], int], rate: float, from_s: float, every_s: float = 0.5,
            clock: Callable[[], float] = time.perf_counter) -> Iterator[Backlog]:
    """How far a load paced at ``rate`` was behind, sampled every ``every_s`` from ``from_s`` after the
    block began to its end: records it sent by then (``rate`` × the seconds since the block began) less
    ``stored()``, the rows stored since it began. A single sample at the end reads whatever chunk is being
    inserted then: at 150,000 records/s, kept up with for three minutes, it read 0.3 to 1.7 s behind from
    one 30 s window to the next (``make bench-steady``). The least of the samples is how close the worker
    came back to the load; None when the block ended before ``from_s``."""
    result = Backlog()
    began = clock()

    def sample(done: threading.Event) -> None:
        if done.wait(from_s):  # timed sample points, not a wait for a condition
            return
        while True:
            at = clock()
            behind = (rate * (at - began) - stored()) / rate
            result.least_s = behind if result.least_s is None else min(result.least_s, behind)
            if done.wait(every_s):
                return

    with _sampling(sample):
        yield result


@dataclass(frozen=True)
class Trial:
    rate: float  # records/s asked for
    behind_s: float  # the least sent and not yet stored in the trial's last third, in seconds of this rate


#: When no trial of the bisection kept up, the lower bound is tried too, and then rates a tenth lower
#: each, at most ``DOWN_STEPS`` trials in all: the rate under load is a drain rate, not one a paced load
#: was shown to be kept up with.
DOWN_STEPS, DOWN_FACTOR = 3, 0.9


def sustained(low: float, high: float, steps: int, paced: Callable[[float], Trial],
              down_steps: int = DOWN_STEPS) -> tuple[float, list[Trial]]:
    """The highest rate found, in ``steps`` bisections of [``low``, ``high``], that ``paced(rate)``
    kept up with (``behind_s`` ≤ ``BEHIND_S``), and the trials. When none was, ``low`` and then rates
    ``DOWN_FACTOR`` lower each are tried, ``down_steps`` at most, and the first kept up with is the
    rate; when none of those was either, the last one tried, a bound the rate is below."""
    trials, kept = [], False
    for _ in range(steps):
        rate = (low + high) / 2
        trial = paced(rate)
        trials.append(trial)
        if trial.behind_s <= BEHIND_S:
            low, kept = rate, True
        else:
            high = rate
    if kept or not down_steps:
        return low, trials
    rate = low
    for _ in range(down_steps):
        trials.append(paced(rate))
        if trials[-1].behind_s <= BEHIND_S:
            break
        rate *= DOWN_FACTOR
    return trials[-1].rate, trials
