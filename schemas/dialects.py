"""The request bodies of the plain-JSON dialects, as their public docs define them.

The gateway decodes with these types to validate; it then publishes the body
unchanged and the workers decode it again with the same types. Unknown fields
are ignored, so clients that send more than the docs list keep working.
Naive timestamps (no offset) are taken as UTC. What the types cannot say
(times the tables hold, how many attributes an entry carries) is checked
against schemas/storable.py by ``schemas.formats.decode``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec


class AstraLogEntry(msgspec.Struct):
    """astralog.txt, "Log Object Structure"."""

    project_id: str
    timestamp: datetime  # RFC 3339, ISO 8601 or SQL ("2024-05-31 15:30:45")
    level: str
    service: str
    message: str
    metadata: dict[str, Any] | None = None


class AstraLogDrain(msgspec.Struct):
    """Body of ``POST /v1/drain``."""

    logs: list[AstraLogEntry]


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


LogInformantLevel = Literal["Debug", "Information", "Warning", "Error", "Fatal"]


class LogInformantLog(msgspec.Struct):
    """loginformant.txt: level and message required; a missing timestamp means
    the time Sluice accepted the request."""

    level: LogInformantLevel
    message: str
    timestamp: datetime | None = None
    source: str = ""
    exception: str | None = None
    properties: dict[str, Any] | None = None


class LogInformantBatch(msgspec.Struct):
    logs: list[LogInformantLog]
