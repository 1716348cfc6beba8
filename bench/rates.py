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

#: A paced load is kept up with when, at its end, no more than this many seconds' worth of its
#: records were accepted and not yet stored: a worker that keeps up is behind by its freshness
#: (about half a second), one that does not falls further behind every second.
BEHIND_S = 1.0


class UnderLoad:
    rate: float | None = None  # rows stored per second while the gateway was loaded too


@contextlib.contextmanager
def under_load(rows: Callable[[], int], skip_s: float,
               clock: Callable[[], float] = time.perf_counter) -> Iterator[UnderLoad]:
    """The stored rate (by ``rows()``) while the block's load runs, from ``skip_s`` after it began
    to its end; None when the block ended before ``skip_s``."""
    result, done = UnderLoad(), threading.Event()
    first: list[tuple[float, int]] = []

    def sample() -> tuple[float, int]:
        began = clock()
        n = rows()
        return (began + clock()) / 2, n  # the count is of some moment during the query

    def first_sample() -> None:
        if not done.wait(skip_s):  # a timed sample point, not a wait for a condition
            first.append(sample())

    sampler = threading.Thread(target=first_sample)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
    if first:
        (t0, rows0), (t1, rows1) = first[0], sample()
        result.rate = (rows1 - rows0) / (t1 - t0)


@dataclass(frozen=True)
class Trial:
    rate: float  # records/s asked for
    behind_s: float  # accepted and not yet stored at the end, in seconds of this rate


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
