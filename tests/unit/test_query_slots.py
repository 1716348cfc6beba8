"""Per-tenant search slots: a tenant runs at most its slots at once, waits its turn in order,
is refused 429 after the bounded wait, and never makes another tenant wait."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import ApiError
from gateway.query_slots import QuerySlots


async def settle(condition) -> None:
    """Let the other tasks run until ``condition()`` holds (a bounded number of loop turns)."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def started(log: list) -> list[str]:
    return [n for e, n in log if e == "start"]


async def _holder(slots: QuerySlots, tenant: str, release: asyncio.Event, log: list, name: str) -> None:
    async with slots.hold(tenant):
        log.append(("start", name))
        await release.wait()
    log.append(("end", name))


async def test_a_tenant_over_its_slots_waits_in_order_and_other_tenants_do_not():
    slots, log = QuerySlots(2, 5.0, 1), []
    gates = {n: asyncio.Event() for n in ("a1", "a2", "a3", "a4", "b1")}
    tasks = {n: asyncio.create_task(_holder(slots, n[0], gates[n], log, n)) for n in ("a1", "a2", "a3", "a4")}
    await settle(lambda: slots.waiting("a") == 2)  # a3 and a4 queue
    assert started(log) == ["a1", "a2"] and slots.running("a") == 2
    other = asyncio.create_task(_holder(slots, "b", gates["b1"], log, "b1"))
    await settle(lambda: "b1" in started(log))  # tenant b is not behind tenant a's queue
    gates["a2"].set()
    await tasks["a2"]
    await settle(lambda: len(started(log)) == 4)
    assert started(log) == ["a1", "a2", "b1", "a3"]  # first come, first served
    for n in ("a1", "a3", "a4", "b1"):
        gates[n].set()
    await asyncio.gather(*tasks.values(), other)
    assert started(log)[-1] == "a4" and slots.running("a") == slots.running("b") == 0


async def test_a_search_that_waits_too_long_is_a_429_with_retry_after_and_frees_its_place():
    slots, log, gate = QuerySlots(1, 0.05, 3), [], asyncio.Event()
    first = asyncio.create_task(_holder(slots, "a", gate, log, "first"))
    await settle(lambda: slots.running("a") == 1)
    with pytest.raises(ApiError) as info:
        async with slots.hold("a"):
            pass
    assert (info.value.status, info.value.code) == (429, "too_many_concurrent_queries")
    assert dict(info.value.headers)[b"retry-after"] == b"3" and "1 searches at once" in info.value.message
    gate.set()
    await first
    async with slots.hold("a"):  # the timed-out waiter left no place behind it
        assert slots.running("a") == 1
    assert slots.running("a") == 0


async def test_a_cancelled_waiter_passes_on_a_slot_it_was_handed():
    slots, log, gate = QuerySlots(1, 5.0, 1), [], asyncio.Event()
    first = asyncio.create_task(_holder(slots, "a", gate, log, "first"))
    await settle(lambda: slots.running("a") == 1)
    waiter = asyncio.create_task(_holder(slots, "a", asyncio.Event(), log, "waiter"))
    third_gate = asyncio.Event()
    third = asyncio.create_task(_holder(slots, "a", third_gate, log, "third"))
    await settle(lambda: slots.waiting("a") == 2)
    gate.set()
    waiter.cancel()  # cancelled while the slot is being handed to it
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await settle(lambda: "third" in started(log))
    assert "waiter" not in started(log) and slots.running("a") == 1
    third_gate.set()
    await third
    assert slots.running("a") == 0


async def test_an_api_error_raised_inside_a_slot_passes_through_and_frees_it():
    slots = QuerySlots(1, 1.0, 1)
    with pytest.raises(ApiError) as info:
        async with slots.hold("a"):
            raise ApiError(400, "invalid_filter", "bad")
    assert info.value.code == "invalid_filter" and slots.running("a") == 0
