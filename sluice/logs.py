"""Sluice's own logs: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys
import threading
import time
from datetime import datetime, timezone

import msgspec

_encoder = msgspec.json.Encoder()
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats records as JSON lines; ``extra=`` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


class Repeats(logging.Filter):
    """Lets one record per (logger, message template) through each ``window_s``; the next one
    through carries ``suppressed``, how many were held back meanwhile.

    Why: with the broker unreachable aiokafka logs each failed reconnect, fetch and metadata
    refresh, a hundred lines a second per process, which buries everything else and fills disks.
    The templates are the libraries' own, so the table stays as small as their source.
    """

    MAX_KEYS = 4096

    def __init__(self, prefixes: tuple[str, ...], window_s: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.prefixes = prefixes
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, str], list] = {}  # key -> [last let through, held back since]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        if len(self._seen) >= self.MAX_KEYS:  # a message that is not a template (an exception's text)
            self._seen.clear()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window_s:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.suppressed = seen[1]
        self._seen[key] = [now, 0]
        return True


#: The loggers of the Kafka and stream libraries: kept to warnings, their repeats thinned (``Repeats``).
CLIENT_LIBRARIES = ("aiokafka", "kafka", "faust", "mode")


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Repeats(CLIENT_LIBRARIES))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every reconnect at INFO; keep them to warnings.
    for noisy in (*CLIENT_LIBRARIES, "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A thread that dies (Faust runs its consumer in one) is one JSON line too, not a bare traceback.
    threading.excepthook = _thread_died


def _thread_died(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("sluice.threads").error(
        "thread %s stopped on %s", name, args.exc_type.__name__,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
