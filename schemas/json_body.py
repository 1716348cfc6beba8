"""How a JSON dialect's bodies decode: a msgspec type, the batch's entry list, checks and error codes.

``json_decoding`` turns a dialect's declaration (its ``JsonSpec``) into the
``Decoding`` the registry dispatches to. Every value is checked against the
storability contract (schemas/storable.py): what decodes is what the tables
can hold. Error messages name the JSON path of the offending value, such as
``$.logs[3].timestamp``, and the bound, so a client can find the entry and the field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from schemas import storable
from schemas.dialect import Decoding
from schemas.formats import InvalidBody, JsonPath

_ATTRIBUTE_FIELDS = ("metadata", "attributes", "properties", "resource_attributes")


def unstorable(exc: storable.Unstorable, path: str) -> InvalidBody:
    """The 400 for a value the tables cannot hold, at ``path``."""
    return InvalidBody(exc.code, f"{exc.message} - at `{path}`", path)


def check_entry(entry: Any, where: object) -> None:
    """The storability contract (schemas/storable.py) for a JSON dialect's entry."""
    ts = entry.timestamp
    if ts is not None and not storable.time_fits(ts):
        path = f"{where}.timestamp"
        raise InvalidBody(storable.OUT_OF_RANGE, f"`timestamp` {ts.isoformat()} is outside {storable.TIMESTAMP} "
                                                 f"- at `{path}`", path)
    for name, reserved in _attribute_fields(type(entry)):
        values = getattr(entry, name)
        if values:
            try:
                storable.check_tree(values, reserved=reserved and entry.exception is not None)
            except storable.Unstorable as exc:
                raise unstorable(exc, f"{where}.{name}") from None


@functools.cache
def _attribute_fields(kind: type) -> tuple[tuple[str, bool], ...]:
    """The attribute fields of ``kind``, each with whether LogInformant's ``exception``, stored as one
    more attribute, counts against the same cap."""
    fields = getattr(kind, "__struct_fields__", ())
    return tuple((name, "exception" in fields) for name in _ATTRIBUTE_FIELDS if name in fields)


@dataclass(frozen=True)
class JsonSpec:
    type: Any
    field: str | None  # the list of entries in a batch body; None for a single entry
    # Raises InvalidBody for an entry at a JSON path (a str, or a JsonPath) that its type lets through.
    check: Callable[[Any, object], None] = check_entry
    # A dialect's own error for a failed constraint (message, JSON path, body), or None for the generic one.
    explain: Callable[[str, str, bytes], InvalidBody | None] = lambda text, path, body: None
    # Error codes: LogFlux documents upper-case ones, the others use ours.
    missing: str = "invalid_field"
    invalid: str = "invalid_field"
    malformed: str = "malformed_json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", msgspec.json.Decoder(self.type))

    def decode(self, body: bytes, limits: Any = None) -> list:
        """The body's entries, or InvalidBody (``limits`` concern binary formats only)."""
        try:
            decoded = self.decoder.decode(body)
        except msgspec.ValidationError as exc:
            text = str(exc)
            code = self.missing if text.startswith("Object missing required field") else self.invalid
            path = text.rpartition(" - at ")[2].strip("`") if " - at " in text else ""
            raise (self.explain(text, path, body) or InvalidBody(code, text, path)) from None
        except msgspec.DecodeError as exc:
            raise InvalidBody(self.malformed, f"The body is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidBody(self.malformed, "The body's JSON is nested too deeply.") from None
        if self.field is None:
            self.check(decoded, "$")
            return [decoded]
        entries = getattr(decoded, self.field)
        where = JsonPath(self.field)  # one for the loop: a failed check formats it before the next entry
        check = self.check
        for index, entry in enumerate(entries):
            where.index = index
            check(entry, where)
        return entries


def json_decoding(kind: Any, field: str | None, **options: Any) -> Decoding:
    """The decoding of a JSON body of type ``kind`` (entries under ``field``; None: the body is one entry).
    ``options``: JsonSpec's check, explain and error codes."""
    spec = JsonSpec(kind, field, **options)
    return Decoding(spec.decode, kind)
