"""LogTrace's request body (logtrace.txt), as its public docs define it.

Decoded by the gateway to validate and by the workers to map, with the same
types. Unknown fields are ignored; naive timestamps are UTC. Storability
(schemas/storable.py) is checked by the dialect's decoding (schemas/json_body.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class LogTraceEvent(msgspec.Struct):
    """logtrace.txt, ``POST /v1/logs/ingest``. The doc's example sends timestamp,
    level, message and service; the optional ones carry trace context and structured
    data. The doc names no required field of a log: a missing timestamp means the
    time Sluice accepted the request, as LogInformant's does (schemas/rows/normalize.py)."""

    level: str
    message: str
    timestamp: datetime | None = None
    service: str = ""
    host: str = ""
    trace_id: str = ""
    span_id: str = ""
    attributes: dict[str, Any] | None = None


class LogTraceIngest(msgspec.Struct):
    logs: list[LogTraceEvent]
