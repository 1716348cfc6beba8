"""Running a worker process: migrate ClickHouse, then run the Faust app until signalled."""

from __future__ import annotations

import asyncio

import faust

from sluice import logs
from sluice.kafka.clients import ensure_topics
from sluice.settings import Settings
from sluice.storage import Storage, migrate
from workers.app import Fatal, create_app
from workers.deadletter import DeadLetterLimitExceeded


EXIT_DLQ_LIMIT = 3  # dead-lettering most of the input: a misconfiguration
EXIT_ERROR = 1  # an unexpected error stopped the worker


def run(settings: Settings) -> int:
    logs.setup(settings.log_level)
    asyncio.run(ensure_topics(settings))
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
    if fatal.reason is None:
        return 0
    return EXIT_DLQ_LIMIT if isinstance(fatal.reason, DeadLetterLimitExceeded) else EXIT_ERROR
