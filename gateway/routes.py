"""The ingest routes, derived from the dialect registry (schemas/dialects/): one per declared endpoint.

A dialect declares its endpoints as data (schemas/dialect.Endpoint); this
module maps the kinds they name to what the gateway runs: how a body is
prepared for publishing (``PREPARE``) and how an error is answered
(``RENDER_ERROR``). Adding a dialect adds its routes here without an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import msgspec

from gateway.errors import ApiError, as_outage
from gateway.otlp import accept_otlp
from gateway.prepare import Prepared, whole_body
from gateway.profound import accept_valid_entries
from gateway.ratelimit import BUDGET, INGEST, MINUTE
from schemas.dialect import AuthStyle, Endpoint
from schemas.dialects import ENDPOINTS
from schemas.formats import Format
from sluice.settings import Settings

_encode = msgspec.json.encode

Prepare = Callable[["IngestRoute", Format, bytes, Settings], Prepared]
RenderError = Callable[["IngestRoute", ApiError, str], "tuple[int, bytes]"]


def error_envelope(route: "IngestRoute", err: ApiError, request_id: str) -> tuple[int, bytes]:
    """Sluice's error envelope, with the dialect's name for the code and its status for an outage."""
    return as_outage(err, route.endpoint.outage_status).status, err.body(request_id, route.error_codes(err.code))


def profound_detail(route: "IngestRoute", err: ApiError, request_id: str) -> tuple[int, bytes]:
    # Profound answers {"detail": ...}; a failure to publish is its documented 500 (its outage_status).
    return as_outage(err, route.endpoint.outage_status).status, _encode({"detail": err.message,
                                                                         "request_id": request_id})


#: The preparation kinds an endpoint may name (schemas/dialect.PREPARE_KINDS).
PREPARE: dict[str, Prepare] = {"whole_body": whole_body, "per_entry": accept_valid_entries, "otlp": accept_otlp}
#: The error rendering styles an endpoint may name (schemas/dialect.ERROR_STYLES).
RENDER_ERROR: dict[str, RenderError] = {"envelope": error_envelope, "profound_detail": profound_detail}
#: The quota families an endpoint may name (schemas/dialect.QUOTAS), as gateway/ratelimit.py spells them.
QUOTAS: dict[str, str] = {"ingest": INGEST, "minute": MINUTE, "budget": BUDGET}


@dataclass(frozen=True)
class IngestRoute:
    """An endpoint, with the gateway's functions for the kinds it names."""

    endpoint: Endpoint
    prepare: Prepare  # how a body becomes what is published
    render_error: RenderError  # how an error is answered: (status, body)
    quota: str  # which rate-limit quota a request counts against (gateway/ratelimit.py)

    @classmethod
    def of(cls, endpoint: Endpoint) -> "IngestRoute":
        return cls(endpoint, PREPARE[endpoint.prepare], RENDER_ERROR[endpoint.render_error], QUOTAS[endpoint.quota])

    path = property(lambda self: self.endpoint.path)
    format = property(lambda self: self.endpoint.format)
    methods = property(lambda self: self.endpoint.methods)
    max_entries = property(lambda self: self.endpoint.max_entries)
    success_status = property(lambda self: self.endpoint.success_status)
    key_prefix = property(lambda self: self.endpoint.key_prefix)
    media = property(lambda self: self.endpoint.media)

    @property
    def auth(self) -> AuthStyle:
        return self.endpoint.auth

    @property
    def dialect(self) -> str:
        return self.endpoint.format.dialect

    def success_body(self, entries: int, request_id: str) -> bytes:
        return self.endpoint.success_body(entries, request_id)

    def error_codes(self, code: str) -> str:
        """The dialect's name for one of our error codes."""
        return self.endpoint.error_code(code)

    def format_for(self, media_type: bytes) -> Format | None:
        """The format a body of ``media_type`` carries here, or None when it is not accepted."""
        if not self.media:
            return self.format if media_type == b"application/json" else None
        return dict(self.media).get(media_type)


ROUTES: dict[str, IngestRoute] = {e.path: IngestRoute.of(e) for e in ENDPOINTS}
if len(ROUTES) != len(ENDPOINTS):
    raise ValueError("two dialects declare the same ingest path")
