"""LogFlux (logflux.txt): encrypted entries at ``/v1/ingest`` (one) and ``/v1/batch`` (up to 100), 200.

Folder: ``wire.py`` the entry types and the checks that need no tenant
secret; this module the decodings, with LogFlux's upper-case error codes,
and the HTTP surface: ``lf_`` keys, a per-minute quota, LogFlux's success body.
The workers decrypt and verify (workers/logflux.py); ``rows.py`` maps the plaintext to ``logs`` rows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from schemas.dialect import STRING, AuthStyle, Dialect, Endpoint, json_object
from schemas.dialects.logflux import wire as lf
from schemas.formats import Format, InvalidBody
from schemas.json_body import json_decoding


def _invalid(exc: lf.EntryError) -> InvalidBody:
    return InvalidBody(exc.code, exc.message, exc.details, exc.status)


def _check(entry: lf.LogFluxEntry, where: object) -> None:
    try:
        lf.check(entry, where)
    except lf.EntryError as exc:
        raise _invalid(exc) from None


def _explain(text: str, path: str, body: bytes) -> InvalidBody | None:
    exc = lf.explain(text, path, body)
    return None if exc is None else _invalid(exc)


_CODES: dict[str, Any] = dict(check=_check, explain=_explain, missing="MISSING_FIELD", invalid="INVALID_FIELD",
                              malformed="INVALID_JSON")


def error_code(code: str) -> str:
    """LogFlux's name for one of Sluice's error codes: upper case, and one code for a missing,
    malformed or unknown key."""
    if code in ("missing_api_key", "invalid_auth_scheme"):
        return "INVALID_API_KEY"
    return code.upper()


def success(entries: int, request_id: str) -> bytes:
    message = "Log entry processed successfully" if entries == 1 else f"{entries} log entries processed successfully"
    return msgspec.json.encode({"status": "success", "message": message, "request_id": request_id})


_OPEN, _CLOSE = b'{"entries":[', b"]}"


def split_batch(body: bytes, max_bytes: int) -> list[bytes]:
    """``Decoding.split`` of a batch: its entries, as sent and in order, in batches of at most ``max_bytes``."""
    entries = msgspec.json.decode(body, type=lf.RawBatch).entries  # views of ``body``, not copies
    parts: list[bytes] = []
    start, size = 0, len(_OPEN) + len(_CLOSE)
    for index, raw in enumerate(entries):
        if index > start and size + len(raw) + 1 > max_bytes:
            parts.append(_OPEN + b",".join(entries[start:index]) + _CLOSE)
            start, size = index, len(_OPEN) + len(_CLOSE)
        size += len(raw) + 1
    parts.append(_OPEN + b",".join(entries[start:]) + _CLOSE)
    return parts


SUCCESS_SCHEMA = json_object({"status": {"const": "success"}, "message": STRING, "request_id": STRING})
# 200, although the worker decrypts later: logflux.txt shows no status, and the official SDKs accept
# 200 everywhere (the Java client, whose API the doc's Java example uses, takes only 200 or 201).
# logflux.txt: "600 requests/minute per API key": counted per key, per minute (MINUTE).
_SURFACE: dict[str, Any] = dict(success_body=success, success_schema=SUCCESS_SCHEMA, key_prefix="lf_",
                                error_code=error_code, quota="minute")
# logflux.txt: a batch holds "Maximum 100 entries", each payload "max 1MB" (Sluice: 1 MiB of ciphertext,
# base64 on the wire), beside fields of at most a few hundred bytes (a 255-character node escaped as
# \uXXXX is 1,530): 4 KiB per entry covers them with the JSON around them, pretty-printed or not.
MAX_BATCH_ENTRIES = 100
MAX_ENTRY_BYTES = 4 * -(-lf.MAX_PAYLOAD_BYTES // 3) + 4096

DIALECT = Dialect(
    "logflux",
    {
        # A full batch (about 134 MiB) is more than one Kafka record holds: published in parts.
        Format.LOGFLUX_BATCH: dataclasses.replace(json_decoding(lf.LogFluxBatch, "entries", **_CODES),
                                                  split=split_batch),
        Format.LOGFLUX_SINGLE: json_decoding(lf.LogFluxEntry, None, **_CODES),
    },
    (
        Endpoint("/v1/ingest", Format.LOGFLUX_SINGLE, AuthStyle.BEARER, 1, 200, **_SURFACE),
        Endpoint("/v1/batch", Format.LOGFLUX_BATCH, AuthStyle.BEARER, MAX_BATCH_ENTRIES, 200,
                 max_body_bytes=MAX_BATCH_ENTRIES * MAX_ENTRY_BYTES, **_SURFACE),
    ),
)
