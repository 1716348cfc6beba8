"""The writing threads of sluice/storage.py against the real engine: calls made at once run side by side,
each thread on a client of its own, and a failed call leaves its thread's client usable."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytestmark = pytest.mark.integration


async def test_two_calls_made_at_once_run_side_by_side_on_clients_of_their_own(storage):
    assert storage.settings.insert_threads == 2
    both = threading.Barrier(2, timeout=10)  # broken, and raising, unless two threads wait at once

    def meet(client):
        both.wait()
        return id(client), client.query("SELECT 1").result_rows[0][0]

    (first, one), (second, other) = await asyncio.gather(storage.run(meet), storage.run(meet))
    assert first != second and one == other == 1


async def test_a_failed_call_leaves_its_threads_client_answering(storage):
    def fail(client):
        client.query("SELECT definitely_not_a_function()")

    for _ in range(4):  # on whichever thread each lands
        with pytest.raises(Exception, match="definitely_not_a_function"):
            await storage.run(fail)
    answers = await asyncio.gather(*(storage.run(lambda c: c.query("SELECT 42").result_rows) for _ in range(4)))
    assert answers == [[(42,)]] * 4
