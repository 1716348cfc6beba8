"""Rate-limit counters shared by gateway replicas through Redis, without a round trip per request.

A counter's values are handed out in leases: ``INCRBY n`` on the window's key
returns a total T, and the replica owns the values T-n+1 … T outright. Each
request takes the next owned value, and it is admitted when that value is
within the limit. Since no value is ever owned twice, the replicas together
never admit more than the limit. Leases shrink as the window fills
(``lease_size``) down to one value near the limit, so the only cost is that a
request may be refused while another replica still holds a few unused values
below the limit — never more than its last small lease.

Requests waiting for a lease while a round trip is under way are coalesced
into the next one (one ``INCRBY`` per counter for all of them), and so are
budget claims (a request's records or bytes, claimed whole): a burst of them
costs one round trip on one connection, not a connection each. Once a
window's total is past the limit, requests are refused locally until the
window ends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from gateway.errors import CounterUnavailable

# Add n, and set the expiry when the window's counter is created: one atomic
# command per counter (MULTI/INCRBY/EXPIREAT/EXEC would be four).
_INCR_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
return n
"""
MAX_LEASE = 64
# A replica takes at most this share of what is left of the window.
LEASE_SHARE = 1 / 32


def lease_size(limit: int, total: int, waiting: int) -> int:
    """Values to claim for ``waiting`` requests when ``total`` values of the window are already claimed."""
    spare = int((limit - total) * LEASE_SHARE)
    return max(waiting, min(MAX_LEASE, spare))


@dataclass
class _Window:
    expires_at: int
    limit: int
    next: int = 1  # the next owned value; owned up to `end`
    end: int = 0
    total: int = 0  # the highest total Redis returned
    waiters: list[asyncio.Future] = field(default_factory=list)  # one value each, from the next lease
    claims: list[tuple[int, asyncio.Future]] = field(default_factory=list)  # (amount, future): a span each


class RedisCounter:
    def __init__(self, url: str, timeout_s: float = 0.25):
        import redis.asyncio as redis  # only gateways configured for Redis need the client
        from redis.exceptions import RedisError

        self._errors = RedisError

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._incr = self._redis.register_script(_INCR_SCRIPT)
        self._windows: dict[str, _Window] = {}
        self._sender: asyncio.Task | None = None
        self._next_sweep = 0.0
        self.round_trips = 0

    async def incr(self, name: str, expires_at: int, limit: int, amount: int = 1) -> int:
        window = self._windows.get(name)
        if window is None:
            self._sweep()
            window = self._windows[name] = _Window(expires_at, limit)
        if amount != 1:
            return await self._add(name, window, amount)
        if window.next <= window.end:
            window.next += 1
            return window.next - 1
        if window.total > window.limit:
            return window.total + 1  # every value up to the limit is taken: refuse without asking
        waiter = asyncio.get_running_loop().create_future()
        window.waiters.append(waiter)
        self._wake()
        return await waiter

    async def _add(self, name: str, window: _Window, amount: int) -> int:
        """Claim ``amount`` values at once (a budget's records or bytes) and return the last of them.

        No lease: one sized for requests means nothing to a count of bytes. The
        values claimed are owned like a lease's, so the two ways of counting mix
        on one window, and claims waiting together share the next round trip.
        """
        if window.total > window.limit:
            return window.total + amount  # the window is spent: refuse without asking
        claim = asyncio.get_running_loop().create_future()
        window.claims.append((amount, claim))
        self._wake()
        return await claim

    def _wake(self) -> None:
        """Start the round trip that serves what waits, unless one is already running (it loops)."""
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._lease())

    async def _lease(self) -> None:
        """Claim values for every window with waiting requests or claims, until none wait.

        Each window's claims and lease are one ``INCRBY`` of their sum: the
        claims take the first spans of the values returned, in the order they
        were made, and the lease's waiters the rest.
        """
        while waiting := {name: w for name, w in self._windows.items() if w.waiters or w.claims}:
            claimed = {name: sum(amount for amount, _ in w.claims) for name, w in waiting.items()}
            # A lease comes after the claims it travels with, so it is sized on the total they leave.
            batch = {name: (w.claims, w.waiters,
                            lease_size(w.limit, w.total + claimed[name], len(w.waiters)) if w.waiters else 0)
                     for name, w in waiting.items()}
            sizes = {name: claimed[name] + lease for name, (_, _, lease) in batch.items()}
            for w in waiting.values():
                w.claims, w.waiters = [], []
            try:
                totals = await self._claim(waiting, sizes)
            except BaseException as exc:  # every waiter must hear of it, or it waits forever (a cancel too)
                unavailable = isinstance(exc, (self._errors, OSError, asyncio.TimeoutError, asyncio.CancelledError))
                failure = CounterUnavailable(f"redis: {type(exc).__name__}") if unavailable else exc
                for claims, waiters, _ in batch.values():
                    for future in [f for _, f in claims] + waiters:
                        if not future.done():
                            future.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise  # cancelled (the gateway stopping): the sender ends here
                continue
            self.round_trips += 1
            for (name, w), total in zip(waiting.items(), totals):
                total = int(total)
                claims, waiters, lease = batch[name]
                value = total - sizes[name]  # the last value owned before this trip's spans
                for amount, claim in claims:
                    value += amount
                    if not claim.done():
                        claim.set_result(value)
                if lease:
                    for offset, waiter in enumerate(waiters, start=1):
                        if not waiter.done():
                            waiter.set_result(value + offset)
                    w.next, w.end = value + len(waiters) + 1, total
                w.total = max(w.total, total)

    async def _claim(self, windows: dict[str, _Window], sizes: dict[str, int]) -> list[int]:
        if len(windows) == 1:  # the common case, one hot key: a plain call, no pipeline to build
            ((name, w),) = windows.items()
            return [await self._incr(keys=[name], args=[sizes[name], w.expires_at + 1])]
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, w in windows.items():
                await self._incr(keys=[name], args=[sizes[name], w.expires_at + 1], client=pipe)
            return await pipe.execute()

    def _sweep(self) -> None:
        now = time.time()
        if now >= self._next_sweep:
            self._windows = {n: w for n, w in self._windows.items() if w.expires_at > now or w.waiters or w.claims}
            self._next_sweep = now + 1.0

    async def close(self) -> None:
        await self._redis.aclose()
