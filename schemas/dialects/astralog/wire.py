"""AstraLog's request body (astralog.txt), as its public docs define it.

The gateway decodes with these types to validate; it then publishes the body
unchanged and the workers decode it again with the same types. Unknown fields
are ignored, so clients that send more than the docs list keep working.
Naive timestamps (no offset) are taken as UTC. What the types cannot say
(times the tables hold, how many attributes an entry carries) is checked
against schemas/storable.py by the dialect's decoding (schemas/json_body.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
