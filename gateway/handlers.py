"""The handlers of the gateway's own endpoints, beside ingestion (gateway/ingest.py): the probes, the
searches, the live tail and key administration.

Each is a thin shell: authenticate, count against the quota, bound the body,
hand the work to its module (gateway/query.py, tail.py, health.py,
keys_api.py), answer. Every refusal is answered in Sluice's error envelope and
counted in ``GATEWAY_REJECTIONS`` with the endpoint's name and the error code.
"""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qsl

import msgspec

from gateway import errors, health, openapi, query, tail
from gateway.asgi import Receive, Scope, Send, headers as headers_of, new_request_id, respond, respond_error
from gateway.auth import AuthStyle, authorize
from gateway.bodies import read_body
from gateway.errors import ApiError
from gateway.quota import limit, rate_headers
from gateway.ratelimit import CONTROL, QUERY
from gateway.state import GatewayState
from schemas.registry import ADMIN, READ
from sluice import metrics
from sluice.query.search import QueryError


async def liveness(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """``/health``: the process answers; no dependency is probed and no key is asked for."""
    await respond(send, 200, b'{"status":"ok"}')


async def openapi_document(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    await respond(send, 200, openapi.document())


async def metrics_page(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    body, content_type = metrics.exposition()
    await respond(send, 200, body, ((b"content-type", content_type.encode()),))


async def search(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """``/v1/logs/query`` (GET, POST) and ``/v1/logs/stats`` (POST): one tenant slot while the query runs."""
    request_id = new_request_id()
    started = time.perf_counter()
    stats = scope["path"] == "/v1/logs/stats"  # counts and groups: limited and bounded as searches are
    name = "stats" if stats else "query"
    try:
        if scope["method"] not in (("POST",) if stats else ("GET", "POST")):
            raise errors.method_not_allowed("POST" if stats else "GET, POST")
        headers = headers_of(scope)
        key = authorize(app.registry, AuthStyle.BEARER, headers, app.settings, READ)
        decision = await limit(app, key, QUERY, "query")
        body = await read_body(receive, headers, 1 << 20) if scope["method"] == "POST" else b""
        if stats:
            parsed_stats = query.parse_stats(body)
            async with app.query_slots.hold(key.tenant):
                payload = await query.stats(app.settings, app.query_backend, key, parsed_stats)
        else:
            request = query.parse_request(scope["method"], scope.get("query_string", b""), body)
            async with app.query_slots.hold(key.tenant):
                payload = await query.search(app.settings, app.query_backend, key, request)
        status = 200
        await respond(send, 200, payload, ((b"x-request-id", request_id.encode()), *rate_headers(decision)))
    except ApiError as err:
        metrics.GATEWAY_REJECTIONS.labels(name, err.code).inc()
        status = err.status
        await respond_error(send, err, request_id)
    metrics.GATEWAY_REQUESTS.labels(name, str(status)).inc()
    metrics.GATEWAY_REQUEST_SECONDS.labels(name).observe(time.perf_counter() - started)


async def live_tail(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """gateway/tail.py: per-key slots, the filter compiled before the 200, then a guarded stream."""
    request_id = new_request_id()
    headers = headers_of(scope)
    try:
        key = authorize(app.registry, AuthStyle.BEARER, headers, app.settings, READ)
        with app.tail_slots.hold(key.key_id):
            decision = await limit(app, key, QUERY, "tail")
            filter_text = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("filter", "")
            compiled = await tail.compile_checked(app.settings, filter_text)
            guard = tail.Guard(key, app.registry,
                               lambda: authorize(app.registry, AuthStyle.BEARER, headers, app.settings, READ),
                               lambda: limit(app, key, QUERY, "tail"), app.settings.tail_charge_every_s)
            await tail.stream(app.settings, app.query_backend, key, compiled, guard, send, receive,
                              ((b"x-request-id", request_id.encode()), *rate_headers(decision)))
    except (ApiError, QueryError) as exc:
        err = exc if isinstance(exc, ApiError) else query.api_error(exc)
        metrics.GATEWAY_REJECTIONS.labels("tail", err.code).inc()
        await respond_error(send, err, request_id)


async def pipeline_health(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /v1/health``: any valid key, whatever its scopes; the figures of gateway/health.py."""
    request_id = new_request_id()
    try:
        key = authorize(app.registry, AuthStyle.BEARER, headers_of(scope), app.settings, None)
        decision = await limit(app, key, CONTROL, "health")
    except ApiError as err:
        metrics.GATEWAY_REJECTIONS.labels("health", err.code).inc()
        await respond_error(send, err, request_id)
        return
    status, body = await health.report(app.settings, app.query_backend, app.rate, app.started)
    await respond(send, status, msgspec.json.encode(body),
                  ((b"x-request-id", request_id.encode()), *rate_headers(decision)))


async def keys(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """``/v1/keys`` and below: an ``admin:keys`` key; gateway/keys_api.py answers each method and path."""
    request_id = new_request_id()
    try:
        headers = headers_of(scope)
        admin = authorize(app.registry, AuthStyle.BEARER, headers, app.settings, ADMIN)
        decision = await limit(app, admin, CONTROL, "keys")
        try:
            body = await read_body(receive, headers, 1 << 16) if scope["method"] == "POST" else b""
            status, payload = await app.keys.handle(scope["method"], scope["path"], body, admin)
        except ApiError as err:
            raise dataclasses.replace(err, headers=err.headers + rate_headers(decision)) from None
        await respond(send, status, payload, ((b"x-request-id", request_id.encode()), *rate_headers(decision)))
    except ApiError as err:
        metrics.GATEWAY_REJECTIONS.labels("keys", err.code).inc()
        await respond_error(send, err, request_id)
