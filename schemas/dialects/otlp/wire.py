"""OTLP/HTTP logs (ExportLogsServiceRequest), binary protobuf or JSON, as the OTLP spec defines them.

OTLP/JSON differs from protobuf's generic JSON mapping in one place (trace and
span ids are hex strings, not base64); it is decoded by msgspec into Structs
that mirror the protobuf messages (schemas/dialects/otlp/json_mirror.py), many times faster
than protobuf's JSON parser.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from schemas.dialects.otlp import json_mirror as otlp_json


class OtlpError(ValueError):
    pass


def parse(body: bytes, as_json: bool) -> ExportLogsServiceRequest | otlp_json.ExportLogsServiceRequest:
    """The request, or OtlpError saying what is wrong with it.

    Protobuf bodies give the generated message, JSON bodies the msgspec
    mirror of it in ``schemas/dialects/otlp/json_mirror.py``: the same field names, so
    ``record_count`` and the worker's normalizer read either.
    """
    if as_json:
        try:
            return otlp_json.parse(body)
        except ValueError as exc:
            raise OtlpError(str(exc)) from None
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise OtlpError(f"not a valid ExportLogsServiceRequest: {exc}") from None
    return request


def record_count(request: ExportLogsServiceRequest | otlp_json.ExportLogsServiceRequest) -> int:
    return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
