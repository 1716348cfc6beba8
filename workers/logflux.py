"""LogFlux entries to rows: decrypt-verify each entry, then map it like any other dialect.

Entries fail one by one: an entry that does not decrypt, or whose decrypted
fields the ``logs`` table cannot hold (schemas/storable.py), is dead-lettered
alone and the rest of its request is stored.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from schemas.dialects.logflux import wire as lf
from schemas import storable
from schemas.envelope import Envelope
from workers.columnar import IsoTimes, LogColumns, SameKeys
from workers.decrypt import DecryptError, Decryptor
from workers.normalize import flatten

_object = msgspec.json.Decoder(dict[str, Any])
BODY_FIELDS = ("message", "msg", "event")
NODE_ATTRIBUTES = ("host.name", "service.name")  # what ``node`` names, as resource attributes


class EntryFailure(NamedTuple):
    index: int
    reason: str
    detail: str


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


def normalize_logflux(entries: list[lf.LogFluxEntry], env: Envelope,
                      decryptor: Decryptor) -> tuple[LogColumns, list[EntryFailure]]:
    """The decrypted entries as ``logs`` columns, and the entries that did not decrypt
    or whose fields cannot be stored (the failure's reason is the contract's code)."""
    decrypt = decryptor.session(env.tenant).decrypt
    failures: list[EntryFailure] = []
    kept: list[lf.LogFluxEntry] = []
    bodies, attributes = [], []
    for index, e in enumerate(entries):
        try:
            plaintext = decrypt(e.iv, e.salt, e.payload)
        except DecryptError as exc:
            failures.append(EntryFailure(index, exc.reason, exc.detail))
            continue
        try:
            body, fields = body_and_attributes(plaintext)
        except storable.Unstorable as exc:
            failures.append(EntryFailure(index, exc.code, f"decrypted payload: {exc.message}"))
            continue
        kept.append(e)
        bodies.append(body)
        attributes.append(fields)
    levels = [lf.LEVELS[e.loglevel] for e in kept]
    nodes = [e.node for e in kept]
    stamps = IsoTimes([e.timestamp for e in kept])  # checked when the record was decoded
    rows = LogColumns(env, "logflux", stamps, [text for text, _ in levels], nodes, bodies, attributes,
                      resource=SameKeys(NODE_ATTRIBUTES, nodes), severity_number=[number for _, number in levels])
    return rows, failures


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