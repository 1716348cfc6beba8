"""Running a worker process: migrate ClickHouse, then run the Faust app until signalled."""

from __future__ import annotations

import faust

from sluice import logs
from sluice.settings import Settings
from sluice.storage import Storage, migrate
from workers.app import create_app


def run(settings: Settings) -> None:
    logs.setup(settings.log_level)
    storage = Storage(settings)
    storage.run_sync(migrate, settings)
    app = create_app(settings, storage)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        storage.close()
