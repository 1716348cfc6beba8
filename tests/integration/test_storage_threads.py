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


@pytest.mark.parametrize("threads", [1, 3])
def test_the_embedded_engine_merges_on_as_many_threads_as_the_setting_says(tmp_path, threads):
    """chDB makes the engine with its first client's options, once per process, so each case runs in a
    fresh interpreter: what it reads back is the engine's own server setting, not the option sent."""
    import os
    import subprocess
    import sys

    probe = ("from pathlib import Path; from sluice.settings import load_settings; from sluice.storage import connect;"
             "import sys; client = connect(load_settings(state_dir=Path(sys.argv[1])));"
             "print(client.query(\"SELECT value FROM system.server_settings WHERE name = 'background_pool_size'\")"
             ".result_rows[0][0])")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=120,
                         check=True, env={**os.environ, "SLUICE_ENGINE_MERGE_THREADS": str(threads)}).stdout
    assert out.strip() == str(threads)
