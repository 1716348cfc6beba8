"""The embedded engine's reads run on their own threads: beside a busy writer and beside each other."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytestmark = pytest.mark.integration

# About three seconds of engine time in small blocks, so the engine's per-block sleep cap does not apply.
SLOW = "SELECT sleepEachRow(0.25) FROM numbers(12)"


async def test_a_read_is_answered_while_the_writing_thread_is_busy(storage):
    gate = threading.Event()
    busy = asyncio.ensure_future(storage.run(lambda client: gate.wait(60)))
    try:
        columns, rows = await asyncio.wait_for(storage.read("SELECT 41 + 1 AS answer", None, {}), 30)
        assert (columns, rows) == (["answer"], [[42]]) and not busy.done()
    finally:
        gate.set()
        assert await busy is True


async def test_a_short_read_finishes_while_a_long_one_runs(storage):
    long = asyncio.ensure_future(storage.read(SLOW, None, {"max_block_size": 1}))
    columns, rows = await asyncio.wait_for(storage.read("SELECT 7", None, {}), 30)
    assert rows == [[7]] and not long.done()
    assert len((await long)[1]) == 12


async def test_a_failed_read_leaves_its_thread_able_to_read(storage):
    for _ in range(storage.settings.query_threads + 1):  # every reading thread, at least once
        with pytest.raises(Exception):
            await storage.read("SELECT throwIf(1, 'refused on purpose')", None, {})
    results = await asyncio.gather(*(storage.read("SELECT 1", None, {}) for _ in range(8)))
    assert all(rows == [[1]] for _, rows in results)
