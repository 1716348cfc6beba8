"""The contract of the ingest topic, which the gateway writes and the workers read.

Record value: the request body exactly as the client sent it (after HTTP
content decoding), in the format the ``sluice-format`` header names.
Record key: none; records spread over partitions, since no ordering across
requests is promised.
Headers (all UTF-8):

========================  ===========================================================
``sluice-format``         a ``schemas.formats.Format`` value, e.g. ``logtrace.ingest.v1``
``sluice-tenant``         the tenant the API key belongs to
``sluice-request-id``     the id returned to the client in ``X-Request-Id``
``sluice-received-at``    nanoseconds since the epoch when the gateway accepted the body
========================  ===========================================================
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

FORMAT = "sluice-format"
TENANT = "sluice-tenant"
REQUEST_ID = "sluice-request-id"
RECEIVED_AT = "sluice-received-at"


class Envelope(NamedTuple):
    format: str
    tenant: str
    request_id: str
    received_ns: int


class EnvelopeError(ValueError):
    pass


def to_headers(env: Envelope) -> list[tuple[str, bytes]]:
    return [
        (FORMAT, env.format.encode()),
        (TENANT, env.tenant.encode()),
        (REQUEST_ID, env.request_id.encode()),
        (RECEIVED_AT, str(env.received_ns).encode()),
    ]


def from_headers(headers: Iterable[tuple[str, bytes]] | dict) -> Envelope:
    """Read the envelope from Kafka headers; raise ``EnvelopeError`` naming what is wrong."""
    items = headers.items() if isinstance(headers, dict) else headers
    found = {k: v for k, v in items}
    try:
        fmt = found[FORMAT].decode()
        tenant = found[TENANT].decode()
        request_id = found.get(REQUEST_ID, b"").decode()
        received_ns = int(found[RECEIVED_AT])
    except KeyError as exc:
        raise EnvelopeError(f"missing header {exc.args[0]}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"unreadable header: {exc}") from None
    if not tenant:
        raise EnvelopeError(f"empty header {TENANT}")
    return Envelope(fmt, tenant, request_id, received_ns)
