"""Newline-delimited lines off a stream, each bounded in size, with an idle deadline.

``asyncio.StreamReader.readuntil`` buffers up to its reader's limit (twice
over, before it pauses the socket) whoever is on the other end. Here the
bound is the caller's and may change while the stream is read: the Logstash
listener lets a connection buffer a long line only once it has shown a good
token (gateway/logstash.py).
"""

from __future__ import annotations

import asyncio

_READ = 64 * 1024


class LineTooLong(Exception):
    """A line grew past ``limit`` bytes; the next call skips the rest of it."""


class Idle(Exception):
    """No line was completed within ``idle_s``."""


class LineReader:
    def __init__(self, reader: asyncio.StreamReader, limit: int, idle_s: float):
        self._reader = reader
        self.limit = limit  # bytes of a line, its newline left out; may be raised while reading
        self._idle_s = idle_s
        self._buffer = bytearray()
        self._skipping = False  # dropping the rest of a line that was too long
        self._eof = False
        self.touch()

    def touch(self) -> None:
        """Start the idle clock again (after a pause in reading that was ours, not the client's)."""
        self._idle_at = asyncio.get_running_loop().time() + self._idle_s

    async def next(self, wait_s: float | None = None) -> bytes | None:
        """The next line (newline stripped), or None at the end of the stream.

        Raises ``asyncio.TimeoutError`` when ``wait_s`` passes first (call
        again to go on), ``Idle`` when no line completed within ``idle_s``,
        and ``LineTooLong`` once per line longer than ``limit``.
        """
        loop = asyncio.get_running_loop()
        wait_until = None if wait_s is None else loop.time() + wait_s
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                if self._skipping:
                    self._skipping = False
                    continue
                if len(line) > self.limit:
                    raise LineTooLong
                self.touch()
                return line
            if self._skipping:
                self._buffer.clear()
            elif len(self._buffer) > self.limit:
                self._buffer.clear()
                self._skipping = True
                raise LineTooLong
            if self._eof:
                rest, self._buffer = bytes(self._buffer), bytearray()
                return None if self._skipping or not rest else rest
            now = loop.time()
            if now >= self._idle_at:
                raise Idle
            timeout = self._idle_at - now if wait_until is None else min(self._idle_at, wait_until) - now
            if timeout <= 0:
                raise asyncio.TimeoutError
            try:
                # Never more than the line may still take: the buffer stays within limit + 1.
                size = _READ if self._skipping else max(1, min(_READ, self.limit + 1 - len(self._buffer)))
                chunk = await asyncio.wait_for(self._reader.read(size), timeout)
            except asyncio.TimeoutError:
                if loop.time() >= self._idle_at:
                    raise Idle from None
                raise
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True
