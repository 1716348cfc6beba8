"""The ingest endpoints: one row per dialect path, straight from the dialects' docs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import msgspec

from gateway.auth import AuthStyle
from gateway.errors import ApiError
from gateway.prepare import Prepared, whole_body
from gateway.otlp import accept_otlp
from gateway.profound import accept_valid_entries
from gateway.ratelimit import INGEST, MINUTE
from schemas.formats import Format
from sluice.settings import Settings


_encode = msgspec.json.encode


def error_envelope(route: "IngestRoute", err: ApiError, request_id: str) -> tuple[int, bytes]:
    return err.status, err.body(request_id, route.error_codes(err.code))


@dataclass(frozen=True)
class IngestRoute:
    path: str
    format: Format
    auth: AuthStyle
    max_entries: int
    success_status: int
    success_body: Callable[[int, str], bytes] = lambda n, rid: b""  # (entries, request id) -> body
    key_prefix: str = ""  # keys for this dialect must start with it
    # The dialect's own names for our error codes; LogFlux documents upper-case codes.
    error_codes: Callable[[str], str] = str
    # How a body becomes what is published (Profound accepts entries one by one).
    prepare: Callable[["IngestRoute", Format, bytes, Settings], Prepared] = whole_body
    # Content types other than application/json, and the format each one carries.
    media: tuple[tuple[bytes, Format], ...] = ()
    # How an error is answered: (status, body).
    render_error: Callable[["IngestRoute", ApiError, str], tuple[int, bytes]] = error_envelope
    # Which rate-limit quota a request counts against (gateway/ratelimit.py).
    quota: str = INGEST

    @property
    def dialect(self) -> str:
        return self.format.dialect

    def format_for(self, media_type: bytes) -> Format | None:
        """The format a body of ``media_type`` carries here, or None when it is not accepted."""
        if not self.media:
            return self.format if media_type == b"application/json" else None
        return dict(self.media).get(media_type)


def _logflux_code(code: str) -> str:
    # LogFlux has one code for a missing, malformed or unknown key.
    if code in ("missing_api_key", "invalid_auth_scheme"):
        return "INVALID_API_KEY"
    return code.upper()


def _logflux_success(n: int, rid: str) -> bytes:
    message = "Log entry processed successfully" if n == 1 else f"{n} log entries processed successfully"
    return _encode({"status": "success", "message": message, "request_id": rid})


def _profound_error(route: IngestRoute, err: ApiError, request_id: str) -> tuple[int, bytes]:
    # Profound answers {"detail": ...}; a failure to publish is its documented 500.
    status = 500 if err.code in ("kafka_unavailable", "gateway_overloaded") else err.status
    return status, _encode({"detail": err.message, "request_id": request_id})


ROUTES: dict[str, IngestRoute] = {
    r.path: r
    for r in (
        IngestRoute(
            "/v1/drain", Format.ASTRALOG_DRAIN, AuthStyle.AUTHORIZATION, 10_000, 200,
            lambda n, rid: b'{"status":"accepted"}',
        ),
        IngestRoute(
            "/v1/logs/ingest", Format.LOGTRACE_INGEST, AuthStyle.BEARER, 5_000, 202,
            lambda n, rid: _encode({"status": "accepted", "accepted": n, "request_id": rid}),
        ),
        IngestRoute(
            "/api/ingest/batch", Format.LOGINFORMANT_BATCH, AuthStyle.API_KEY, 500, 200,
            lambda n, rid: _encode({"status": "accepted", "accepted": n, "request_id": rid}),
        ),
        IngestRoute(
            "/api/ingest", Format.LOGINFORMANT_SINGLE, AuthStyle.API_KEY, 1, 200,
            lambda n, rid: _encode({"status": "accepted", "accepted": n, "request_id": rid}),
        ),
        # 202: the answer comes once Kafka has the entry; the worker decrypts it later.
        IngestRoute("/v1/ingest", Format.LOGFLUX_SINGLE, AuthStyle.BEARER, 1, 202, _logflux_success,
                    key_prefix="lf_", error_codes=_logflux_code, quota=MINUTE),
        IngestRoute("/v1/batch", Format.LOGFLUX_BATCH, AuthStyle.BEARER, 100, 202, _logflux_success,
                    key_prefix="lf_", error_codes=_logflux_code, quota=MINUTE),
        IngestRoute("/v1/logs/custom", Format.PROFOUND_CUSTOM, AuthStyle.API_KEY, 1000, 200,
                    prepare=accept_valid_entries, render_error=_profound_error),
        IngestRoute("/v1/logs", Format.OTLP_PROTOBUF, AuthStyle.BEARER_OR_API_KEY, 1_000_000, 200,
                    prepare=accept_otlp, media=((b"application/x-protobuf", Format.OTLP_PROTOBUF),
                                                (b"application/json", Format.OTLP_JSON))),
    )
}
