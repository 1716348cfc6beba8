"""The LogFlux dialect (logflux.txt): encrypted entries, checked field by field.

The gateway checks everything that can be checked without the tenant's
secret and answers with LogFlux's error codes; the workers decrypt and
verify. The types, ``explain`` and ``check`` are shared by both, so they agree
on what a valid entry is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from schemas import storable

MAX_PAYLOAD_BYTES = 1024 * 1024
IV_BYTES, SALT_BYTES, TAG_BYTES = 12, 32, 16
MAX_NODE_CHARS = 255


def _exactly(n: int) -> msgspec.Meta:
    return msgspec.Meta(min_length=n, max_length=n)


class LogFluxEntry(msgspec.Struct, gc=False):
    """One entry. The constraints are checked by msgspec while it decodes (base64
    included), so a batch of 100 costs no Python per field; ``explain`` gives a
    failure its LogFlux code, and ``check`` does what a type cannot say.

    Untracked by the garbage collector (``gc=False``): it holds only strings, bytes
    and numbers, so it can be in no reference cycle, and the collector's passes
    need not walk the thousands a worker holds while it stores a chunk."""

    node: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NODE_CHARS)]
    # AES-256-GCM ciphertext ‖ 16-byte tag, base64 on the wire
    payload: Annotated[bytes, msgspec.Meta(min_length=TAG_BYTES, max_length=MAX_PAYLOAD_BYTES)]
    loglevel: Annotated[int, msgspec.Meta(ge=1, le=8)]  # syslog style: 1 EMERGENCY ... 8 DEBUG
    timestamp: str  # ISO 8601 with a timezone
    # only 1: AES-256-GCM with PBKDF2-HMAC-SHA256, 600,000 iterations
    encryption_mode: Annotated[int, msgspec.Meta(ge=1, le=1)]
    iv: Annotated[bytes, _exactly(IV_BYTES)]
    salt: Annotated[bytes, _exactly(SALT_BYTES)]


class LogFluxBatch(msgspec.Struct, gc=False):
    entries: list[LogFluxEntry]


class RawBatch(msgspec.Struct):
    """The same batch with each entry's bytes kept as sent, to dead-letter one entry alone."""

    entries: list[msgspec.Raw]


class EntryError(ValueError):
    def __init__(self, code: str, message: str, details: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


# msgspec's words for a value of the right type outside its constraints: "Expected
# `int` <= 8", "Expected `bytes` of length >= 16". A wrong type reads "Expected `int`, got `str`".
_CONSTRAINT = re.compile(r"Expected `\w+` (?:of length )?([<>])=")
_OUT_OF_RANGE = {
    "node": ("INVALID_NODE", f"`node` must be 1-{MAX_NODE_CHARS} characters"),
    "loglevel": ("INVALID_LOG_LEVEL", "Log level out of range (1-8)"),
    "encryption_mode": ("INVALID_ENCRYPTION_MODE", "Only mode 1 is supported"),
    "iv": ("INVALID_IV_LENGTH", f"`iv` must decode to exactly {IV_BYTES} bytes"),
    "salt": ("INVALID_SALT_LENGTH", f"`salt` must decode to exactly {SALT_BYTES} bytes"),
}


def explain(text: str, path: str, body: bytes) -> EntryError | None:
    """LogFlux's code for msgspec's validation failure ``text`` at JSON ``path`` of
    ``body``, or None when it is no field's constraint (a wrong type, a missing field)."""
    field = path.rpartition(".")[2]
    if text.startswith("Invalid base64"):
        return EntryError("INVALID_BASE64", f"`{field}` is not valid base64", path)
    bound = _CONSTRAINT.match(text)
    if bound is None:
        return None
    if field == "payload":
        if bound.group(1) == "<":
            return EntryError("PAYLOAD_TOO_LARGE", "`payload` exceeds 1 MB", path, status=413)
        return EntryError("INVALID_PAYLOAD", f"`payload` is shorter than the {TAG_BYTES}-byte GCM tag", path)
    if field in ("loglevel", "encryption_mode") and (value := _value_at(body, path)) is not None:
        return EntryError(*_OUT_OF_RANGE[field], f"{path} = {value}")  # a number: worth showing
    if field in _OUT_OF_RANGE:
        return EntryError(*_OUT_OF_RANGE[field], path)
    return None


def _value_at(body: bytes, path: str) -> object | None:
    """The value at ``$.entries[i].field``, or None when the body is not JSON past that point: the typed
    decoder stops at the first wrong value, so a malformed rest is only found here."""
    # Only on the error path: the body once more, as plain JSON.
    try:
        value = msgspec.json.decode(body)
        for step in re.findall(r"\.(\w+)|\[(\d+)\]", path):
            value = value[step[0]] if step[0] else value[int(step[1])]
    except (msgspec.DecodeError, RecursionError, LookupError, TypeError):
        return None
    return value


def check(entry: LogFluxEntry, where: object) -> None:
    """Raise ``EntryError`` when ``entry`` (at JSON path ``where``, formatted only for
    an error) is wrong in a way its type does not catch: a timestamp that is not
    ISO 8601 with a timezone, in the range the store holds (schemas/storable.py)."""
    try:
        ts = datetime.fromisoformat(entry.timestamp)
    except ValueError:
        raise EntryError("INVALID_TIMESTAMP", "`timestamp` is not an ISO 8601 date and time",
                         f"{where}.timestamp") from None
    if ts.tzinfo is None:
        raise EntryError("INVALID_TIMESTAMP", "`timestamp` must include a timezone, e.g. 2024-01-17T10:30:45Z",
                         f"{where}.timestamp")
    if not storable.time_fits(ts):  # what the nanosecond columns hold, as in every dialect
        raise EntryError("INVALID_TIMESTAMP", f"`timestamp` {entry.timestamp[:40]} is outside {storable.TIMESTAMP}",
                         f"{where}.timestamp")


# Syslog levels as LogFlux numbers them, onto OTel severity (see schemas/severity.py).
LEVELS: dict[int, tuple[str, int]] = {
    1: ("EMERGENCY", 21),
    2: ("ALERT", 19),
    3: ("CRITICAL", 18),
    4: ("ERROR", 17),
    5: ("WARNING", 13),
    6: ("NOTICE", 10),
    7: ("INFO", 9),
    8: ("DEBUG", 5),
}
