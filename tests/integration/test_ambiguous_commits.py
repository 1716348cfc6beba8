"""Ambiguous commits against the real ClickHouse engine, in this process: ClickHouse stored a batch, the
worker heard an error (``clickhouse-after-insert``), and other partitions pushed the batch's token out of
the deduplication window before the worker tried again. The retry, and a replay by the partition's next
owner, store nothing twice when the records carry idempotency keys (workers/sink.py,
``idempotency.recorded``); without keys only the window could tell, and it forgot.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from prometheus_client import REGISTRY

from schemas.envelope import Envelope, to_headers
from sluice.failpoints import CLICKHOUSE_AFTER_INSERT
from sluice.settings import load_settings
from sluice.storage import migrate
from tests.integration.test_sink import RecordingDeadLetters
from workers.batches import BatchPlanner
from workers.consumed import Consumed
from workers.pipeline import Pipeline
from workers.quarantine import Quarantine
from workers.records import Context
from workers.sink import ClickHouseSink

pytestmark = pytest.mark.integration
WINDOW = 2  # inserts each table's deduplication log remembers


class HeldRetries(ClickHouseSink):
    """A sink whose retries wait while ``gate`` is closed (``failed`` says an attempt failed)."""

    def __init__(self, storage, settings):
        super().__init__(storage, settings)
        self.gate, self.failed = asyncio.Event(), asyncio.Event()

    async def _reconnect(self):
        self.failed.set()
        await self.gate.wait()
        await super()._reconnect()


def records(topic: str, offsets, keyed: bool) -> list[Consumed]:
    out = []
    for o in offsets:
        env = Envelope("loginformant.batch.v1", "acme", f"req-{o}", time.time_ns(),
                       idempotency_key=f"k-{topic}-{o}" if keyed else "")
        body = ('{"logs": [%s]}' % ",".join('{"level": "Error", "message": "%s-%d-%d"}' % (topic, o, i)
                                            for i in range(3))).encode()
        out.append(Consumed(topic, 0, o, None, body, to_headers(env), env.received_ns, f"h{o}"))
    return out


@pytest.fixture
def tiny_window(storage, tmp_path):
    """Settings of a database of its own whose tables remember ``WINDOW`` insert tokens, with failpoints."""
    settings = load_settings(environ={}, state_dir=storage.settings.state_dir, insert_retry_max_backoff_s=0.05,
                             clickhouse_database=f"ambiguous_{uuid.uuid4().hex[:6]}", dedup_window=WINDOW,
                             failpoints_dir=str(tmp_path))
    storage.run_sync(migrate, settings)
    return settings


def lane(sink: ClickHouseSink) -> Pipeline:
    return Pipeline(sink, BatchPlanner(max_rows=1000), RecordingDeadLetters(), Quarantine(0.99, 100, 100, 60),
                    Context())


async def _stored_unheard_then_window_forgot(storage, settings, tmp_path, keyed: bool, replay: bool) -> tuple[int, int]:
    """The batch of ``topic`` 0-9 is stored while its worker hears an error; five batches of another topic
    follow; then the same worker retries it (or, with ``replay``, a new worker reads it again over its
    intent). Rows of the topic stored, and distinct ones."""
    topic = f"amb-{uuid.uuid4().hex[:6]}"
    switch = tmp_path / f"{CLICKHOUSE_AFTER_INSERT}@{topic}:0"
    switch.write_text("error\n")
    first = HeldRetries(storage, settings)
    attempt = asyncio.ensure_future(lane(first).process(records(topic, range(10), keyed)))
    await asyncio.wait_for(first.failed.wait(), 30)
    others = lane(ClickHouseSink(storage, settings))
    for offset in range(5):
        await others.process(records(f"other-{topic}", [offset], keyed))
    switch.unlink()
    if replay:  # the worker dies; the partition's next owner reads the records again
        attempt.cancel()
        await lane(ClickHouseSink(storage, settings)).process(records(topic, range(10), keyed))
    else:
        first.gate.set()
        await attempt
    return storage.run_sync(lambda c: c.query(
        f"SELECT count(), uniqExact(Body) FROM {settings.clickhouse_database}.logs WHERE startsWith(Body, {{t:String}})",
        parameters={"t": topic + "-"}).result_rows[0])


def unheard_commits() -> dict[str, float]:
    return {cause: REGISTRY.get_sample_value("sluice_worker_unheard_commits_total", {"cause": cause}) or 0.0
            for cause in ("retry", "replay")}


@pytest.mark.parametrize("replay", [False, True], ids=["retried", "replayed"])
async def test_a_batch_stored_unheard_is_not_stored_again_after_the_window_forgot_it(storage, tiny_window, tmp_path,
                                                                                     replay):
    before = unheard_commits()
    assert await _stored_unheard_then_window_forgot(storage, tiny_window, tmp_path, True, replay) == (30, 30)
    after = unheard_commits()
    found = {cause: after[cause] - before[cause] for cause in after}
    assert found == ({"retry": 0, "replay": 1} if replay else {"retry": 1, "replay": 0})  # the operator sees it


async def test_without_idempotency_keys_only_the_window_could_tell_and_it_forgot(storage, tiny_window, tmp_path):
    # The control, and the limit the docs state: nothing else records that the unheard commit happened.
    before = unheard_commits()
    assert await _stored_unheard_then_window_forgot(storage, tiny_window, tmp_path, False, True) == (60, 30)
    assert unheard_commits() == before
