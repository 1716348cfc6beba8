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

#: A paced load is kept up with when the records it sent and were not yet stored do not grow across it. A
#: worker stores a chunk at a time, so that backlog rises and falls with each chunk; its least value over a
#: stretch of the load is how close the worker came back. A worker that keeps up comes back as close in the
#: trial's last third as in its middle third; one that does not falls further behind every second, by
#: (rate ÷ what it stores − 1) seconds a second: ``GROWTH_S`` over the ten or more seconds between the two
#: thirds' samples is a load 3 % or more past what the worker stores. At 160,000 records/s the worker held a
#: backlog of 1.5–2.4 s for three minutes without growing (``make bench-steady``): a least value up to
#: ``BOUND_S`` is a worker storing each chunk as large loads make it, not one falling behind. A trial within
#: ``BEHIND_S`` at its least is kept up with whatever its trend (a chunk's noise at low rates).
BEHIND_S, GROWTH_S, BOUND_S = 1.0, 0.3, 5.0

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
    earlier_s: float | None = None  # the least behind among the samples before the second mark
    least_s: float | None = None  # the least behind among the samples from the second mark on


@contextlib.contextmanager
def backlog(stored: Callable[[], int], rate: float, marks: tuple[float, float], every_s: float = 0.5,
            clock: Callable[[], float] = time.perf_counter) -> Iterator[Backlog]:
    """How far a load paced at ``rate`` was behind, sampled every ``every_s`` from ``marks[0]`` seconds after
    the block began to its end: records it sent by then (``rate`` × the seconds since the block began) less
    ``stored()``, the rows stored since it began, in seconds of the rate. The least of the samples taken
    before ``marks[1]`` is ``earlier_s``, of those from it on ``least_s``: how close the worker came back to
    the load in each stretch. A single sample reads whatever chunk is being inserted then: at 150,000
    records/s, kept up with for three minutes, one at each 30 s window's end read 0.3 to 1.7 s behind
    (``make bench-steady``). Either is None when the block ended before its stretch began."""
    result = Backlog()
    began = clock()

    def sample(done: threading.Event) -> None:
        if done.wait(marks[0]):  # timed sample points, not a wait for a condition
            return
        while True:
            at = clock()
            behind = (rate * (at - began) - stored()) / rate
            field = "earlier_s" if at - began < marks[1] else "least_s"
            least = getattr(result, field)
            setattr(result, field, behind if least is None else min(least, behind))
            if done.wait(every_s):
                return

    with _sampling(sample):
        yield result


@dataclass(frozen=True)
class Trial:
    rate: float  # records/s asked for
    behind_s: float  # the least sent and not yet stored in the trial's last third, in seconds of this rate
    growth_s: float | None = None  # ``behind_s`` less the least in its middle third; None when not measured

    @property
    def kept_up(self) -> bool:
        """The backlog did not grow across the trial (see ``GROWTH_S``), or stayed within ``BEHIND_S``."""
        if self.behind_s <= BEHIND_S:
            return True
        return self.growth_s is not None and self.growth_s <= GROWTH_S and self.behind_s <= BOUND_S


#: When no trial of the bisection kept up, the lower bound is tried too, and then rates a tenth lower
#: each, at most ``DOWN_STEPS`` trials in all: the rate under load is a drain rate, not one a paced load
#: was shown to be kept up with.
DOWN_STEPS, DOWN_FACTOR = 3, 0.9


def sustained(low: float, high: float, steps: int, paced: Callable[[float], Trial],
              down_steps: int = DOWN_STEPS) -> tuple[float, list[Trial]]:
    """The highest rate found, in ``steps`` bisections of [``low``, ``high``], that ``paced(rate)``
    kept up with (``Trial.kept_up``), and the trials. When none was, ``low`` and then rates
    ``DOWN_FACTOR`` lower each are tried, ``down_steps`` at most, and the first kept up with is the
    rate; when none of those was either, the last one tried, a bound the rate is below."""
    trials, kept = [], False
    for _ in range(steps):
        rate = (low + high) / 2
        trial = paced(rate)
        trials.append(trial)
        if trial.kept_up:
            low, kept = rate, True
        else:
            high = rate
    if kept or not down_steps:
        return low, trials
    rate = low
    for _ in range(down_steps):
        trials.append(paced(rate))
        if trials[-1].kept_up:
            break
        rate *= DOWN_FACTOR
    return trials[-1].rate, trials
