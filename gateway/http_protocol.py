"""uvicorn's httptools protocol with the bounds it lacks: the size of a request head, and the time to send it and its body.

uvicorn reads a request's line and headers without limit, so one 100 MB
header, or thousands of connections trickling a header a byte at a time
(slow loris), would hold the gateway's memory and sockets. Here a head
larger than ``max_head_bytes`` is answered 431 and one not complete within
``head_timeout_s`` of its first byte (or of the connection opening) is
answered 408; both close the connection. Bodies are bounded by the
application (gateway/bodies.py: 408 after ``body_timeout_s``, 413, 503),
after the headers said where to. One case is left to the protocol: a
request answered before its body was read (a 401, say) whose body still
trickles in; uvicorn would read and drop it for as long as it comes, so the
connection is closed when the body is not complete ``body_timeout_s`` after
its headers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sluice import metrics

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def bounded_protocol(max_head_bytes: int, head_timeout_s: float, body_timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class to hand to ``uvicorn.Config(http=...)``."""
    return type("BoundedHttpToolsProtocol", (_Bounded,), {
        "max_head_bytes": max_head_bytes, "head_timeout_s": head_timeout_s, "body_timeout_s": body_timeout_s})


class _Bounded(HttpToolsProtocol):
    max_head_bytes: int
    head_timeout_s: float
    body_timeout_s: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between requests counts as the next one's head
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._parsed = 0
        self._oversized = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._disarm_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        # Counted as it arrives: httptools buffers a header until it ends. A
        # chunk may also hold the start of the body, so judge after parsing it.
        self._head_bytes += len(data)
        if self._head_timer is None:
            self._arm()
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self._refuse(431, "headers_too_large", f"The request line and headers exceed {self.max_head_bytes} bytes.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = 0  # bytes of the line and headers parsed so far

    def on_url(self, url: bytes) -> None:
        self._parsed += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        if self._parsed > self.max_head_bytes:
            # A head that arrived whole in one read: stop the parser, answered in send_400_response.
            self._oversized = True
            raise ValueError("request head too large")
        super().on_headers_complete()
        self._disarm_body()
        self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_timed_out)

    def send_400_response(self, msg: str) -> None:
        if self._oversized:
            self._refuse(431, "headers_too_large", f"The request line and headers exceed {self.max_head_bytes} bytes.")
        else:
            super().send_400_response(msg)

    def on_message_complete(self) -> None:
        self._disarm_body()
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle time between requests belongs to uvicorn's keep-alive timeout.
        if self._in_head and not self._head_bytes:
            self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.cycle is None:
            return
        if not self.cycle.response_started:
            # The application is reading the body: its own deadline answers 408 (gateway/bodies.py).
            # Should it be busy elsewhere, look again shortly rather than cut an answer in two.
            self._body_timer = self.loop.call_later(1.0, self._body_timed_out)
            return
        metrics.GATEWAY_REJECTIONS.labels("http", "body_timeout").inc()
        self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # still answering the previous request: the next head has not begun
        if not self._head_bytes:
            self.transport.close()  # nothing asked, nothing to answer
            return
        self._refuse(408, "request_timeout", f"The request headers did not arrive within {self.head_timeout_s:g} s.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._disarm()
        metrics.GATEWAY_REJECTIONS.labels("http", code).inc()
        body = msgspec.json.encode({"status": "error", "error": {"code": code, "message": message}})
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        self.transport.write(head % (status, _REASONS[status], len(body)) + body)
        self.transport.close()
