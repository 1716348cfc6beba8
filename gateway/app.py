"""The gateway's ASGI application.

A handler authenticates, bounds the size, decodes with the dialect's msgspec
types, publishes the body to Kafka and answers only after Kafka's
acknowledgement. Anything else belongs to the workers.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import time
from typing import Awaitable, Callable
from urllib.parse import parse_qsl

import msgspec

from gateway import bodies, encoding, errors, health, keys_api, openapi, query, ratelimit, tail
from gateway.auth import AuthStyle, authorize
from gateway.bodies import read_body as _read_body
from gateway.errors import ApiError
from gateway.publisher import Publisher
from gateway.query_slots import QuerySlots
from gateway.ratelimit import CONTROL, OVERFLOWS, QUERY, Decision, RateLimiter
from gateway.routes import ROUTES, IngestRoute
from schemas.envelope import Envelope
from schemas.registry import ADMIN, READ, WRITE, KeyRecord
from sluice import metrics
from sluice.keys import Registry
from sluice.query.backend import QueryBackend
from sluice.query.search import QueryError
from sluice.settings import Settings

log = logging.getLogger(__name__)

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
_JSON = (b"content-type", b"application/json")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


class Gateway:
    """ASGI app. ``registry`` is kept current by its owner (see sluice.registry)."""

    def __init__(self, settings: Settings, registry: Registry, publisher: Publisher,
                 on_startup: Callable[[], Awaitable[None]] | None = None,
                 on_shutdown: Callable[[], Awaitable[None]] | None = None,
                 limiter: RateLimiter | None = None):
        self.settings = settings
        self.limiter = limiter or RateLimiter(settings)
        self.registry = registry
        self.publisher = publisher
        self.query_backend = QueryBackend(settings)
        self.rate = health.IngestionRate()
        self.tail_slots = tail.Slots(settings.tail_max_per_key, settings.retry_after_s)
        self.query_slots = QuerySlots(settings.query_max_concurrent_per_tenant, settings.query_queue_max_s,
                                      settings.retry_after_s)
        self.started = time.monotonic()
        self.bodies = bodies.BodyBudget(settings.gateway_max_body_buffer_bytes, settings.body_timeout_s,
                                        settings.retry_after_s)
        self.keys = keys_api.KeyAdmin(settings, registry, publisher)
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._on_startup:
                        await self._on_startup()
                except Exception as exc:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown:
                    await self._on_shutdown()
                await self.limiter.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every handler reads its body through the guard: a deadline, and the process's byte budget.
        guard = self.bodies.guard(receive, _headers(scope))
        try:
            await self._route(scope, guard, send)
        finally:
            guard.release()

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/health" and method in ("GET", "HEAD"):
            await _respond(send, 200, b'{"status":"ok"}')
            return
        if path == "/openapi.json" and method == "GET":
            await _respond(send, 200, openapi.document())
            return
        if path == "/metrics" and method == "GET":
            body, content_type = metrics.exposition()
            await _respond(send, 200, body, ((b"content-type", content_type.encode()),))
            return
        if path in ("/v1/logs/query", "/v1/logs/stats"):
            await self._query(scope, receive, send)
            return
        if path == keys_api.PREFIX or path.startswith(keys_api.PREFIX + "/"):
            await self._keys(scope, receive, send)
            return
        if path in ("/v1/logs/tail", "/v1/health") and method == "GET":
            await (self._tail if path == "/v1/logs/tail" else self._health)(scope, receive, send)
            return
        route = ROUTES.get(path)
        request_id = new_request_id()
        if route is None:
            await _respond_error(send, errors.NOT_FOUND, request_id)
            return
        started = time.perf_counter()
        try:
            if method not in route.methods:
                raise errors.method_not_allowed(", ".join(route.methods))
            status, body, content_type, extra = await self._ingest(route, scope, receive, request_id)
            await _respond(send, status, body, ((b"x-request-id", request_id.encode()),
                                                (b"content-type", content_type), *extra))
        except ApiError as err:
            metrics.GATEWAY_REJECTIONS.labels(route.dialect, route.error_codes(err.code)).inc()
            status, body = route.render_error(route, err, request_id)
            await _respond(send, status, body, ((b"x-request-id", request_id.encode()), *err.headers))
        metrics.GATEWAY_REQUESTS.labels(route.dialect, str(status)).inc()
        metrics.GATEWAY_REQUEST_SECONDS.labels(route.dialect).observe(time.perf_counter() - started)

    async def _tail(self, scope: Scope, receive: Receive, send: Send) -> None:
        """gateway/tail.py: per-key slots, the filter compiled before the 200, then a guarded stream."""
        request_id = new_request_id()
        headers = _headers(scope)
        try:
            key = authorize(self.registry, AuthStyle.BEARER, headers, self.settings, READ)
            with self.tail_slots.hold(key.key_id):
                decision = await self._limit(key, QUERY, "tail")
                filter_text = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("filter", "")
                compiled = await tail.compile_checked(self.settings, filter_text)
                guard = tail.Guard(key, self.registry,
                                   lambda: authorize(self.registry, AuthStyle.BEARER, headers, self.settings, READ),
                                   lambda: self._limit(key, QUERY, "tail"), self.settings.tail_charge_every_s)
                await tail.stream(self.settings, self.query_backend, key, compiled, guard, send, receive,
                                  ((b"x-request-id", request_id.encode()), *_rate_headers(decision)))
        except (ApiError, QueryError) as exc:
            err = exc if isinstance(exc, ApiError) else query.api_error(exc)
            metrics.GATEWAY_REJECTIONS.labels("tail", err.code).inc()
            await _respond_error(send, err, request_id)

    async def _health(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        try:
            key = authorize(self.registry, AuthStyle.BEARER, _headers(scope), self.settings, None)
            decision = await self._limit(key, CONTROL, "health")
        except ApiError as err:
            metrics.GATEWAY_REJECTIONS.labels("health", err.code).inc()
            await _respond_error(send, err, request_id)
            return
        status, body = await health.report(self.settings, self.query_backend, self.rate, self.started)
        await _respond(send, status, msgspec.json.encode(body),
                       ((b"x-request-id", request_id.encode()), *_rate_headers(decision)))

    async def _keys(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        try:
            headers = _headers(scope)
            admin = authorize(self.registry, AuthStyle.BEARER, headers, self.settings, ADMIN)
            decision = await self._limit(admin, CONTROL, "keys")
            try:
                body = await _read_body(receive, headers, 1 << 16) if scope["method"] == "POST" else b""
                status, payload = await self.keys.handle(scope["method"], scope["path"], body, admin)
            except ApiError as err:
                raise dataclasses.replace(err, headers=err.headers + _rate_headers(decision)) from None
            await _respond(send, status, payload, ((b"x-request-id", request_id.encode()), *_rate_headers(decision)))
        except ApiError as err:
            metrics.GATEWAY_REJECTIONS.labels("keys", err.code).inc()
            await _respond_error(send, err, request_id)

    async def _query(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        started = time.perf_counter()
        stats = scope["path"] == "/v1/logs/stats"  # counts and groups: limited and bounded as searches are
        name = "stats" if stats else "query"
        try:
            if scope["method"] not in (("POST",) if stats else ("GET", "POST")):
                raise errors.method_not_allowed("POST" if stats else "GET, POST")
            headers = _headers(scope)
            key = authorize(self.registry, AuthStyle.BEARER, headers, self.settings, READ)
            decision = await self._limit(key, QUERY, "query")
            body = await _read_body(receive, headers, 1 << 20) if scope["method"] == "POST" else b""
            if stats:
                parsed_stats = query.parse_stats(body)
                async with self.query_slots.hold(key.tenant):
                    payload = await query.stats(self.settings, self.query_backend, key, parsed_stats)
            else:
                request = query.parse_request(scope["method"], scope.get("query_string", b""), body)
                async with self.query_slots.hold(key.tenant):
                    payload = await query.search(self.settings, self.query_backend, key, request)
            status = 200
            await _respond(send, 200, payload, ((b"x-request-id", request_id.encode()), *_rate_headers(decision)))
        except ApiError as err:
            metrics.GATEWAY_REJECTIONS.labels(name, err.code).inc()
            status = err.status
            await _respond_error(send, err, request_id)
        metrics.GATEWAY_REQUESTS.labels(name, str(status)).inc()
        metrics.GATEWAY_REQUEST_SECONDS.labels(name).observe(time.perf_counter() - started)

    async def _ingest(self, route: IngestRoute, scope: Scope, receive: Receive,
                      request_id: str) -> tuple[int, bytes, bytes, tuple[tuple[bytes, bytes], ...]]:
        """(status, body, content type, extra headers) of an accepted request.

        Every answer after the rate-limit check carries the X-RateLimit headers.
        An enterprise request over its limit goes to the overflow topic instead.
        """
        headers = _headers(scope)
        key = authorize(self.registry, route.auth, headers, self.settings, WRITE, route.key_prefix)
        decision = await self._limit(key, route.quota, route.dialect)
        extra = _rate_headers(decision)
        overflow = decision is not None and not decision.allowed
        try:
            fmt = route.format_for(headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower())
            if fmt is None:
                raise errors.UNSUPPORTED_MEDIA_TYPE
            # An endpoint may need more than the gateway's limits (LogFlux's 100 entries of 1 MB);
            # the process's body budget (gateway/bodies.py) still bounds what all requests hold.
            own = route.endpoint.max_body_bytes or 0
            wire = await _read_body(receive, headers, max(own, self.settings.max_body_bytes))
            body = encoding.decode(headers.get(b"content-encoding", b""), wire,
                                   max(own, self.settings.max_decoded_bytes))
            metrics.GATEWAY_BYTES_IN.labels(route.dialect, "wire").inc(len(wire))
            metrics.GATEWAY_BYTES_IN.labels(route.dialect, "decoded").inc(len(body))
            prepared = route.prepare(route, fmt, body, self.settings)
            if prepared.count:
                await self.limiter.charge(key.tenant, self.registry.tier(key.tenant), route.dialect,
                                          prepared.count, len(body))
                envelope = Envelope(fmt.value, key.tenant, request_id, time.time_ns(), key.environment,
                                    idempotency_key(headers))
                await self.publisher.publish(prepared.value, envelope,
                                             self.settings.overflow_topic if overflow else None)
                metrics.GATEWAY_RECORDS_ACCEPTED.labels(route.dialect).inc(prepared.count)
                self.rate.add(prepared.count)
        except ApiError as err:
            raise dataclasses.replace(err, headers=err.headers + extra) from None
        if overflow:
            extra += ((b"x-sluice-overflow", b"true"),)
        return route.success_status, prepared.response(request_id), prepared.content_type, extra

    async def _limit(self, key: KeyRecord, family: str, dialect: str) -> Decision | None:
        """Count the request against the key's quota; a 429 when over it, unless the
        request may overflow (None is returned as the decision then: see ``_ingest``)."""
        tier = self.registry.tier(key.tenant)
        decision = await self.limiter.check(key.key_id, tier, family)
        if decision is not None and not decision.allowed:
            if family in OVERFLOWS and tier == "enterprise":
                spill = await self.limiter.overflow(key.tenant)
                if spill is not None and not spill.allowed:
                    metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "overflow_budget").inc()
                    raise ratelimit.over_overflow_budget(spill)
                metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "overflow").inc()
                return decision
            metrics.GATEWAY_RATE_LIMITED.labels(dialect, family, "refused").inc()
            raise ratelimit.over_limit(decision, dialect)
        return decision


def _rate_headers(decision: Decision | None) -> tuple[tuple[bytes, bytes], ...]:
    # An overflowed request was accepted: it shows the limit, not a Retry-After.
    return decision.limit_headers() if decision is not None else ()


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


def _headers(scope: Scope) -> dict[bytes, bytes]:
    # ASGI servers give lower-cased header names.
    return dict(scope["headers"])


async def _respond(send: Send, status: int, body: bytes,
                   extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    headers.extend(extra)
    if any(name == b"content-type" for name, _ in extra):
        headers.pop(0)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond_error(send: Send, err: ApiError, request_id: str, code: str | None = None) -> None:
    await _respond(send, err.status, err.body(request_id, code), ((b"x-request-id", request_id.encode()), *err.headers))
