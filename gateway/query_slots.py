"""How many searches one tenant runs at once: a few slots per tenant, a bounded wait for one.

The storage runs a few searches side by side (``query_threads``); without a
cap, one tenant sending many heavy searches at once would hold every reading
thread and the others would queue behind it. Each tenant holds at most
``query_max_concurrent_per_tenant`` slots on a gateway process; a search over
that waits its turn (first come, first served) for at most
``query_queue_max_s``, then is refused with 429 ``too_many_concurrent_queries``
and a Retry-After, like VictoriaLogs' ``-search.maxQueueDuration``. Other
tenants' searches never wait for this tenant's slots.
"""

from __future__ import annotations

import asyncio

from gateway.errors import ApiError


class _Tenant:
    __slots__ = ("running", "waiting")

    def __init__(self) -> None:
        self.running = 0
        self.waiting: list[asyncio.Future] = []


class QuerySlots:
    def __init__(self, per_tenant: int, max_wait_s: float, retry_after_s: int):
        if per_tenant < 1:
            raise ValueError("query_max_concurrent_per_tenant must be at least 1")
        self.per_tenant, self.max_wait_s, self.retry_after_s = per_tenant, max_wait_s, retry_after_s
        self._tenants: dict[str, _Tenant] = {}

    def running(self, tenant: str) -> int:
        """Searches of ``tenant`` holding a slot now."""
        state = self._tenants.get(tenant)
        return state.running if state else 0

    def waiting(self, tenant: str) -> int:
        """Searches of ``tenant`` waiting for a slot."""
        state = self._tenants.get(tenant)
        return len(state.waiting) if state else 0

    def hold(self, tenant: str) -> "_Held":
        """``async with slots.hold(tenant):`` runs the body in one of ``tenant``'s slots;
        ApiError 429 when none frees up within ``max_wait_s``."""
        return _Held(self, tenant)

    async def acquire(self, tenant: str) -> None:
        state = self._tenants.setdefault(tenant, _Tenant())
        if state.running < self.per_tenant and not state.waiting:
            state.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        state.waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.max_wait_s)
        except asyncio.TimeoutError:
            if turn.done():  # handed over as the wait ran out: take it
                return
            state.waiting.remove(turn)
            raise ApiError(429, "too_many_concurrent_queries",
                           f"This tenant already runs {self.per_tenant} searches at once and none finished "
                           f"within {self.max_wait_s:g} s; retry when one has.",
                           ((b"retry-after", str(self.retry_after_s).encode()),)) from None
        except BaseException:
            if turn.done():  # the slot was handed over while we were cancelled: pass it on
                self.release(tenant)
            elif turn in state.waiting:
                state.waiting.remove(turn)
            raise

    def release(self, tenant: str) -> None:
        """Hand ``tenant``'s slot to its first waiter, or give it back."""
        state = self._tenants[tenant]
        while state.waiting:
            turn = state.waiting.pop(0)
            if not turn.done():
                turn.set_result(None)  # ``running`` is unchanged: the slot changes hands
                return
        state.running -= 1
        if not state.running:
            del self._tenants[tenant]


class _Held:
    """A slot held for an ``async with`` body (not a generator-based manager: the API's errors are frozen)."""

    __slots__ = ("slots", "tenant")

    def __init__(self, slots: QuerySlots, tenant: str):
        self.slots, self.tenant = slots, tenant

    async def __aenter__(self) -> None:
        await self.slots.acquire(self.tenant)

    async def __aexit__(self, *exc_info) -> None:
        self.slots.release(self.tenant)
