"""Keeping ``sluice up``'s processes running: a component that exits is started again, never a silent stop.

The delay before a restart doubles from ``first_s`` up to ``max_s`` and falls
back to ``first_s`` once a run has lasted ``stable_s``: a rare crash is
repaired within a second, while a component that cannot start costs one
attempt every half minute instead of a busy loop. Every exit is logged with
the component, its exit status, how long it ran, what it means for the rest
and the restart count; the other components keep running meanwhile.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence


class Handle(Protocol):
    def poll(self) -> int | None:
        """None while the process runs, its exit status once it has ended."""


@dataclass
class Backoff:
    first_s: float = 1.0
    max_s: float = 30.0
    # A run this long was a healthy one: the next crash is repaired at once again.
    stable_s: float = 60.0
    _next_s: float = field(default=0.0, repr=False)

    def delay(self, uptime_s: float) -> float:
        """The wait before the next start, given how long the run that just ended lasted."""
        if uptime_s >= self.stable_s or not self._next_s:
            self._next_s = self.first_s
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay


def describe(status: int) -> str:
    """An exit status as a person reads it: ``code 1`` or ``signal SIGKILL``."""
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"code {status}"


class Supervised:
    """One component: started by ``start`` (which returns its handle), restarted by ``check`` after it exits.

    ``check`` is called periodically by the one supervising loop; it neither
    blocks nor sleeps, except in ``start`` itself (the broker waits until it
    serves). ``impact`` says in a few words what the exit means meanwhile.
    """

    def __init__(self, name: str, start: Callable[[], Handle], log: Callable[[str], None], impact: str = "",
                 backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic):
        self.name, self.impact = name, impact
        self._start, self._log, self._clock = start, log, clock
        self.backoff = backoff or Backoff()
        self.handle: Handle | None = None
        self.restarts = 0  # starts after the first one
        self._started_at = 0.0
        self._due: float | None = None  # when the pending restart is due

    def start(self) -> Handle:
        self.handle = self._start()
        self._started_at = self._clock()
        return self.handle

    def check(self) -> None:
        """Notice an exit and schedule the restart, or perform a restart that is due."""
        now = self._clock()
        if self._due is not None:
            if now >= self._due:
                self._restart()
            return
        if self.handle is None or (status := self.handle.poll()) is None:
            return
        uptime = now - self._started_at
        delay = self.backoff.delay(uptime)
        self._due = now + delay
        impact = f"; {self.impact}" if self.impact else ""
        self._log(f"{self.name} exited with {describe(status)} after {uptime:.0f}s{impact}; "
                  f"restart #{self.restarts + 1} in {delay:.0f}s")

    def _restart(self) -> None:
        self._due = None
        self.restarts += 1
        try:
            self.start()
        except Exception as exc:  # a start that fails is retried like an exit, never given up
            delay = self.backoff.delay(0.0)
            self._due = self._clock() + delay
            self._log(f"{self.name} failed to start ({exc}); restart #{self.restarts + 1} in {delay:.0f}s")
            return
        self._log(f"{self.name} restarted (restart #{self.restarts})")


def stop_together(procs: Sequence[subprocess.Popen], timeout_s: float,
                  clock: Callable[[], float] = time.monotonic) -> None:
    """SIGTERM every one still running at once, wait for all within one deadline, SIGKILL the rest.

    The workers of one consumer group stop this way: stopped one after another,
    each leaving worker would hand its partitions to the others still running,
    a rebalance per worker, with batches in flight on both sides of it.
    """
    running = [proc for proc in procs if proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = clock() + timeout_s
    for proc in running:
        try:
            proc.wait(max(0.0, deadline - clock()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
