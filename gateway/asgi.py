"""ASGI plumbing every handler shares: the callables' types, a request's headers and id, and its answer.

Contract: ``respond`` sends one whole response (the start, then the body) as
JSON with its Content-Length, unless ``extra`` names another content type;
``respond_error`` answers an ``ApiError`` in Sluice's error envelope, with the
request id in the body and in ``X-Request-Id``.
"""

from __future__ import annotations

import secrets
from typing import Awaitable, Callable

from gateway.errors import ApiError

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
_JSON = (b"content-type", b"application/json")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def headers(scope: Scope) -> dict[bytes, bytes]:
    # ASGI servers give lower-cased header names.
    return dict(scope["headers"])


async def respond(send: Send, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    headers.extend(extra)
    if any(name == b"content-type" for name, _ in extra):
        headers.pop(0)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_error(send: Send, err: ApiError, request_id: str, code: str | None = None) -> None:
    await respond(send, err.status, err.body(request_id, code), ((b"x-request-id", request_id.encode()), *err.headers))
