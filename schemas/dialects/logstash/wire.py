"""Logstash ``json_lines`` events, as Logstash's tcp/udp outputs and the common Python and Java
logging handlers (python-logstash, logstash-logback-encoder) send them.

An event is any JSON object; which of its fields have meaning is declared in ``columns.py``, the rest are
attributes. A listener publishes events of one tenant as one Kafka record: ``[event, event, ...]`` with the
token field removed.
"""

from __future__ import annotations

from typing import Any

import msgspec

#: The field that carries a Sluice API key in each event (removed before publishing).
TOKEN_FIELD = "sluice_token"

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
