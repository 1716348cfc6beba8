"""Running a worker process: migrate ClickHouse, then run the Faust app until signalled."""

from __future__ import annotations

import asyncio
import sys

import faust

from sluice import logs
from sluice.kafka.clients import ensure_topics
from sluice.kafka.durability import TopicDurabilityError
from sluice.secrets import MasterKeyError, master_key
from sluice.settings import Settings
from sluice.storage import Storage, migrate
from workers.app import Fatal, create_app


EXIT_ERROR = 1  # an unexpected error stopped the worker
EXIT_CONFIG = 2  # the worker cannot start as configured (no master key, a topic weaker than configured)


def run(settings: Settings) -> int:
    logs.setup(settings.log_level)
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
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass
    finally:
        storage.close()
    return 0 if fatal.reason is None else EXIT_ERROR
