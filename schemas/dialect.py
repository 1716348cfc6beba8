"""What a dialect declares: how each of its formats decodes, and its HTTP surface as data.

Each folder under schemas/dialects/ builds one ``Dialect``; the registry
(schemas/dialects/__init__.py) lists them. Nothing here runs a request: the
gateway executes an ``Endpoint`` (gateway/routes.py maps the kinds it names,
``prepare`` and ``render_error``, to its own functions in one table), and
the workers dispatch on the formats. Success bodies are pure functions of
(entries accepted, request id), so they can be declared with the dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping

import msgspec

from schemas.columns import Columns
from schemas.free_form import FreeForm
from schemas.nested import Nested
from schemas.rows.declared_http import HttpColumns
from schemas.formats import Format

_encode = msgspec.json.encode

#: How a body becomes what is published (gateway/routes.PREPARE): all or nothing as sent,
#: entry by entry (the valid entries go on, the rest are reported), or an OTLP request.
PREPARE_KINDS = ("whole_body", "per_entry", "otlp")
#: How an error is answered (gateway/routes.RENDER_ERROR): Sluice's error envelope, or Profound's ``{"detail"}``.
ERROR_STYLES = ("envelope", "profound_detail")
#: Rate-limit quota families an ingest endpoint counts against (gateway/ratelimit.py): the
#: documented hourly tiers, LogFlux's per minute, or none unless the operator sets a tenant budget.
QUOTAS = ("ingest", "minute", "budget")


class AuthStyle(Enum):
    """Where a dialect's clients put the API key: a header convention of the wire contract."""

    #: ``Authorization: <key>`` (AstraLog); a ``Bearer`` scheme is tolerated.
    AUTHORIZATION = "Authorization"
    #: ``Authorization: Bearer <key>`` (LogTrace).
    BEARER = "Authorization: Bearer"
    #: ``X-API-Key: <key>`` (LogInformant).
    API_KEY = "X-API-Key"
    #: either of the two (OTLP exporters are configured with arbitrary headers).
    BEARER_OR_API_KEY = "Authorization: Bearer or X-API-Key"


@dataclass(frozen=True)
class Decoding:
    """How the bodies of one format decode.

    ``decode(body, limits)`` returns the body's entries or raises
    ``schemas.formats.InvalidBody`` naming what is wrong and where; ``limits``
    is the native Arrow format's ``Limits`` (other formats ignore it).
    ``body_type`` is the msgspec type a JSON body decodes to (the OpenAPI
    request schema), None for bodies that are not plain JSON.
    ``split(body, max_bytes)``, for a format whose valid bodies may exceed one
    Kafka record, returns bodies of the same format holding the same entries in
    order, each at most ``max_bytes`` unless one entry alone is larger; None:
    a body is always one record.
    """

    decode: Callable[[bytes, Any], list]
    body_type: Any = None
    split: Callable[[bytes, int], list[bytes]] | None = None


def no_body(entries: int, request_id: str) -> bytes:
    return b""


@dataclass(frozen=True)
class Endpoint:
    """One HTTP ingest path, as the dialect's docs define it."""

    path: str
    format: Format  # what an application/json body carries here (see ``media``)
    auth: AuthStyle
    # More in one request is a 400. None: no count of its own (the body-size limits bound it; OTLP).
    max_entries: int | None
    success_status: int
    # (entries, request id) -> the success body; prepare kinds "per_entry" and "otlp" build their own.
    success_body: Callable[[int, str], bytes] = no_body
    success_schema: dict | None = None  # the JSON Schema of the success body (OpenAPI); None: no body
    methods: tuple[str, ...] = ("POST",)
    key_prefix: str = ""  # keys for this dialect must start with it
    # The dialect's own name for one of Sluice's error codes (LogFlux documents upper-case codes).
    error_code: Callable[[str], str] = str
    prepare: str = "whole_body"  # one of PREPARE_KINDS
    render_error: str = "envelope"  # one of ERROR_STYLES
    # One of QUOTAS. "budget" unless the dialect's docs document a limit: its senders expect no 429.
    quota: str = "budget"
    # Content types other than application/json, and the format each one carries.
    media: tuple[tuple[bytes, Format], ...] = ()
    # The type OpenAPI documents for a JSON request body; None: the format's ``Decoding.body_type``.
    request_type: Any = None
    # The status of a transient failure (Kafka unavailable, the gateway overloaded: Sluice's 503s),
    # as the dialect's docs name it and its clients retry it (docs/dialects.md, "Transient failures").
    outage_status: int = 503
    # A body this large, as sent and decoded, is accepted here even beyond the gateway's
    # ``max_body_bytes`` and ``max_decoded_bytes`` (the docs' largest request); None: those decide.
    # The process-wide body budget (``gateway_max_body_buffer_bytes``) bounds memory either way.
    max_body_bytes: int | None = None

    def __post_init__(self) -> None:
        for value, allowed in ((self.prepare, PREPARE_KINDS), (self.render_error, ERROR_STYLES),
                               (self.quota, QUOTAS)):
            if value not in allowed:
                raise ValueError(f"{self.path}: {value!r} is not one of {allowed}")
        if self.max_entries is None and self.prepare != "otlp":
            raise ValueError(f"{self.path}: a {self.prepare} endpoint needs max_entries")
        if not 500 <= self.outage_status <= 599:
            raise ValueError(f"{self.path}: outage_status {self.outage_status} is not a 5xx status")


@dataclass(frozen=True)
class Dialect:
    """A dialect: its name, how each of its formats decodes, and its HTTP endpoints (none for
    dialects that arrive another way: Logstash over TCP/UDP, native records straight on Kafka)."""

    name: str  # the metrics label and ``Source`` column: ``Format.dialect`` of each of its formats
    formats: Mapping[Format, Decoding]
    endpoints: tuple[Endpoint, ...] = ()
    # The formats whose entries map to ``logs`` rows as declared data (``columns.py`` in the folder;
    # schemas/columns.py): the workers execute these generically, in Rust and in Python alike.
    columns: Mapping[Format, Columns] = field(default_factory=dict)
    # The formats whose entries are free-form events (any JSON object; schemas/free_form.py), with which of
    # their names fill which column, declared in the folder's ``columns.py``: executed generically too.
    free_form: Mapping[Format, FreeForm] = field(default_factory=dict)
    # The formats whose requests nest their entries (OTLP's resource → scope → record; schemas/nested.py),
    # declared in the folder's ``columns.py``: executed generically too.
    nested: Mapping[Format, Nested] = field(default_factory=dict)
    # The formats whose entries are access logs for ``http_logs`` (schemas/rows/declared_http.py), each column
    # from a member, the envelope or a named derivation, declared in the folder's ``columns.py``. A format in
    # none of these is mapped by what workers/records.MAPPINGS names for its dialect (LogFlux's decryption
    # with its declared body fields and levels, native Arrow).
    http_columns: Mapping[Format, HttpColumns] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for fmt in [*self.columns, *self.free_form, *self.nested, *self.http_columns]:
            if fmt not in self.formats:
                raise ValueError(f"{self.name}: a mapping is declared for {fmt.value}, which it does not decode")
        for fmt in self.formats:
            if fmt.dialect != self.name:
                raise ValueError(f"format {fmt.value} does not belong to the {self.name} dialect")


def json_object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict:
    """A JSON Schema object with ``required`` (and ``optional``) properties."""
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": sorted(required)}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}

#: ``{"status": "accepted", "accepted": n, "request_id": ...}``: LogTrace's and LogInformant's success body.
ACCEPTED_SCHEMA = json_object({"status": {"const": "accepted"}, "accepted": {"type": "integer"},
                               "request_id": STRING})


def accepted(entries: int, request_id: str) -> bytes:
    return _encode({"status": "accepted", "accepted": entries, "request_id": request_id})
