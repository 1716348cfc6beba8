"""Errors as values: an HTTP status, a machine-readable code and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec


@dataclass(frozen=True)
class ApiError(Exception):
    status: int
    code: str
    message: str
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())

    def body(self, request_id: str) -> bytes:
        return msgspec.json.encode(
            {"status": "error", "error": {"code": self.code, "message": self.message}, "request_id": request_id}
        )


def missing_key(header: str) -> ApiError:
    return ApiError(401, "missing_api_key", f"Send your API key in the {header} header.")


INVALID_KEY = ApiError(401, "invalid_api_key", "The API key is not valid or has been revoked.")
NOT_FOUND = ApiError(404, "not_found", "No endpoint at this path.")


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(405, "method_not_allowed", f"Use {allowed} on this path.", ((b"allow", allowed.encode()),))


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"The request body exceeds {limit} bytes; send smaller batches.")


def too_many_entries(count: int, limit: int) -> ApiError:
    return ApiError(413, "too_many_entries", f"The request holds {count} entries; at most {limit} are allowed.")


UNSUPPORTED_MEDIA_TYPE = ApiError(415, "unsupported_media_type", "Send the body as Content-Type: application/json.")


def unsupported_encoding(encoding: str) -> ApiError:
    return ApiError(415, "unsupported_content_encoding", f"Content-Encoding {encoding!r} is not supported.")


def unavailable(retry_after_s: int) -> ApiError:
    return ApiError(
        503, "kafka_unavailable",
        "The log pipeline could not durably accept this request in time; nothing was stored. Retry later.",
        ((b"retry-after", str(retry_after_s).encode()),),
    )
