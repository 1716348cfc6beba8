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
from sluice.settings import Settings


def accept_otlp(route: Any, fmt: Format, body: bytes, settings: Settings) -> Prepared:
    try:
        (request,) = decode(fmt, body)
    except InvalidBody as exc:
        raise ApiError(400, exc.code, exc.message, details=exc.details) from None
    if fmt is Format.OTLP_JSON:
        return Prepared(body, record_count(request), lambda rid: b"{}")
    return Prepared(body, record_count(request), lambda rid: b"", b"application/x-protobuf")
