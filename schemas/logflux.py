"""The LogFlux dialect (logflux.txt): encrypted entries, checked field by field.

The gateway checks everything that can be checked without the tenant's
secret and answers with LogFlux's error codes; the workers decrypt and
verify. ``check`` is shared by both, so they agree on what a valid entry is.
"""

from __future__ import annotations

import binascii
from datetime import datetime

import msgspec

MAX_PAYLOAD_BYTES = 1024 * 1024
IV_BYTES, SALT_BYTES, TAG_BYTES = 12, 32, 16
MAX_NODE_CHARS = 255


class LogFluxEntry(msgspec.Struct):
    node: str
    payload: str  # base64 of AES-256-GCM ciphertext ‖ 16-byte tag
    loglevel: int  # syslog style: 1 EMERGENCY ... 8 DEBUG
    timestamp: str  # ISO 8601 with a timezone
    encryption_mode: int  # only 1: AES-256-GCM with PBKDF2-HMAC-SHA256, 600,000 iterations
    iv: str  # base64 of 12 bytes
    salt: str  # base64 of 32 bytes


class LogFluxBatch(msgspec.Struct):
    entries: list[LogFluxEntry]


class RawBatch(msgspec.Struct):
    """The same batch with each entry's bytes kept as sent, to dead-letter one entry alone."""

    entries: list[msgspec.Raw]


class EntryError(ValueError):
    def __init__(self, code: str, message: str, details: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


def b64(value: str, field: str, where: str) -> bytes:
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise EntryError("INVALID_BASE64", f"`{field}` is not valid base64", where) from None


def parse_timestamp(value: str, where: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise EntryError("INVALID_TIMESTAMP", "`timestamp` is not an ISO 8601 date and time", where) from None
    if ts.tzinfo is None:
        raise EntryError("INVALID_TIMESTAMP", "`timestamp` must include a timezone, e.g. 2024-01-17T10:30:45Z",
                         where)
    return ts


def check(entry: LogFluxEntry, where: str) -> None:
    """Raise ``EntryError`` for the first thing wrong with ``entry`` (``where`` is its JSON path)."""
    if not 1 <= len(entry.node) <= MAX_NODE_CHARS:
        raise EntryError("INVALID_NODE", f"`node` must be 1-{MAX_NODE_CHARS} characters", where)
    if not 1 <= entry.loglevel <= 8:
        raise EntryError("INVALID_LOG_LEVEL", "Log level out of range (1-8)", f"{where}.loglevel = {entry.loglevel}")
    if entry.encryption_mode != 1:
        raise EntryError("INVALID_ENCRYPTION_MODE", "Only mode 1 is supported",
                         f"{where}.encryption_mode = {entry.encryption_mode}")
    parse_timestamp(entry.timestamp, f"{where}.timestamp")
    if len(b64(entry.iv, "iv", f"{where}.iv")) != IV_BYTES:
        raise EntryError("INVALID_IV_LENGTH", f"`iv` must decode to exactly {IV_BYTES} bytes", f"{where}.iv")
    if len(b64(entry.salt, "salt", f"{where}.salt")) != SALT_BYTES:
        raise EntryError("INVALID_SALT_LENGTH", f"`salt` must decode to exactly {SALT_BYTES} bytes", f"{where}.salt")
    # base64 is 4/3 of the bytes: check the cheap bound before decoding a megabyte.
    if len(entry.payload) > (MAX_PAYLOAD_BYTES + 2) // 3 * 4:
        raise EntryError("PAYLOAD_TOO_LARGE", "`payload` exceeds 1 MB", f"{where}.payload", status=413)
    payload = b64(entry.payload, "payload", f"{where}.payload")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise EntryError("PAYLOAD_TOO_LARGE", "`payload` exceeds 1 MB", f"{where}.payload", status=413)
    if len(payload) < TAG_BYTES:
        raise EntryError("INVALID_PAYLOAD", f"`payload` is shorter than the {TAG_BYTES}-byte GCM tag",
                         f"{where}.payload")


# Syslog levels as LogFlux numbers them, onto OTel severity (see workers/severity.py).
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
