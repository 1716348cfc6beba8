"""Running a worker process: migrate ClickHouse, then run the Faust app until signalled."""

from __future__ import annotations

import asyncio

import faust

from sluice import logs
from sluice.kafka.clients import ensure_topics
from sluice.settings import Settings
from sluice.storage import Storage, migrate
from workers.app import create_app


def run(settings: Settings) -> None:
    logs.setup(settings.log_level)
    asyncio.run(ensure_topics(settings))
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    app = create_app(settings, storage)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        storage.close()
