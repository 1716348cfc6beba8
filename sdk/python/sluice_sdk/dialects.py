"""How a batch of records becomes a request: LogTrace (plain), LogFlux (encrypted) or LogInformant."""

from __future__ import annotations

import json
from typing import Any, Optional, Protocol

Record = tuple[str, str, str, dict]  # (ISO timestamp, level, message, fields)


class Dialect(Protocol):
    path: str
    max_batch: int

    def body(self, records: list[Record]) -> bytes: ...

    def headers(self, key: str) -> dict[str, str]: ...


class LogTrace:
    """``POST /v1/logs/ingest`` with ``{"logs": [...]}``; up to 5,000 per request."""

    path = "/v1/logs/ingest"
    max_batch = 5000

    def __init__(self, service: str = "", host: str = ""):
        self.service, self.host = service, host

    def body(self, records: list[Record]) -> bytes:
        logs = []
        for ts, level, message, fields in records:
            fields = dict(fields)
            entry: dict[str, Any] = {"timestamp": ts, "level": level.upper(), "message": message,
                                     "service": str(fields.pop("service", self.service)),
                                     "host": str(fields.pop("host", self.host))}
            for name in ("trace_id", "span_id"):
                if name in fields:
                    entry[name] = str(fields.pop(name))
            if fields:
                entry["attributes"] = fields
            logs.append(entry)
        return json.dumps({"logs": logs}, default=str).encode()

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


class LogFlux:
    """``POST /v1/batch`` with ``{"entries": [...]}``, each entry encrypted; up to 100 per request."""

    path = "/v1/batch"
    max_batch = 100

    def __init__(self, secret: str, node: str = "", salt: Optional[bytes] = None):
        from sluice_sdk.logflux import Session

        self.node = node
        self.session = Session(secret, salt)

    def body(self, records: list[Record]) -> bytes:
        entries = [self.session.entry(str(f.get("service", self.node)) or "app", level, message, ts,
                                      {k: v for k, v in f.items() if k != "service"})
                   for ts, level, message, f in records]
        return json.dumps({"entries": entries}).encode()

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


# loginformant.txt accepts five levels; the syslog ones fold into the nearest.
LOGINFORMANT_LEVELS = {"debug": "Debug", "info": "Information", "notice": "Information", "warning": "Warning",
                       "error": "Error", "critical": "Fatal", "alert": "Fatal", "emergency": "Fatal", "fatal": "Fatal"}


class LogInformant:
    """``POST /api/ingest/batch`` with ``{"logs": [...]}`` and ``X-API-Key``; up to 500 per request.

    ``source`` is the record's ``source`` field, else the dialect's, else the
    record's ``logger`` field; ``exception`` travels as the doc's own field and
    every other field is a property.
    """

    path = "/api/ingest/batch"
    max_batch = 500

    def __init__(self, source: str = ""):
        self.source = source

    def body(self, records: list[Record]) -> bytes:
        logs = []
        for ts, level, message, fields in records:
            fields = dict(fields)
            source = fields.pop("source", None) or self.source or fields.pop("logger", "")
            entry: dict[str, Any] = {"timestamp": ts, "level": LOGINFORMANT_LEVELS.get(level.lower(), "Information"),
                                     "message": message, "source": str(source)}
            if "exception" in fields:
                entry["exception"] = str(fields.pop("exception"))
            if fields:
                entry["properties"] = fields
            logs.append(entry)
        return json.dumps({"logs": logs}, default=str).encode()

    def headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key, "Content-Type": "application/json"}
