"""LogFlux (logflux.txt): encrypted entries at ``/v1/ingest`` (one) and ``/v1/batch`` (up to 100), 202.

Folder: ``wire.py`` the entry types and the checks that need no tenant
secret; this module the decodings, with LogFlux's upper-case error codes,
and the HTTP surface: ``lf_`` keys, a per-minute quota, LogFlux's success body.
The workers decrypt and verify (workers/logflux.py).
"""

from __future__ import annotations

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


SUCCESS_SCHEMA = json_object({"status": {"const": "success"}, "message": STRING, "request_id": STRING})
# 202: the answer comes once Kafka has the entry; the worker decrypts it later.
# logflux.txt: "600 requests/minute per API key": counted per key, per minute (MINUTE).
_SURFACE: dict[str, Any] = dict(success_body=success, success_schema=SUCCESS_SCHEMA, key_prefix="lf_",
                                error_code=error_code, quota="minute")

DIALECT = Dialect(
    "logflux",
    {
        Format.LOGFLUX_BATCH: json_decoding(lf.LogFluxBatch, "entries", **_CODES),
        Format.LOGFLUX_SINGLE: json_decoding(lf.LogFluxEntry, None, **_CODES),
    },
    (
        Endpoint("/v1/ingest", Format.LOGFLUX_SINGLE, AuthStyle.BEARER, 1, 202, **_SURFACE),
        Endpoint("/v1/batch", Format.LOGFLUX_BATCH, AuthStyle.BEARER, 100, 202, **_SURFACE),
    ),
)
