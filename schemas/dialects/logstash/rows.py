"""Logstash events to ``logs`` columns: the events come split and checked (``schemas.dialects.logstash.wire.split``)."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.envelope import Envelope
from schemas.dialects.logstash.wire import Event
from schemas.rows.columnar import LogColumns
from schemas.rows.normalize import flatten

_json = msgspec.json.Encoder()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _json.encode(value).decode()


def normalize_logstash(batches: list[list[Event]], env: Envelope) -> LogColumns:
    """The rows of one record's events, in order; an event without a timestamp has the receive time."""
    times, levels, services, bodies, resources, attrs, loggers = [], [], [], [], [], [], []
    for events in batches:
        for event in events:
            times.append(event.timestamp)
            levels.append(_text(event.level))
            host = event.host
            if isinstance(host, dict):  # the ECS shape: {"name": ..., ...}
                host = host.get("name") or host.get("hostname")
            resources.append({"host.name": str(host)} if host else {})
            services.append(_text(event.service))
            bodies.append(_text(event.message))
            attrs.append(flatten(event.attributes))
            loggers.append(_text(event.logger))
    return LogColumns(env, "logstash", times, levels, services, bodies, attrs, resource=resources,
                      scope_name=loggers)
