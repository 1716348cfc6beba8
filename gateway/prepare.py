"""From a request body to what is published: all or nothing, or entry by entry."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from gateway import errors
from gateway.errors import ApiError
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from sluice import hotpath
from sluice.settings import Settings


class Prepared(NamedTuple):
    value: bytes  # the Kafka record's value
    count: int  # entries in it; with none, nothing is published
    response: Callable[[str], bytes]  # request id -> the success body
    content_type: bytes = b"application/json"  # of the success body


def whole_body(route: Any, fmt: Format, body: bytes, settings: Settings) -> Prepared:
    """All or nothing: the body is published as sent when every entry is valid."""
    # The hot path checks a body in Rust without a Python object per entry; what it declines, msgspec
    # decodes to say exactly what is wrong (or accepts: the hot path leaves some valid shapes to it).
    count = hotpath.entries(fmt, body)
    if count is None:
        try:
            count = len(decode(fmt, body))
        except InvalidBody as exc:
            raise ApiError(exc.status, exc.code, exc.message, details=exc.details) from None
    if not count:
        raise ApiError(400, "empty_batch", "The request holds no log entries.")
    if count > route.max_entries:
        raise errors.too_many_entries(count, route.max_entries)
    return Prepared(body, count, lambda rid: route.success_body(count, rid))


