"""Running a worker process: migrate ClickHouse, then run the Faust app until signalled."""

from __future__ import annotations

import asyncio
import logging
import sys

import faust

from sluice import heap, logs, priority, shutdown
from sluice.kafka.clients import ensure_topics
from sluice.kafka.durability import TopicDurabilityError
from sluice.secrets import MasterKeyError, master_key
from sluice.settings import Settings
from sluice.storage import Storage, migrate
from workers.app import Fatal, create_app

log = logging.getLogger(__name__)

EXIT_ERROR = 1  # an unexpected error stopped the worker
EXIT_CONFIG = 2  # the worker cannot start as configured (no master key, a weaker topic, a bad niceness or threshold)


def run(settings: Settings) -> int:
    """Run the worker until signalled; its exit status. The worker's priority is lowered first, so that
    the threads already running and every thread started later (the embedded engine's too) run at it."""
    try:
        priority.check(settings.worker_nice, "worker_nice")
        priority.check(settings.slow_lane_nice, "slow_lane_nice")
        heap.check(settings.worker_mmap_threshold_bytes, "worker_mmap_threshold_bytes")
    except ValueError as exc:
        print(f"sluice worker: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    priority.lower_process(settings.worker_nice)
    threshold = mmap_threshold(settings)
    fixed = heap.fix_mmap_threshold(threshold)
    logs.setup(settings.log_level)
    if threshold and not fixed:
        log.warning("worker_mmap_threshold_bytes not applied: this C library has no glibc mallopt")
    try:
        master_key(settings)  # a worker with a key of its own would dead-letter every LogFlux entry
    except MasterKeyError as exc:
        print(f"sluice worker: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(ensure_topics(settings))
    except TopicDurabilityError as exc:  # a topic weaker than configured: one line for the operator, no traceback
        print(f"sluice worker: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    fatal = Fatal()
    app = create_app(settings, storage, fatal)
    # override_logging=False: the worker keeps Sluice's JSON lines (logs.setup above), not Faust's format
    worker = _Worker(
        app, settings.shutdown_timeout_s, fatal,
        loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False, override_logging=False,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass
    finally:
        storage.close()
    return 0 if fatal.reason is None else EXIT_ERROR


def mmap_threshold(settings: Settings) -> int:
    """The mmap threshold the worker fixes (sluice/heap.py): none with the embedded engine, whose inserts
    allocate large blocks by the thousand in this process; mapped one by one, they cost a quarter of its
    stored rate (docs/performance.md, "worker memory")."""
    return 0 if settings.embedded_clickhouse else settings.worker_mmap_threshold_bytes


class _Worker(faust.Worker):
    """Faust's worker with a deadline on stopping (sluice/shutdown.py): with the broker gone,
    aiokafka's close would otherwise wait on it until the SIGKILL."""

    def __init__(self, app: faust.App, deadline_s: float, fatal: Fatal, **kwargs):
        super().__init__(app, **kwargs)
        self._deadline_s = deadline_s
        self._fatal = fatal
        self.spinner = None  # a terminal spinner writes escape codes into the JSON log

    def _schedule_shutdown(self, signal) -> None:  # SIGTERM and SIGINT both come through here (mode.Worker)
        shutdown.arm(self._deadline_s, "worker", lambda: 0 if self._fatal.reason is None else EXIT_ERROR)
        super()._schedule_shutdown(signal)
