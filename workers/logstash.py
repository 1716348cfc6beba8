"""Logstash events to ``LogRow``s: the events come split and checked (``schemas.dialects.logstash.wire.split``)."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.envelope import Envelope
from schemas.dialects.logstash.wire import Event
from workers.normalize import LogRow, flatten, to_ns
from schemas.severity import severity_number

_json = msgspec.json.Encoder()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _json.encode(value).decode()


def normalize_logstash(batches: list[list[Event]], env: Envelope) -> list[LogRow]:
    rows = []
    for events in batches:
        for event in events:
            ts = env.received_ns if event.timestamp is None else to_ns(event.timestamp)
            level = _text(event.level)
            host = event.host
            if isinstance(host, dict):  # the ECS shape: {"name": ..., ...}
                host = host.get("name") or host.get("hostname")
            resource = {"host.name": str(host)} if host else {}
            rows.append(LogRow(
                env.tenant, env.environment, "logstash", env.request_id, env.received_ns, ts, level,
                severity_number(level), _text(event.service), _text(event.message), "", "", resource,
                flatten(event.attributes), 0, _text(event.logger), "",
            ))
    return rows
