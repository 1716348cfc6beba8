"""Logstash ``json_lines`` (TCP/UDP listener, gateway/logstash.py): no HTTP endpoint, one Kafka format.

Folder: ``wire.py`` the event shape (``split``) and its storability; this
module the decoding of a published record: ``[event, ...]`` of one tenant; ``rows.py`` an event's
columns (the reference the hot path's hotpath/src/logstash*.rs equals).
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.dialect import Decoding, Dialect
from schemas.dialects.logstash import wire
from schemas.formats import Format, InvalidBody
from schemas.json_body import unstorable


def decode(body: bytes, limits: Any = None) -> list:
    """``[events]``: one list of split events (``wire.Event``), each within what the tables hold."""
    try:
        events = wire.parse_batch(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidBody("malformed_json", f"not a JSON array of events: {exc!s:.200}") from None
    split = list(map(wire.split, events))
    for index, event in enumerate(split):
        found = wire.unstorable(event)
        if found is not None:
            field, why = found
            raise unstorable(why, f"$[{index}]" + (f"[{field!r}]" if field else ""))
    return [split]


DIALECT = Dialect("logstash", {Format.LOGSTASH_LINES: Decoding(decode)})
