"""The gateway's one route table: ``path → (methods, handler)``, and the lookup that runs a request's handler.

The gateway's own endpoints are listed here; the ingest endpoints are derived
from the dialect registry (gateway/routes.py ``ROUTES``), one entry each.
``methods`` None means the handler takes any method and answers a wrong one
itself with a 405 in its own style (an ingest route in its dialect's). A path
not in the table, or a method outside an entry's ``methods``, is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Awaitable, Callable

from gateway import errors, handlers, ingest, keys_api
from gateway.asgi import Receive, Scope, Send, new_request_id, respond_error
from gateway.routes import ROUTES
from gateway.state import GatewayState

Handler = Callable[[GatewayState, Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...] | None  # None: any; the handler answers a method it does not take
    handler: Handler


_KEYS = Route(None, handlers.keys)

#: The gateway's own endpoints; each dialect's ingest endpoints are added below.
OWN: dict[str, Route] = {
    "/health": Route(("GET", "HEAD"), handlers.liveness),
    "/openapi.json": Route(("GET",), handlers.openapi_document),
    "/metrics": Route(("GET",), handlers.metrics_page),
    "/v1/logs/query": Route(None, handlers.search),
    "/v1/logs/stats": Route(None, handlers.search),
    "/v1/logs/tail": Route(("GET",), handlers.live_tail),
    "/v1/health": Route(("GET",), handlers.pipeline_health),
    keys_api.PREFIX: _KEYS,
}
if set(OWN) & set(ROUTES):
    raise ValueError(f"a dialect declares a path the gateway serves itself: {sorted(set(OWN) & set(ROUTES))}")

TABLE: dict[str, Route] = {**OWN, **{path: Route(None, partial(ingest.handle, route)) for path, route in ROUTES.items()}}


def lookup(path: str, method: str) -> Route | None:
    """The entry that serves ``method`` on ``path`` (a key's own path under ``/v1/keys/`` too), or None."""
    route = TABLE.get(path)
    if route is None and path.startswith(keys_api.PREFIX + "/"):
        route = _KEYS
    if route is None or (route.methods is not None and method not in route.methods):
        return None
    return route


async def dispatch(app: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    route = lookup(scope["path"], scope["method"])
    if route is None:
        await respond_error(send, errors.NOT_FOUND, new_request_id())
        return
    await route.handler(app, scope, receive, send)
