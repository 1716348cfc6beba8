"""The Faust shell around the pipelines: consume, hand over, acknowledge.

Acknowledgement happens only after ClickHouse (and the dead-letter or
slow-lane topic) accepted a batch, and Faust commits only acknowledged
offsets. Chunks come from ``workers.take``, which acknowledges nothing
(Faust's ``take`` acknowledges a chunk even when the loop body raised).
Each lane reads and maps chunks in one task and stores them in another
(workers/handover.py), so the next chunk is mapped while one is stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Callable

import faust

from sluice import metrics
from sluice.settings import Settings
from sluice.storage import Storage
from workers import internal_sql
from workers.batches import Batch
from workers.budget import AsyncPacer
from workers.lag import LagMonitor
from workers.lanes import Lanes
from workers.consumed import Consumed, headers_of
from workers.handover import Handover
from workers.pipeline import Pipeline
from workers.poll_wake import PollWake, consumer_thread
from workers.readahead import ReadAhead
from workers.take import stream_chunks

log = logging.getLogger(__name__)


class Fatal:
    """Why the worker stopped itself, for the process's exit code."""

    reason: BaseException | None = None


def _faust_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.worker_group,
        broker=";".join(f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")),
        autodiscover=False,
        store="memory://",
        # Faust's own files go with Sluice's state, not into the working directory.
        datadir=str(settings.state_dir / "faust"),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # Stopping must not wait for records we never acknowledge (held replays,
        # a failing insert, a dead-letter stop): they are simply re-read.
        stream_wait_empty=False,
        consumer_max_fetch_size=settings.consumer_fetch_bytes,
        stream_buffer_maxsize=settings.stream_buffer_records,
        # A poll takes no more records than the stream's buffer holds: Faust keeps a poll's records in a
        # list until they fit the buffer, and aiokafka refills its own fetch buffers meanwhile, so an
        # unbounded poll (aiokafka's default) held every partition's fetch twice over while a store was
        # slow (docs/performance.md, "worker memory").
        broker_max_poll_records=settings.stream_buffer_records or None,  # 0: both unbounded, as Faust reads it
        producer_max_request_size=settings.max_record_bytes,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
    )


async def _consume(stream, pipeline: Pipeline, settings: Settings, lanes: Lanes, fatal: Fatal,
                   on_stored: Callable[[Batch], None] = lambda batch: None,
                   pacer: AsyncPacer | None = None, readahead: ReadAhead | None = None,
                   wake: PollWake | None = None) -> None:
    """Read and map chunks in one task, store them in another (workers/handover.py): the next chunk
    is mapped while the one before it is stored. ``readahead`` bounds what waits in the stream's buffer
    by the sizes of the records taken (workers/readahead.py); ``wake`` wakes the consumer's poll as the
    buffer drains (workers/poll_wake.py)."""
    await lanes.ready()
    if readahead is not None:
        readahead.bind(queue=stream.channel.queue)
    if wake is not None:
        wake.bind_queue(stream.channel.queue)
    # A paced lane takes about a second's worth of records at a time.
    chunk = settings.batch_max_records if pacer is None else max(1, min(settings.batch_max_records, int(pacer.rate)))
    handover: Handover[Consumed, object] = Handover(settings.batch_max_bytes, chunk)

    async def read() -> None:
        # Each chunk no larger than the handover has room for, read once it is at most half full
        # (workers/handover.py): a lane holds two chunks' bounds, not three.
        room_records, room_bytes = (lambda: handover.room()[0]), (lambda: handover.room()[1])
        async for events in stream_chunks(stream, room_records, room_bytes, settings.batch_max_wait_s):
            if pacer is not None:
                await pacer.take(len(events))
            if readahead is not None:
                readahead.observe(max(len(e.message.value or b"") for e in events))
            # Each partition's records together, each in the order read (the sort is stable): the hot path then
            # writes a partition's rows in one run, and the table its batch inserts is a slice of them, not a copy.
            consumed = [
                Consumed(m.topic, m.partition, m.offset, m.key, m.value, headers_of(m.headers),
                         round(m.timestamp * 1000) * 1_000_000, e)
                for e in sorted(events, key=lambda e: e.message.tp)  # (topic, partition)
                for m in (e.message,)
            ]
            await handover.put(consumed, await pipeline.premap(consumed), sum(len(r.value or b"") for r in consumed))
            await handover.half_empty()
        await handover.end()

    async def store() -> None:
        while (taken := await handover.take()) is not None:
            # Dead-lettered and moved records ride in their batch and are acknowledged with it
            # (the order: workers/pipeline.Pipeline.commit).
            for batch in await pipeline.process(taken[0], stream.ack, taken[1]):
                on_stored(batch)

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(read())
            tasks.create_task(store())
    except Exception as exc:
        # Faust would leave a crashed agent stopped in a live process: exit instead,
        # so whatever supervises the worker restarts it and the records are re-read.
        # Nothing a tenant sends gets here: unstorable records are dead-lettered.
        cause = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1 else exc
        log.critical("worker stopping after an unexpected error: %r", cause, exc_info=cause)
        _stop(fatal, cause)


def _stop(fatal: Fatal, reason: BaseException) -> None:
    """Stop like on SIGTERM: acknowledged offsets are committed, the rest is re-read."""
    fatal.reason = reason
    os.kill(os.getpid(), signal.SIGTERM)


def _count_slow(batch: Batch) -> None:
    # Only LogFlux records take the slow lane, and their rows are columnar.
    for item in batch.items:
        if item.rows:
            metrics.WORKER_SLOW_LANE.labels(item.rows.tenant, "stored").inc()


async def reread_uncommitted(consumer, assigned) -> None:
    """Seek the assigned partitions that have no committed offset back to their first record.

    A revocation drops the records in flight (``Lanes.forget``); the new owner, often this same
    worker, must read them again. After a rebalance Faust seeks to the committed offsets, but
    aiokafka seeks only to an offset above 0: a partition with nothing committed yet would go on
    from where its fetcher was, past the dropped records, and the next commit would cover them
    unstored. Reading such a partition from its start again stores nothing twice: its batches
    are rebuilt over their recorded intents, under the same insert tokens.
    """
    if not assigned:
        return
    committed = await consumer.seek_to_committed()
    uncommitted = {tp: 0 for tp in assigned if (committed.get(tp) or 0) <= 0}
    if uncommitted:
        await consumer.seek_wait(uncommitted)


def create_app(settings: Settings, storage: Storage, fatal: Fatal | None = None) -> faust.App:
    app = _faust_app(settings)
    fatal = fatal or Fatal()
    lanes = Lanes(settings, storage)
    # 0 records: Faust's buffer and polls unbounded, as Faust reads it (_faust_app).
    readahead = ReadAhead(settings.stream_buffer_records, settings.read_ahead_bytes,
                          settings.max_record_bytes) if settings.stream_buffer_records else None
    wake = PollWake()
    lag = LagMonitor(settings, (settings.ingest_topic, settings.native_topic, settings.slow_topic,
                                settings.overflow_topic))
    raw = dict(value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")

    # concurrency > 1 can commit past unacknowledged records (faust#606)
    @app.agent(app.topic(settings.ingest_topic, settings.native_topic, **raw), concurrency=1)
    async def ingest(stream):
        try:
            await _consume(stream, lanes.main, settings, lanes, fatal, readahead=readahead, wake=wake)
        finally:
            await lanes.stop()
            await lag.stop()

    @app.agent(app.topic(settings.slow_topic, **raw), concurrency=1)
    async def slow_lane(stream):
        await _consume(stream, lanes.slow, settings, lanes, fatal, on_stored=_count_slow, readahead=readahead,
                       wake=wake)

    # Enterprise requests over their rate limit, accepted by the gateway: stored
    # at a bounded pace, never dropped (gateway/ratelimit.py).
    @app.agent(app.topic(settings.overflow_topic, **raw), concurrency=1)
    async def overflow_lane(stream):
        await _consume(stream, lanes.overflow, settings, lanes, fatal,
                       pacer=AsyncPacer(settings.overflow_records_per_s), readahead=readahead, wake=wake)

    @app.timer(interval=5.0)
    async def sample_lag():
        try:
            await lag.sample()
        except Exception as exc:  # a metric must never stop the worker
            log.warning("consumer lag not sampled: %r", exc)

    @app.on_partitions_revoked.connect
    async def on_revoked(app, revoked, **kwargs):
        lanes.forget([(tp.topic, tp.partition) for tp in revoked])

    @app.on_partitions_assigned.connect
    async def on_assigned(app, assigned, **kwargs):
        # The claim's time is the assignment's: taken before anything here can wait.
        lanes.assigned([(tp.topic, tp.partition) for tp in assigned])
        loop, consumer = consumer_thread(app)  # started by the first assignment
        if readahead is not None:
            readahead.bind(consumer=consumer)
        wake.bind_consumer(loop, consumer)
        await reread_uncommitted(app.consumer, assigned)

    @app.page("/metrics")
    async def prometheus(web, request):
        body, content_type = metrics.exposition()
        return web.bytes(body, content_type=content_type.split(";")[0])

    if settings.embedded_clickhouse:
        internal_sql.mount(app, settings, storage)

    @app.page("/health")
    async def health(web, request):
        return web.json({"status": "ok"})

    return app
