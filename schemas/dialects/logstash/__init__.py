"""Logstash ``json_lines`` (TCP/UDP listener, gateway/logstash.py): no HTTP endpoint, one Kafka format.

Folder: ``wire.py`` the parsing of events; ``columns.py`` which of an event's fields fill which column
(schemas/free_form.py), declared as data; this module the decoding of a published record: ``[event, ...]`` of
one tenant, split and checked; the workers map the split events generically (schemas/rows/free_form.py, and the hot path).
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.dialect import Decoding, Dialect
from schemas.dialects.logstash import wire
from schemas.dialects.logstash.columns import EVENT
from schemas.formats import Format, InvalidBody
from schemas.json_body import unstorable


def decode(body: bytes, limits: Any = None) -> list:
    """``[events]``: one list of split events (``schemas.free_form.Event``), each within what the tables hold."""
    try:
        events = wire.parse_batch(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidBody("malformed_json", f"not a JSON array of events: {exc!s:.200}") from None
    split = list(map(EVENT.split, events))
    for index, event in enumerate(split):
        found = EVENT.unstorable(event)
        if found is not None:
            field, why = found
            raise unstorable(why, f"$[{index}]" + (f"[{field!r}]" if field else ""))
    return [split]


DIALECT = Dialect("logstash", {Format.LOGSTASH_LINES: Decoding(decode)}, free_form={Format.LOGSTASH_LINES: EVENT})
