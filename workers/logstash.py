"""Logstash events to ``LogRow``s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from schemas import logstash as ls
from schemas.envelope import Envelope
from workers.normalize import LogRow, flatten, to_ns
from workers.severity import severity_number

_json = msgspec.json.Encoder()


def _first(event: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = event.pop(name, None)
        if value is not None:
            return value if isinstance(value, str) else _json.encode(value).decode()
    return ""


def _timestamp(value: Any, default: int) -> int:
    if isinstance(value, str):
        try:
            return to_ns(datetime.fromisoformat(value))
        except ValueError:
            return default
    return default


def normalize_logstash(batches: list[list[dict[str, Any]]], env: Envelope) -> list[LogRow]:
    rows = []
    for events in batches:
        for original in events:
            event = dict(original)
            event.pop(ls.VERSION, None)
            event.pop(ls.TOKEN_FIELD, None)  # never stored, even if a producer left it in
            ts = _timestamp(event.pop(ls.TIMESTAMP, None), env.received_ns)
            level = _first(event, ls.LEVEL_FIELDS)
            body = _first(event, (ls.MESSAGE,))
            logger = _first(event, ls.LOGGER_FIELDS)
            service = _first(event, ls.SERVICE_FIELDS)
            host = event.pop("host", None)
            if isinstance(host, dict):  # the ECS shape: {"name": ..., ...}
                host = host.get("name") or host.get("hostname")
            resource = {"host.name": str(host)} if host else {}
            rows.append(LogRow(
                env.tenant, env.environment, "logstash", env.request_id, env.received_ns, ts, level,
                severity_number(level), service, body, "", "", resource, flatten(event),
                0, logger, "",
            ))
    return rows
