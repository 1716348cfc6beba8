"""Request bodies under two bounds: a deadline after the headers, and one byte budget per process.

uvicorn hands a handler the body as it arrives, and the handler keeps the
chunks until it has the whole body. Without bounds, thousands of clients
each trickling a 10 MiB body would hold every connection and, sent fast,
gigabytes of memory. So every ``receive`` of a request goes through a
``BodyGuard``:

- a body not complete ``body_timeout_s`` after the headers is answered 408
  ``body_timeout`` (the handler gets the ``ApiError`` from ``receive``);
- the bytes every request of the process holds together stay within
  ``gateway_max_body_buffer_bytes``: a request that declares more than is left,
  or whose next chunk would go over, is answered 503 ``body_buffer_full`` with
  ``Retry-After``, at once; its bytes are let go.

Both answers close the connection (the rest of the body is never read). The
bytes of a request are given back when its handler is done (``release``).
Once the body is complete, ``receive`` passes straight through: a live tail
waits on it for the client to leave. ``read_body`` collects a whole body
under a handler's own size limit (413).
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from gateway import errors
from gateway.errors import ApiError
from sluice import metrics

Receive = Callable[[], Awaitable[dict]]


class BodyBudget:
    """Request-body bytes held by this process, against ``limit``."""

    def __init__(self, limit: int, timeout_s: float, retry_after_s: int):
        self.limit, self.timeout_s, self.retry_after_s = limit, timeout_s, retry_after_s
        self.held = 0

    def guard(self, receive: Receive, headers: dict[bytes, bytes]) -> "BodyGuard":
        """A guarded ``receive`` for a request whose headers just arrived."""
        declared = headers.get(b"content-length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        # HTTP/1.1: no Content-Length and no Transfer-Encoding is no body at all.
        bodyless = length == 0 or (length is None and b"transfer-encoding" not in headers)
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        return BodyGuard(self, receive, length, deadline, bodyless)

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        metrics.GATEWAY_BODY_BUFFER_BYTES.inc(size)
        return True

    def give(self, size: int) -> None:
        self.held -= size
        metrics.GATEWAY_BODY_BUFFER_BYTES.dec(size)


class BodyGuard:
    """The ``receive`` a handler sees: it raises the 408 or 503 ``ApiError`` instead of a chunk."""

    def __init__(self, budget: BodyBudget, receive: Receive, declared: int | None, deadline: float,
                 complete: bool):
        self._budget, self._receive, self._declared, self._deadline = budget, receive, declared, deadline
        self._complete = complete
        self._checked = False
        self.held = 0

    async def __call__(self) -> dict:
        if self._complete:
            return await self._receive()
        if not self._checked:
            self._checked = True
            if self._declared is not None and self._declared > self._budget.limit:
                raise errors.body_too_large(self._budget.limit)  # never fits, whoever else is sending
            if self._declared is not None and self._declared > self._budget.limit - self._budget.held:
                raise self._full()
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            message = await asyncio.wait_for(self._receive(), remaining)
        except asyncio.TimeoutError:
            self.release()
            raise errors.body_timeout(self._budget.timeout_s) from None
        if message["type"] != "http.request":
            self._complete = True
            return message
        size = len(message.get("body", b""))
        if size and not self._budget.take(size):
            raise self._full()
        self.held += size
        self._complete = not message.get("more_body", False)
        return message

    def _full(self) -> Exception:
        self.release()
        return errors.body_buffer_full(self._budget.retry_after_s)

    def release(self) -> None:
        """Give this request's bytes back to the budget (idempotent)."""
        self._budget.give(self.held)
        self.held = 0


async def read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed ``limit``."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "client_disconnected", "The client went away before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise errors.body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
