"""LogInformant's request bodies (loginformant.txt): one log, or a batch of them.

Decoded by the gateway to validate and by the workers to map, with the same
types. Unknown fields are ignored; naive timestamps are UTC. Storability
(schemas/storable.py) is checked by the dialect's decoding (schemas/json_body.py);
``exception``, stored as one more attribute, counts against the attribute cap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

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
