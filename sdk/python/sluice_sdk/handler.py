"""A ``logging.Handler`` that sends records through a ``Client``.

Extra fields (``logger.info("paid", extra={"order_id": 7})``) become structured
fields; the logger's name is sent as ``logger``. ``emit`` never blocks and
never raises, like the client.
"""

from __future__ import annotations

import logging
from typing import Any

from sluice_sdk.client import Client

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class SluiceHandler(logging.Handler):
    def __init__(self, client: Client, level: int = logging.NOTSET):
        super().__init__(level)
        self.client = client

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {k: v for k, v in vars(record).items() if k not in _STANDARD}
            fields["logger"] = record.name
            if record.exc_info:
                fields["exception"] = logging.Formatter().formatException(record.exc_info)
            self.client.log(record.levelname.lower(), record.getMessage(), **fields)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.client.flush(5.0)

    def close(self) -> None:
        self.client.close()
        super().close()


def structlog_processor(client: Client):
    """A structlog processor that sends each event and passes it on unchanged."""

    def send(logger: Any, method: str, event: dict) -> dict:
        fields = {k: v for k, v in event.items() if k not in ("event", "level", "timestamp")}
        client.log(str(event.get("level", method)), str(event.get("event", "")), **fields)
        return event

    return send
