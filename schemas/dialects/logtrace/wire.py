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
    """logtrace.txt, ``POST /v1/logs/ingest``. The doc's example sends the first
    four fields; the optional ones carry trace context and structured data."""

    timestamp: datetime
    level: str
    message: str
    service: str = ""
    host: str = ""
    trace_id: str = ""
    span_id: str = ""
    attributes: dict[str, Any] | None = None


class LogTraceIngest(msgspec.Struct):
    logs: list[LogTraceEvent]
