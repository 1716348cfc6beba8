"""One consumed Kafka record as the worker's chain sees it: typed, its headers in one shape.

The Faust shell (workers/app.py) builds these; every later step reads headers
through ``header``, never the raw client objects, so the chain runs and is
tested without Faust.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

from schemas.deadletter import REPLAY_OF
from schemas.envelope import IDEMPOTENCY_KEY, TENANT

#: Kafka headers in order, as (name, value) pairs; a name may repeat.
Headers = Sequence[tuple[str, bytes]]


def headers_of(raw: Headers | Mapping[str, bytes] | None) -> Headers:
    """The one place a client's headers (a list of pairs, a mapping or None) become ``Headers``."""
    if raw is None:
        return ()
    return tuple(raw.items()) if isinstance(raw, Mapping) else tuple(raw)


def header(headers: Headers, name: str) -> str:
    """The first value of header ``name`` as text ("" when absent)."""
    return next((value.decode(errors="replace") for key, value in headers if key == name), "")


class Consumed(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ns: int  # the Kafka record's timestamp
    handle: object  # passed back untouched for acknowledgement

    @property
    def tenant(self) -> str:
        """The envelope's tenant as the header states it ("" when absent; the envelope check refuses it)."""
        return header(self.headers, TENANT)

    @property
    def idempotency(self) -> str:
        """"tenant/Idempotency-Key" when the client sent a key, else ""."""
        key = header(self.headers, IDEMPOTENCY_KEY)
        return f"{self.tenant}/{key}" if key else ""

    @property
    def replay_of(self) -> str | None:
        """"topic:partition:offset[#entry]" of the record this one re-publishes, if it is a replay."""
        return header(self.headers, REPLAY_OF) or None
