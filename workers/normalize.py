"""Every dialect's entries turned into one row shape, ``LogRow``.

Plain functions of (entries, envelope): deterministic, so a replayed Kafka
record yields exactly the rows it yielded the first time (a missing
timestamp becomes the gateway's receive time, carried in the envelope, never
the worker's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, NamedTuple

import msgspec

from schemas import dialects as d
from schemas import native as n
from schemas.envelope import Envelope
from schemas.formats import Format
from workers.severity import severity_number

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = timedelta(microseconds=1)
_json = msgspec.json.Encoder()


class LogRow(NamedTuple):
    tenant: str  # envelope: the API key's tenant
    environment: str  # the key's environment (production, staging, development)
    source: str  # the dialect the record came in through
    request_id: str  # envelope: the id the client got back
    received_ns: int  # envelope: when the gateway accepted the request
    timestamp_ns: int  # the entry's own time, UTC, or received_ns when it has none
    severity_text: str  # the level as the client spelled it
    severity_number: int  # OTel SeverityNumber, see workers/severity.py
    service: str  # the emitting service (AstraLog/LogTrace service, LogInformant source)
    body: str  # the message
    trace_id: str
    span_id: str
    resource_attributes: dict[str, str]  # describes the emitter (project, host)
    log_attributes: dict[str, str]  # the entry's own structured data, flattened
    trace_flags: int = 0  # W3C trace flags (native records only)
    scope_name: str = ""  # instrumentation scope (native records only)
    scope_version: str = ""
    scope_attributes: dict[str, str] = {}  # shared default, never mutated


def to_ns(ts: datetime) -> int:
    """Nanoseconds since the epoch; a naive timestamp is UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return (ts - _EPOCH) // _NS * 1000


def flatten(values: dict[str, Any] | None, out: dict[str, str] | None = None, prefix: str = "") -> dict[str, str]:
    """Flatten JSON values into string attributes.

    Nested objects become dotted keys (``{"user": {"id": 7}}`` → ``user.id``);
    strings stay as they are; numbers, booleans, null and arrays are stored as
    their JSON text (``42``, ``true``, ``null``, ``[1,2]``), so presence and
    type survive the Map(String, String) column.
    """
    out = {} if out is None else out
    if not values:
        return out
    for key, value in values.items():
        name = prefix + key if prefix else key
        kind = type(value)  # exact types: bool must not pass as int
        if kind is str:
            out[name] = value
        elif kind is int:
            out[name] = str(value)
        elif kind is dict:
            if value:
                flatten(value, out, name + ".")
            else:
                out[name] = "{}"
        elif value is None:
            out[name] = "null"
        else:
            out[name] = _json.encode(value).decode()
    return out


def _astralog(entries: list[d.AstraLogEntry], env: Envelope) -> Iterable[LogRow]:
    for e in entries:
        yield LogRow(
            env.tenant, env.environment, "astralog", env.request_id, env.received_ns,
            to_ns(e.timestamp), e.level, severity_number(e.level), e.service, e.message, "", "",
            {"project_id": e.project_id}, flatten(e.metadata),
        )


def _logtrace(entries: list[d.LogTraceEvent], env: Envelope) -> Iterable[LogRow]:
    for e in entries:
        yield LogRow(
            env.tenant, env.environment, "logtrace", env.request_id, env.received_ns,
            to_ns(e.timestamp), e.level, severity_number(e.level), e.service, e.message,
            e.trace_id, e.span_id, {"host.name": e.host} if e.host else {}, flatten(e.attributes),
        )


def _loginformant(entries: list[d.LogInformantLog], env: Envelope) -> Iterable[LogRow]:
    for e in entries:
        attributes = flatten(e.properties)
        if e.exception is not None:
            attributes["exception.stacktrace"] = e.exception
        ts = env.received_ns if e.timestamp is None else to_ns(e.timestamp)
        yield LogRow(
            env.tenant, env.environment, "loginformant", env.request_id, env.received_ns,
            ts, e.level, severity_number(e.level), e.source, e.message, "", "", {}, attributes,
        )


def _native(entries: list[n.LogRecord], env: Envelope) -> Iterable[LogRow]:
    for e in entries:
        number = severity_number(e.severity_text) if e.severity_number is None else e.severity_number
        ts = env.received_ns if e.timestamp is None else to_ns(e.timestamp)
        yield LogRow(
            env.tenant, env.environment, "native", env.request_id, env.received_ns, ts,
            e.severity_text, number, e.service_name, e.body, e.trace_id, e.span_id,
            flatten(e.resource_attributes), flatten(e.attributes),
            e.trace_flags, e.scope_name, e.scope_version,
        )


NORMALIZERS: dict[Format, Callable[[list, Envelope], Iterable[LogRow]]] = {
    Format.ASTRALOG_DRAIN: _astralog,
    Format.LOGTRACE_INGEST: _logtrace,
    Format.LOGINFORMANT_BATCH: _loginformant,
    Format.LOGINFORMANT_SINGLE: _loginformant,
    Format.NATIVE_RECORD: _native,
    Format.NATIVE_BATCH: _native,
}


def normalize(fmt: Format, entries: list, env: Envelope) -> list[LogRow]:
    return list(NORMALIZERS[fmt](entries, env))
