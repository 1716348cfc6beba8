"""The ingest handler: one dialect's endpoint (gateway/routes.py), from the request to Kafka's acknowledgement.

authenticate → count against the quota → pick the format by media type →
read the body within the endpoint's bound → decode its content encoding →
prepare it as the dialect says → publish with its envelope → answer. Nothing
is answered 2xx before Kafka acknowledged the record; every answer after the
quota check carries the X-RateLimit headers, and an error is rendered in the
dialect's own style and counted with its code.
"""

from __future__ import annotations

import dataclasses
import re
import time

from gateway import encoding, errors
from gateway.asgi import Receive, Scope, Send, headers as headers_of, new_request_id, respond
from gateway.auth import authorize
from gateway.bodies import read_body
from gateway.errors import ApiError
from gateway.quota import limit, rate_headers
from gateway.routes import IngestRoute
from gateway.state import GatewayState
from schemas.envelope import Envelope
from schemas.registry import WRITE
from sluice import metrics


async def handle(route: IngestRoute, app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one request to ``route``'s path, and count it by dialect and status."""
    request_id = new_request_id()
    started = time.perf_counter()
    try:
        if scope["method"] not in route.methods:
            raise errors.method_not_allowed(", ".join(route.methods))
        status, body, content_type, extra = await _accept(app, route, scope, receive, request_id)
        await respond(send, status, body, ((b"x-request-id", request_id.encode()), (b"content-type", content_type),
                                           *extra))
    except ApiError as err:
        metrics.GATEWAY_REJECTIONS.labels(route.dialect, route.error_codes(err.code)).inc()
        status, body = route.render_error(route, err, request_id)
        await respond(send, status, body, ((b"x-request-id", request_id.encode()), *err.headers))
    metrics.GATEWAY_REQUESTS.labels(route.dialect, str(status)).inc()
    metrics.GATEWAY_REQUEST_SECONDS.labels(route.dialect).observe(time.perf_counter() - started)


async def _accept(app: GatewayState, route: IngestRoute, scope: Scope, receive: Receive,
                  request_id: str) -> tuple[int, bytes, bytes, tuple[tuple[bytes, bytes], ...]]:
    """(status, body, content type, extra headers) of an accepted request.

    Every answer after the rate-limit check carries the X-RateLimit headers.
    An enterprise request over its limit goes to the overflow topic instead.
    """
    headers = headers_of(scope)
    settings = app.settings
    key = authorize(app.registry, route.auth, headers, settings, WRITE, route.key_prefix)
    decision = await limit(app, key, route.quota, route.dialect)
    extra = rate_headers(decision)
    overflow = decision is not None and not decision.allowed
    try:
        fmt = route.format_for(headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower())
        if fmt is None:
            raise errors.UNSUPPORTED_MEDIA_TYPE
        # An endpoint may need more than the gateway's limits (LogFlux's 100 entries of 1 MB);
        # the process's body budget (gateway/bodies.py) still bounds what all requests hold.
        own = route.endpoint.max_body_bytes or 0
        wire = await read_body(receive, headers, max(own, settings.max_body_bytes))
        body = encoding.decode(headers.get(b"content-encoding", b""), wire, max(own, settings.max_decoded_bytes))
        metrics.GATEWAY_BYTES_IN.labels(route.dialect, "wire").inc(len(wire))
        metrics.GATEWAY_BYTES_IN.labels(route.dialect, "decoded").inc(len(body))
        prepared = route.prepare(route, fmt, body, settings)
        if prepared.count:
            await app.limiter.charge(key.tenant, app.registry.tier(key.tenant), route.dialect, prepared.count,
                                     len(body))
            envelope = Envelope(fmt.value, key.tenant, request_id, time.time_ns(), key.environment,
                                idempotency_key(headers))
            await app.publisher.publish(prepared.value, envelope, settings.overflow_topic if overflow else None)
            metrics.GATEWAY_RECORDS_ACCEPTED.labels(route.dialect).inc(prepared.count)
            app.rate.add(prepared.count)
    except ApiError as err:
        raise dataclasses.replace(err, headers=err.headers + extra) from None
    if overflow:
        extra += ((b"x-sluice-overflow", b"true"),)
    return route.success_status, prepared.response(request_id), prepared.content_type, extra


_IDEMPOTENCY_KEY = re.compile(rb"[\x21-\x7e]{1,255}")


def idempotency_key(headers: dict[bytes, bytes]) -> str:
    """The request's ``Idempotency-Key`` ("" without one): a client that retries a request
    it got no answer to sends the same key, and only one copy is stored."""
    raw = headers.get(b"idempotency-key")
    if raw is None:
        return ""
    raw = raw.strip().strip(b'"')  # the IETF draft's form is a quoted string
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to 255 visible ASCII characters.")
    return raw.decode()
