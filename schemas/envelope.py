"""The contract of the ingest topic, which the gateway writes and the workers read.

Two topics share it. ``sluice-ingest`` is written by the gateway: the value
is the request body exactly as the client sent it, the key is empty (records
spread over partitions; no order across requests is promised).
``sluice-records`` is written by Kafka-native producers: the value is a
``schemas.native`` record or batch, the key is the producer's choice (the
service name keeps one service's records in order).
Headers (all UTF-8):

============================  ===========================================================
``sluice-format``             a ``schemas.formats.Format`` value, e.g. ``logtrace.ingest.v1``
``sluice-tenant``             the tenant the API key belongs to
``sluice-environment``        optional; production (default), staging or development
``sluice-request-id``         the id returned to the client in ``X-Request-Id``
``sluice-received-at``        nanoseconds since the epoch when the gateway accepted the body
                              (native records: optional, the Kafka timestamp otherwise)
``sluice-idempotency-key``    optional; the client's ``Idempotency-Key``: of the records that
                              carry the same key for one tenant, only the first is stored
``content-type``              optional; when present, ``application/json`` or, for
                              ``sluice.arrow.v1``, ``application/vnd.apache.arrow.stream``
============================  ===========================================================
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from schemas.registry import ENVIRONMENTS

FORMAT = "sluice-format"
TENANT = "sluice-tenant"
ENVIRONMENT = "sluice-environment"
REQUEST_ID = "sluice-request-id"
RECEIVED_AT = "sluice-received-at"
IDEMPOTENCY_KEY = "sluice-idempotency-key"
CONTENT_TYPE = "content-type"
# What the ReceivedAt column (DateTime64(9)) holds: from 1900-01-01 to the end of int64 nanoseconds.
_MIN_NS, _MAX_NS = -2_208_988_800 * 10**9, 2**63 - 1
_CONTENT_TYPES = (b"application/json", b"application/vnd.apache.arrow.stream")


class Envelope(NamedTuple):
    format: str
    tenant: str
    request_id: str
    received_ns: int
    environment: str = "production"
    idempotency_key: str = ""  # the client's Idempotency-Key header, when it sent one


class EnvelopeError(ValueError):
    pass


def to_headers(env: Envelope) -> list[tuple[str, bytes]]:
    return [
        (FORMAT, env.format.encode()),
        (TENANT, env.tenant.encode()),
        (REQUEST_ID, env.request_id.encode()),
        (RECEIVED_AT, str(env.received_ns).encode()),
        (ENVIRONMENT, env.environment.encode()),
        *([(IDEMPOTENCY_KEY, env.idempotency_key.encode())] if env.idempotency_key else []),
    ]


def from_headers(headers: Iterable[tuple[str, bytes]] | dict, default_received_ns: int | None = None) -> Envelope:
    """Read the envelope from Kafka headers; raise ``EnvelopeError`` naming what is wrong.

    ``default_received_ns`` (the Kafka record's timestamp) stands in for a
    missing ``sluice-received-at``; without it the header is required.
    """
    items = headers.items() if isinstance(headers, dict) else headers
    found = {k.lower(): v for k, v in items}
    content_type = found.get(CONTENT_TYPE, b"application/json").split(b";")[0].strip().lower()
    if content_type not in _CONTENT_TYPES:
        raise EnvelopeError(f"unsupported content-type {content_type.decode(errors='replace')!r}")
    try:
        fmt = found[FORMAT].decode()
        tenant = found[TENANT].decode()
        request_id = found.get(REQUEST_ID, b"").decode()
        raw_received = found.get(RECEIVED_AT)
        if raw_received is None and default_received_ns is None:
            raise KeyError(RECEIVED_AT)
        received_ns = default_received_ns if raw_received is None else int(raw_received)
        environment = found.get(ENVIRONMENT, b"production").decode()
        idempotency_key = found.get(IDEMPOTENCY_KEY, b"").decode()
    except KeyError as exc:
        raise EnvelopeError(f"missing header {exc.args[0]}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"unreadable header: {exc}") from None
    if not tenant:
        raise EnvelopeError(f"empty header {TENANT}")
    if not _MIN_NS <= received_ns <= _MAX_NS:
        raise EnvelopeError(f"header {RECEIVED_AT} is {received_ns}, outside 1900-01-01..2262-04-11 "
                            "(nanoseconds since the epoch, as ClickHouse's DateTime64(9) holds)")
    if environment not in ENVIRONMENTS:
        raise EnvelopeError(f"header {ENVIRONMENT} must be one of {', '.join(ENVIRONMENTS)}")
    return Envelope(fmt, tenant, request_id, received_ns, environment, idempotency_key)
