"""LogInformant's logging handler on Sluice: ``logging`` records to ``POST /api/ingest/batch``.

    import logging
    from loginformant import LogInformantHandler
    logging.getLogger().addHandler(LogInformantHandler("YOUR-API-KEY", url="https://sluice.example.com"))

The handler follows loginformant.txt's best practices through ``sluice_sdk``'s
client: batches of up to 500, sent by a background thread so application
threads never wait on the network, retries with backoff on 5xx and 429 (and
``Retry-After``), none after 400 or 401, UTC timestamps. ``emit`` never blocks
and never raises. A record's level maps to Debug, Information, Warning, Error
or Fatal (CRITICAL); its logger name is the ``source`` unless one is given;
an exception's traceback is the ``exception`` field; ``extra`` fields are
``properties``.
"""

from __future__ import annotations

import logging
from typing import Any

from sluice_sdk.client import Client
from sluice_sdk.dialects import LogInformant
from sluice_sdk.handler import SluiceHandler

__all__ = ["LogInformantHandler"]

DEFAULT_URL = "https://app.loginformant.com"


class LogInformantHandler(SluiceHandler):
    def __init__(self, api_key: str, url: str = DEFAULT_URL, *, source: str = "", level: int = logging.NOTSET,
                 **client_options: Any):
        """``client_options`` as ``sluice_sdk.Client``'s (``batch_size``, ``max_queue``, ``flush_interval_s``…)."""
        super().__init__(Client(url, api_key, dialect=LogInformant(source), **client_options), level)
