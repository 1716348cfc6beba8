"""From one Kafka record of the ingest topic to the rows it holds."""

from __future__ import annotations

import logging
from typing import Iterable, NamedTuple

from schemas.envelope import EnvelopeError, from_headers
from schemas.formats import Format, InvalidBody, decode
from sluice import metrics
from workers.normalize import LogRow, normalize

log = logging.getLogger(__name__)


class Rejected(NamedTuple):
    reason: str  # machine-readable, the metric's label
    detail: str  # for the operator's log


def rows_of(value: bytes | None, headers: Iterable[tuple[str, bytes]] | dict) -> list[LogRow] | Rejected:
    """The normalized rows of one ingest record, or why it cannot be stored."""
    try:
        envelope = from_headers(headers)
    except EnvelopeError as exc:
        return Rejected("bad_envelope", str(exc))
    try:
        fmt = Format(envelope.format)
    except ValueError:
        return Rejected("unknown_format", f"unknown format {envelope.format!r}")
    if value is None:
        return Rejected("empty_value", "record has no value")
    try:
        entries = decode(fmt, value)
    except InvalidBody as exc:
        return Rejected(exc.code, exc.message)
    metrics.WORKER_RECORDS_CONSUMED.labels(fmt.value).inc()
    return normalize(fmt, entries, envelope)


def rows_or_nothing(value: bytes | None, headers, where: str) -> list[LogRow]:
    """``rows_of``, with rejections counted and logged instead of returned."""
    result = rows_of(value, headers)
    if isinstance(result, Rejected):
        metrics.WORKER_RECORDS_REJECTED.labels(result.reason).inc()
        log.error("rejected ingest record %s: %s", where, result.detail, extra={"reason": result.reason})
        return []
    return result
