"""The formats a Kafka ingest record can carry, and the error a body that does not match one raises.

A format names both the dialect and the body's shape (a batch, or one entry);
its value travels in the ``sluice-format`` header (schemas/envelope.py), so the
values never change. Which dialect decodes a format, and how, is declared in
the dialect's folder (schemas/dialects/<name>/) and looked up through the
registry (``schemas.dialects.decode``); the gateway and the workers share it,
so both sides agree on what a valid body is.
"""

from __future__ import annotations

import enum


class Format(str, enum.Enum):
    ASTRALOG_DRAIN = "astralog.drain.v1"
    LOGTRACE_INGEST = "logtrace.ingest.v1"
    LOGINFORMANT_BATCH = "loginformant.batch.v1"
    LOGINFORMANT_SINGLE = "loginformant.single.v1"
    LOGFLUX_BATCH = "logflux.batch.v1"
    LOGFLUX_SINGLE = "logflux.ingest.v1"
    PROFOUND_CUSTOM = "profound.custom.v1"
    OTLP_PROTOBUF = "otlp.logs.v1.protobuf"
    OTLP_JSON = "otlp.logs.v1.json"
    LOGSTASH_LINES = "logstash.lines.v1"
    NATIVE_RECORD = "sluice.record.v1"
    NATIVE_BATCH = "sluice.batch.v1"
    NATIVE_ARROW = "sluice.arrow.v1"

    @property
    def dialect(self) -> str:
        """The label for metrics and the ``Source`` column: the HTTP dialect, or ``native``."""
        prefix = self.value.split(".", 1)[0]
        return "native" if prefix == "sluice" else prefix


class InvalidBody(ValueError):
    """A body that does not match its format: an HTTP status, a machine-readable
    code, a message for a person and, where useful, details (a JSON path)."""

    def __init__(self, code: str, message: str, details: str = "", status: int = 400):
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


class JsonPath:
    """``$.<field>[<index>]``, formatted only when an error message needs it: a batch's
    checks run once per entry, and almost every entry passes."""

    __slots__ = ("field", "index")

    def __init__(self, field: str):
        self.field, self.index = field, 0

    def __str__(self) -> str:
        return f"$.{self.field}[{self.index}]"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
