"""Rate budgets: per-tenant token buckets, a blocking limiter and a low-priority
thread for the slow lane, and an asyncio pacer for the overflow lane."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, TypeVar

from sluice import priority

T = TypeVar("T")


class TokenBuckets:
    """One bucket per key, refilled at ``rate`` per second up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, n: int) -> bool:
        """Spend ``n`` tokens if the bucket holds them; otherwise spend nothing."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= n:
            self._buckets[key] = (tokens - n, now)
            return True
        self._buckets[key] = (tokens, now)
        return False


class Pacer:
    """Blocks callers so that ``wait`` returns at most ``rate`` times per second, process-wide."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


class AsyncPacer:
    """Spreads work to at most ``rate`` units per second, for one asyncio consumer."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self._next = 0.0

    async def take(self, n: int) -> None:
        """Return once ``n`` more units fit the rate: at once if the lane was idle."""
        now = self.clock()
        start = max(now, self._next)
        self._next = start + n / self.rate
        if start > now:
            await self.sleep(start - now)


class LowPriority:
    """Runs one call at a time on a thread of its own at niceness ``nice``, and waits for it.

    The slow lane derives its keys here: PBKDF2 releases the GIL, so while the
    machine is busy the kernel gives the cores to the gateway, the broker and
    the main lane first, and a flood of fresh salts takes what is left over
    instead of a fixed share. Only the derivation runs there, so the thread
    seldom holds the GIL while it waits for a core. Linux only; elsewhere the
    thread keeps the process's priority.
    """

    def __init__(self, nice: int):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kdf-slow",
                                        initializer=priority.lower_thread, initargs=(nice,))

    def __call__(self, fn: Callable[..., T], *args) -> T:
        return self._pool.submit(fn, *args).result()
