"""Errors as values: an HTTP status, a machine-readable code and a message a person can act on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import msgspec


@dataclass(frozen=True)
class ApiError(Exception):
    status: int
    code: str
    message: str
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())
    details: str = ""

    def body(self, request_id: str, code: str | None = None) -> bytes:
        error = {"code": code or self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return msgspec.json.encode({"status": "error", "error": error, "request_id": request_id})


def missing_key(header: str) -> ApiError:
    return ApiError(401, "missing_api_key", f"Send your API key in the {header} header.")


INVALID_KEY = ApiError(401, "invalid_api_key", "The API key is not valid or has been revoked.")


def wrong_key_format(prefix: str) -> ApiError:
    return ApiError(401, "invalid_api_key", "The provided API key is invalid", details=f"API key must start with '{prefix}'")


def wrong_customer(customer: str) -> ApiError:
    return ApiError(401, "invalid_api_key", "The API key does not belong to this endpoint's customer",
                    details=f"customer {customer!r} in the host name")
NOT_FOUND = ApiError(404, "not_found", "No endpoint at this path.")


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(405, "method_not_allowed", f"Use {allowed} on this path.", ((b"allow", allowed.encode()),))


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"The request body exceeds {limit} bytes; send smaller batches.")


def too_many_entries(count: int, limit: int) -> ApiError:
    return ApiError(413, "too_many_entries", f"The request holds {count} entries; at most {limit} are allowed.")


UNSUPPORTED_MEDIA_TYPE = ApiError(415, "unsupported_media_type", "Send the body as Content-Type: application/json.")


def unsupported_encoding(encoding: str) -> ApiError:
    return ApiError(415, "unsupported_content_encoding",
                    f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or zstd.")


def decoded_too_large(limit: int) -> ApiError:
    return ApiError(413, "decoded_body_too_large", f"The decompressed body exceeds {limit} bytes; send smaller batches.")


def overloaded(retry_after_s: int) -> ApiError:
    return ApiError(
        503, "gateway_overloaded",
        "This gateway is sending as much to Kafka as it can confirm in time, so this request was not "
        "accepted and nothing of it was written; retry it after Retry-After seconds.",
        ((b"retry-after", str(retry_after_s).encode()),),
    )


def unavailable(retry_after_s: int) -> ApiError:
    return ApiError(
        503, "kafka_unavailable",
        "The log pipeline could not confirm this request in time, so it is not accepted; retry it later "
        "with the same Idempotency-Key header (a write already under way may still land, and the key "
        "makes the retry store it once).",
        ((b"retry-after", str(retry_after_s).encode()),),
    )


def as_outage(err: ApiError, outage_status: int) -> ApiError:
    """``err`` answered with a dialect's status for a transient failure (``Endpoint.outage_status``).

    Every 503 of an ingest request is transient: Kafka unavailable, the gateway
    overloaded, its body budget full, the rate-limit store down. Nothing of the
    request was accepted and a retry may succeed, which is what LogTrace's and
    Profound's documented 500 says too; ``Retry-After`` stays, since it costs a
    client that ignores it nothing.
    """
    if err.status != 503 or outage_status == 503:
        return err
    return dataclasses.replace(err, status=outage_status)


# The rest of the body is never read, so the connection cannot carry another request.
_CLOSE = (b"connection", b"close")


def body_timeout(timeout_s: float) -> ApiError:
    return ApiError(408, "body_timeout",
                    f"The request body did not arrive within {timeout_s:g} s of its headers; send it faster "
                    "or in smaller batches.", (_CLOSE,))


def body_buffer_full(retry_after_s: int) -> ApiError:
    return ApiError(
        503, "body_buffer_full",
        "This gateway holds as many request bodies as it may at once, so this request was not read and "
        "nothing of it was written; retry it after Retry-After seconds.",
        ((b"retry-after", str(retry_after_s).encode()), _CLOSE),
    )


class CounterUnavailable(Exception):
    """A rate-limit store could not count (a counter wraps its client's errors in this).
    Here rather than in gateway/ratelimit.py so that the Redis counter needs nothing of the limiter."""
