"""Request bodies under a deadline and one byte budget per process (gateway/bodies.py), through the ASGI app.

Each request here is driven message by message, so a body can stall half
way; tests/integration/test_abuse.py sends the same over real sockets.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.errors import ApiError
from sluice import metrics
from tests.unit.test_gateway import TRACE, make_gateway

BODY = json.dumps(TRACE).encode()


class Request:
    """One request to the app whose body arrives as the test feeds it."""

    def __init__(self, app, key: str, headers: dict[bytes, bytes], path: str = "/v1/logs/ingest"):
        self.messages: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"",
                 "headers": [(b"authorization", f"Bearer {key}".encode()),
                             (b"content-type", b"application/json"), *headers.items()]}
        self.task = asyncio.ensure_future(app(scope, self.messages.get, self._send))

    async def _send(self, message: dict) -> None:
        self.sent.append(message)

    def feed(self, chunk: bytes, more: bool = True) -> None:
        self.messages.put_nowait({"type": "http.request", "body": chunk, "more_body": more})

    async def answer(self) -> tuple[int, dict[bytes, bytes], dict]:
        await asyncio.wait_for(self.task, 10)
        start, body = self.sent
        return start["status"], dict(start["headers"]), json.loads(body["body"])


def app_and_key(**settings):
    client, (key,), publisher = make_gateway(**settings)
    return client._transport.app, key, publisher


def rejected(code: str) -> float:
    return metrics.GATEWAY_REJECTIONS.labels("logtrace", code)._value.get()


async def test_a_body_not_complete_by_the_deadline_is_408_and_closes_the_connection():
    app, key, publisher = app_and_key(body_timeout_s=0.3)
    before = rejected("body_timeout")
    request = Request(app, key, {b"content-length": b"%d" % len(BODY)})
    request.feed(BODY[:10])  # and the rest never comes
    status, headers, body = await request.answer()
    assert (status, body["error"]["code"]) == (408, "body_timeout")
    assert headers[b"connection"] == b"close"
    assert rejected("body_timeout") == before + 1
    assert publisher.published == [] and app.bodies.held == 0


async def test_a_body_that_would_overflow_the_budget_is_503_at_once_and_others_still_served():
    app, key, publisher = app_and_key(gateway_max_body_buffer_bytes=1000, body_timeout_s=5)
    before = rejected("body_buffer_full")
    slow = Request(app, key, {b"content-length": b"900"})
    slow.feed(b"x" * 800)  # held, waiting for the last 100 bytes
    await asyncio.wait_for(_until(lambda: app.bodies.held == 800), 10)
    declared = Request(app, key, {b"content-length": b"300"})
    status, headers, body = await declared.answer()  # nothing of it was fed: refused on its declaration
    assert (status, body["error"]["code"]) == (500, "body_buffer_full")  # LogTrace answers transient refusals 500
    assert headers[b"retry-after"] == b"5" and headers[b"connection"] == b"close"
    streamed = Request(app, key, {b"transfer-encoding": b"chunked"})
    streamed.feed(b"y" * 150)
    streamed.feed(b"y" * 150)
    status, _, body = await streamed.answer()
    assert (status, body["error"]["code"]) == (500, "body_buffer_full")
    assert app.bodies.held == 800  # the refused request's 150 bytes were given back
    small = Request(app, key, {b"content-length": b"%d" % len(BODY)})
    small.feed(BODY, more=False)
    assert (await small.answer())[0] == 202
    assert rejected("body_buffer_full") == before + 2
    slow.feed(b"", more=False)
    assert (await slow.answer())[0] == 400  # 800 x's are not JSON; what matters is that it was read
    assert app.bodies.held == 0 and len(publisher.published) == 1


async def test_a_body_larger_than_the_whole_budget_is_413():
    app, key, _ = app_and_key(gateway_max_body_buffer_bytes=1000)
    status, _, body = await Request(app, key, {b"content-length": b"2000"}).answer()
    assert (status, body["error"]["code"]) == (413, "body_too_large")


async def test_only_a_request_with_a_body_is_held_to_the_deadline():
    app, _, _ = app_and_key(body_timeout_s=0)  # every deadline has passed already

    async def client_left() -> dict:
        return {"type": "http.disconnect"}

    # A GET has no body: its receive is the client's (a live tail waits on it for hours).
    assert await app.bodies.guard(client_left, {})() == {"type": "http.disconnect"}
    with pytest.raises(ApiError) as refused:
        await app.bodies.guard(client_left, {b"content-length": b"10"})()
    assert (refused.value.status, refused.value.code) == (408, "body_timeout")


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)
