"""Logstash ``json_lines`` events, as Logstash's tcp/udp outputs and the common Python and Java
logging handlers (python-logstash, logstash-logback-encoder) send them.

An event is any JSON object; the fields below have meaning, the rest are
attributes (``split``). A listener publishes events of one tenant as one Kafka
record: ``[event, event, ...]`` with the token field removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from schemas import storable

#: The field that carries a Sluice API key in each event (removed before publishing).
TOKEN_FIELD = "sluice_token"
TIMESTAMP, MESSAGE, VERSION = "@timestamp", "message", "@version"
LEVEL_FIELDS = ("level", "levelname", "severity", "log.level")
LOGGER_FIELDS = ("logger_name", "logger")
SERVICE_FIELDS = ("service", "service_name", "app", "application")

_event = msgspec.json.Decoder(dict[str, Any])
_events = msgspec.json.Decoder(list[dict[str, Any]])
encode = msgspec.json.Encoder().encode


class BadEvent(ValueError):
    pass


def parse_event(line: bytes) -> dict[str, Any]:
    try:
        return _event.decode(line)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise BadEvent(f"not a JSON object: {exc!s:.200}") from None


def parse_batch(value: bytes) -> list[dict[str, Any]]:
    return _events.decode(value)


class Event(NamedTuple):
    """One event split into what fills columns and what becomes attributes."""

    timestamp: datetime | None  # ``@timestamp`` as ISO 8601; None when absent or unreadable (receive time)
    level: Any  # the first of LEVEL_FIELDS that is not null, as sent; None when there is none
    message: Any
    logger: Any
    service: Any
    host: Any  # a string, or ECS's {"name": ...}
    attributes: dict[str, Any]  # every other field


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.pop(name, None)
        if value is not None:
            return value
    return None


def split(event: dict[str, Any]) -> Event:
    rest = dict(event)
    rest.pop(VERSION, None)
    rest.pop(TOKEN_FIELD, None)  # never stored, even if a producer left it in
    stamp = rest.pop(TIMESTAMP, None)
    when = None
    if isinstance(stamp, str):
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            pass
    return Event(when, _first(rest, LEVEL_FIELDS), _first(rest, (MESSAGE,)), _first(rest, LOGGER_FIELDS),
                 _first(rest, SERVICE_FIELDS), rest.pop("host", None), rest)


def unstorable(event: Event) -> tuple[str, storable.Unstorable] | None:
    """(field, why) for the first value of ``event`` the ``logs`` table cannot hold
    (schemas/storable.py), or None."""
    if event.timestamp is not None and not storable.time_fits(event.timestamp):
        return TIMESTAMP, storable.Unstorable(
            storable.OUT_OF_RANGE, f"`{TIMESTAMP}` {event.timestamp.isoformat()} is outside {storable.TIMESTAMP}")
    if event.attributes:
        try:
            storable.check_tree(event.attributes, "fields")
        except storable.Unstorable as exc:
            return "", exc
    return None
