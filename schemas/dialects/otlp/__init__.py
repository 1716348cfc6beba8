"""OTLP/HTTP logs: ``POST /v1/logs``, an ExportLogsServiceRequest in binary protobuf or JSON.

Folder: ``wire.py`` parses both encodings, ``json_mirror.py`` holds the msgspec
mirror of the JSON encoding, ``bounds.py`` checks a request against what the
tables hold, ``columns.py`` declares how a request's log records become ``logs`` rows (the OpenTelemetry
data model onto the otel_logs columns, schemas/nested.py). The content type picks the format; the gateway
answers in the request's encoding ("otlp" preparation).
"""

from __future__ import annotations

from typing import Any

from schemas import storable
from schemas.dialect import AuthStyle, Decoding, Dialect, Endpoint
from schemas.dialects.otlp import bounds, json_mirror, wire
from schemas.dialects.otlp.columns import NESTED
from schemas.formats import Format, InvalidBody


def _decoding(as_json: bool) -> Decoding:
    def decode(body: bytes, limits: Any = None) -> list:
        """``[request]``: one ExportLogsServiceRequest (protobuf, or its msgspec mirror for JSON)."""
        try:
            request = wire.parse(body, as_json=as_json)
        except wire.OtlpError as exc:
            raise InvalidBody("invalid_otlp", str(exc)) from None
        found = bounds.unstorable(request, as_json=as_json)
        if found is not None:
            path, exc = found
            code = "invalid_otlp" if exc.code == storable.OUT_OF_RANGE else exc.code
            raise InvalidBody(code, f"{exc.message} - at `{path}`", path)
        return [request]

    return Decoding(decode, json_mirror.ExportLogsServiceRequest if as_json else None)


DIALECT = Dialect(
    "otlp",
    {Format.OTLP_PROTOBUF: _decoding(as_json=False), Format.OTLP_JSON: _decoding(as_json=True)},
    (Endpoint("/v1/logs", Format.OTLP_PROTOBUF, AuthStyle.BEARER_OR_API_KEY, None, 200,
              # OTLP/HTTP sets no rate limit (exporters retry 429/503): only the operator's tenant budget.
              success_schema={"type": "object"}, prepare="otlp", quota="budget",
              media=((b"application/x-protobuf", Format.OTLP_PROTOBUF), (b"application/json", Format.OTLP_JSON))),),
    nested=NESTED,
)
