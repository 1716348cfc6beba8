"""OTLP/HTTP logs (ExportLogsServiceRequest), binary protobuf or JSON, as the OTLP spec defines them.

OTLP/JSON differs from protobuf's generic JSON mapping in one place: trace and
span ids are hex strings, not base64, so they are converted before parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest


class OtlpError(ValueError):
    pass


def _items(container: Any, key: str) -> list:
    value = container.get(key, []) if isinstance(container, dict) else []
    if not isinstance(value, list):
        raise OtlpError(f"{key} must be an array")
    return value


def _hex_ids_to_base64(request: dict[str, Any]) -> None:
    for resource_logs in _items(request, "resourceLogs"):
        for scope_logs in _items(resource_logs, "scopeLogs"):
            for record in _items(scope_logs, "logRecords"):
                if not isinstance(record, dict):
                    raise OtlpError("a log record must be an object")
                for field in ("traceId", "spanId"):
                    if record.get(field):
                        try:
                            record[field] = base64.b64encode(bytes.fromhex(record[field])).decode()
                        except ValueError:
                            raise OtlpError(f"{field} {record[field]!r} is not hex") from None


def parse(body: bytes, as_json: bool) -> ExportLogsServiceRequest:
    """The request, or OtlpError saying what is wrong with it."""
    request = ExportLogsServiceRequest()
    try:
        if as_json:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise OtlpError("an OTLP/JSON body is an object with resourceLogs")
            _hex_ids_to_base64(document)
            json_format.ParseDict(document, request)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, json.JSONDecodeError, UnicodeDecodeError, binascii.Error,
            RecursionError) as exc:
        raise OtlpError(f"not a valid ExportLogsServiceRequest: {exc}") from None
    return request


def record_count(request: ExportLogsServiceRequest) -> int:
    return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
