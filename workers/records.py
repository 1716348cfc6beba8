"""From one Kafka record (ingest or native topic) to the rows it holds, or why it has none."""

from __future__ import annotations

from typing import Callable, Iterable, NamedTuple

from schemas.envelope import EnvelopeError, from_headers
from schemas.formats import Format, InvalidBody, decode
from sluice import metrics
from workers.normalize import LogRow, normalize


class Rejected(NamedTuple):
    reason: str  # machine-readable: the metric label and the dead-letter header
    detail: str  # for the operator; never holds secrets or record contents beyond a path


def _any_tenant(tenant: str) -> bool:
    return True


def rows_of(value: bytes | None, headers: Iterable[tuple[str, bytes]] | dict,
            timestamp_ns: int | None = None,
            tenant_known: Callable[[str], bool] = _any_tenant) -> list[LogRow] | Rejected:
    """The normalized rows of one record, or why it cannot be stored.

    ``timestamp_ns`` is the Kafka record's timestamp, the receive time of
    native records that carry none in their headers.
    """
    try:
        envelope = from_headers(headers, timestamp_ns)
    except EnvelopeError as exc:
        return Rejected("bad_envelope", str(exc))
    try:
        fmt = Format(envelope.format)
    except ValueError:
        return Rejected("unknown_format", f"unknown format {envelope.format!r}")
    if not tenant_known(envelope.tenant):
        return Rejected("unknown_tenant", f"no tenant named {envelope.tenant!r}")
    if value is None:
        return Rejected("empty_value", "record has no value")
    try:
        entries = decode(fmt, value)
    except InvalidBody as exc:
        return Rejected(exc.code, exc.message)
    metrics.WORKER_RECORDS_CONSUMED.labels(fmt.value).inc()
    return normalize(fmt, entries, envelope)
