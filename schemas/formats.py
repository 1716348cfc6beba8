"""The formats a Kafka ingest record can carry, and one decoder per format.

A format names both the dialect and the body's shape (a batch, or one entry).
``decode`` turns a body into the list of entries it holds; the gateway and the
workers share it, so both sides agree on what a valid body is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import msgspec

from schemas import dialects as d
from schemas import native as n


class Format(str, enum.Enum):
    ASTRALOG_DRAIN = "astralog.drain.v1"
    LOGTRACE_INGEST = "logtrace.ingest.v1"
    LOGINFORMANT_BATCH = "loginformant.batch.v1"
    LOGINFORMANT_SINGLE = "loginformant.single.v1"
    NATIVE_RECORD = "sluice.record.v1"
    NATIVE_BATCH = "sluice.batch.v1"

    @property
    def dialect(self) -> str:
        """The label for metrics and the ``Source`` column: the HTTP dialect, or ``native``."""
        prefix = self.value.split(".", 1)[0]
        return "native" if prefix == "sluice" else prefix


class InvalidBody(ValueError):
    """A body that does not match its format; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Spec:
    decoder: msgspec.json.Decoder
    unwrap: Callable[[Any], list]


_SPECS: dict[Format, _Spec] = {
    Format.ASTRALOG_DRAIN: _Spec(msgspec.json.Decoder(d.AstraLogDrain), lambda b: b.logs),
    Format.LOGTRACE_INGEST: _Spec(msgspec.json.Decoder(d.LogTraceIngest), lambda b: b.logs),
    Format.LOGINFORMANT_BATCH: _Spec(msgspec.json.Decoder(d.LogInformantBatch), lambda b: b.logs),
    Format.LOGINFORMANT_SINGLE: _Spec(msgspec.json.Decoder(d.LogInformantLog), lambda b: [b]),
    Format.NATIVE_RECORD: _Spec(msgspec.json.Decoder(n.LogRecord), lambda b: [b]),
    Format.NATIVE_BATCH: _Spec(msgspec.json.Decoder(n.LogBatch), lambda b: b.records),
}
_SINGLE = (Format.LOGINFORMANT_SINGLE, Format.NATIVE_RECORD)


def decode(fmt: Format, body: bytes) -> list:
    """Decode ``body`` into its entries, or raise ``InvalidBody``.

    Error messages name the JSON path of the offending value, such as
    ``$.logs[3].timestamp``, so a client can find the entry and the field.
    """
    spec = _SPECS[fmt]
    try:
        entries = spec.unwrap(spec.decoder.decode(body))
    except msgspec.ValidationError as exc:
        raise InvalidBody("invalid_field", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise InvalidBody("malformed_json", f"The body is not valid JSON: {exc}") from None
    for index, entry in enumerate(entries):
        ts: datetime | None = entry.timestamp
        if ts is not None and not d.MIN_YEAR <= ts.year <= d.MAX_YEAR:
            path = "$" if fmt in _SINGLE else f"$.{'records' if fmt is Format.NATIVE_BATCH else 'logs'}[{index}]"
            raise InvalidBody(
                "invalid_field",
                f"Timestamp year {ts.year} is outside {d.MIN_YEAR}-{d.MAX_YEAR} - at `{path}.timestamp`",
            )
    return entries
