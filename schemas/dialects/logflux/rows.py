"""LogFlux's mapping to ``logs`` rows, once the worker has decrypted each entry (workers/logflux.py): the
plaintext's body and attributes, the entries' columns, and what a failed entry looks like dead-lettered.

Entries fail one by one: an entry that does not decrypt, or whose decrypted
fields the ``logs`` table cannot hold (schemas/storable.py), is dead-lettered
alone and the rest of its request is stored.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.dialects.logflux import wire as lf
from schemas import storable
from schemas.envelope import Envelope
from schemas.rows.columnar import IsoTimes, LogColumns, SameKeys
from schemas.rows.normalize import flatten

_object = msgspec.json.Decoder(dict[str, Any])
BODY_FIELDS = ("message", "msg", "event")
NODE_ATTRIBUTES = ("host.name", "service.name")  # what ``node`` names, as resource attributes


def body_and_attributes(plaintext: bytes) -> tuple[str, dict[str, str]]:
    """A JSON object's message/msg/event field is the body and the rest attributes;
    anything else is the body as text. ``storable.Unstorable`` for an object whose
    attributes are more, or nest deeper, than the contract allows."""
    if plaintext[:1] == b"{":
        try:
            fields = _object.decode(plaintext)
        except msgspec.DecodeError:
            fields = None
        except RecursionError:
            storable.too_deep("fields")
        if fields is not None:
            body = ""
            for name in BODY_FIELDS:
                if type(fields.get(name)) is str:
                    body = fields.pop(name)
                    break
            if fields:
                storable.check_tree(fields, "fields")
            return body, flatten(fields)
    return plaintext.decode("utf-8", errors="replace"), {}


def columns(kept: list[lf.LogFluxEntry], bodies: list[str], attributes: list[dict[str, str]],
            env: Envelope) -> LogColumns:
    """The ``logs`` columns of the entries that decrypted (``kept``), with each one's body and attributes
    as ``body_and_attributes`` read them from its plaintext."""
    levels = [lf.LEVELS[e.loglevel] for e in kept]
    nodes = [e.node for e in kept]
    stamps = IsoTimes([e.timestamp for e in kept])  # checked when the record was decoded
    return LogColumns(env, "logflux", stamps, [text for text, _ in levels], nodes, bodies, attributes,
                      resource=SameKeys(NODE_ATTRIBUTES, nodes), severity_number=[number for _, number in levels])


def entry_value(fmt_is_batch: bool, value: bytes, index: int) -> bytes:
    """The bytes to dead-letter for one failed entry: the entry as sent, wrapped
    in a one-entry batch so that a replay is a valid request."""
    return entry_values(fmt_is_batch, value, [index])[0]


def entry_values(fmt_is_batch: bool, value: bytes, indexes: list[int]) -> list[bytes]:
    """``entry_value`` for several entries of one record, decoding the record once:
    a flood of undecryptable entries would otherwise decode each batch once per entry."""
    if not fmt_is_batch:
        return [value for _ in indexes]
    raw = msgspec.json.decode(value, type=lf.RawBatch).entries
    return [b'{"entries":[' + bytes(raw[i]) + b"]}" for i in indexes]