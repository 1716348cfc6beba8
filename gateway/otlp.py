"""OTLP/HTTP logs: ``POST /v1/logs`` with a binary-protobuf or JSON ExportLogsServiceRequest.

The body is published as received; the answer is an ExportLogsServiceResponse
in the request's encoding, empty, as the OTLP spec asks when everything was
accepted (the request is all or nothing, so partial_success stays unset).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ApiError
from gateway.prepare import Prepared
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.dialects.otlp.wire import record_count
from sluice import hotpath
from sluice.settings import Settings


def accept_otlp(route: Any, fmt: Format, body: bytes, settings: Settings) -> Prepared:
    """The body as published and its log records, or ApiError 400 saying what is wrong with it."""
    # JSON bodies are first checked by the hot path (Rust), which counts the records of a request it maps
    # whole without a Python object per value; what it declines, msgspec decodes to say what is wrong (or
    # accepts: the hot path leaves some valid spellings to it).
    count = hotpath.entries(fmt, body)
    if count is None:
        try:
            (request,) = decode(fmt, body)
        except InvalidBody as exc:
            raise ApiError(400, exc.code, exc.message, details=exc.details) from None
        count = record_count(request)
    if fmt is Format.OTLP_JSON:
        return Prepared(body, count, lambda rid: b"{}")
    return Prepared(body, count, lambda rid: b"", b"application/x-protobuf")
