"""The client: a bounded queue the application writes to, and one thread that sends batches.

Contracts:

* ``log()`` and its level shortcuts never block and never raise. When the
  queue holds ``max_queue`` records, the new record is dropped and counted in
  ``stats.dropped`` (failsafe mode): the application's memory is bounded and
  it keeps running whatever happens to the network.
* A batch leaves when it holds ``batch_size`` records or its oldest record
  has waited ``flush_interval_s``. Failed sends are retried (see ``retry``)
  until they succeed or the client closes; batches are sent one at a time, in
  order.
* ``flush(timeout_s)`` returns once everything queued before it was sent (True)
  or the time is up (False). ``close(timeout_s)`` flushes, then stops the
  thread; what is still queued is counted in ``stats.abandoned``. A client
  closes itself at interpreter exit.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from sluice_sdk import retry, transport
from sluice_sdk.dialects import Dialect, LogTrace, Record

log = logging.getLogger("sluice_sdk")


@dataclass
class Stats:
    sent: int = 0  # records the server accepted
    dropped: int = 0  # records refused because the queue was full
    rejected: int = 0  # records in batches the server refused for good (400, 401, 403, 413)
    abandoned: int = 0  # records still queued when the client closed
    retries: int = 0  # requests sent again


class Client:
    def __init__(self, url: str, key: str, *, dialect: Optional[Dialect] = None, batch_size: int = 500,
                 flush_interval_s: float = 1.0, max_queue: int = 10_000, compression: Optional[str] = "gzip",
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 30.0, timeout_s: float = 10.0,
                 send: Callable[..., transport.Response] = transport.post,
                 clock: Callable[[], float] = time.time, sleep: Optional[Callable[[float], None]] = None,
                 start: bool = True):
        self.url, self.key = url.rstrip("/"), key
        self.dialect = dialect or LogTrace()
        self.batch_size = max(1, min(batch_size, self.dialect.max_batch))
        self.flush_interval_s, self.max_queue, self.compression = flush_interval_s, max_queue, compression
        self.backoff_base_s, self.backoff_cap_s, self.timeout_s = backoff_base_s, backoff_cap_s, timeout_s
        self._send, self._clock = send, clock
        self.stats = Stats()
        self._queue: collections.deque[tuple[float, Record]] = collections.deque()
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._in_flight = 0
        self._flushing = 0
        self._sleep = sleep or self._interruptible_sleep
        self._thread: Optional[threading.Thread] = None
        if start:
            self._thread = threading.Thread(target=self._run, name="sluice-sdk", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    # --- the application's side -------------------------------------------
    def log(self, level: str, message: str, **fields: Any) -> bool:
        """Queue one record; False when it was dropped because the queue is full."""
        now = self._clock()
        ts = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            if len(self._queue) >= self.max_queue or self._closing.is_set():
                self.stats.dropped += 1
                return False
            self._queue.append((now, (ts, level, str(message), fields)))
            if len(self._queue) >= self.batch_size:
                self._lock.notify_all()
        return True

    def debug(self, message: str, **fields: Any) -> bool:
        return self.log("debug", message, **fields)

    def info(self, message: str, **fields: Any) -> bool:
        return self.log("info", message, **fields)

    def warning(self, message: str, **fields: Any) -> bool:
        return self.log("warning", message, **fields)

    def error(self, message: str, **fields: Any) -> bool:
        return self.log("error", message, **fields)

    def critical(self, message: str, **fields: Any) -> bool:
        return self.log("critical", message, **fields)

    def flush(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._flushing += 1
            self._lock.notify_all()
            try:
                while self._queue or self._in_flight:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._lock.wait(left)
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        if self._closing.is_set():
            return
        self.flush(timeout_s)
        self._closing.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._lock:
            self.stats.abandoned += len(self._queue)
            self._queue.clear()

    # --- the sending thread -------------------------------------------------
    def _due(self, force: bool) -> bool:
        if not self._queue:
            return False
        return force or len(self._queue) >= self.batch_size or \
            self._clock() - self._queue[0][0] >= self.flush_interval_s

    def pump(self, force: bool = False) -> int:
        """Send one batch if one is due (or any queued, with ``force``); the records sent."""
        with self._lock:
            if not self._due(force):
                return 0
            batch = [self._queue.popleft()[1] for _ in range(min(self.batch_size, len(self._queue)))]
            self._in_flight = len(batch)
        try:
            return self._deliver(batch)
        finally:
            with self._lock:
                self._in_flight = 0
                self._lock.notify_all()

    def _deliver(self, batch: list[Record]) -> int:
        body, encoding = transport.compress(self.dialect.body(batch), self.compression)
        # One key for every attempt: a retry of a request whose answer was lost is stored once.
        headers = {**self.dialect.headers(self.key), **encoding, "Idempotency-Key": uuid.uuid4().hex}
        attempt = 0
        while True:
            response = self._send(self.url + self.dialect.path, body, headers, self.timeout_s)
            if response.status is not None and 200 <= response.status < 300:
                self.stats.sent += len(batch)
                return len(batch)
            if not retry.retryable(response.status):
                self.stats.rejected += len(batch)
                log.warning("sluice refused %d records with HTTP %s; not retrying", len(batch), response.status)
                return 0
            if self._closing.is_set():
                self.stats.abandoned += len(batch)
                return 0
            wait = retry.delay(attempt, response.headers, self._clock(), self.backoff_base_s, self.backoff_cap_s)
            attempt += 1
            self.stats.retries += 1
            self._sleep(wait)

    def _interruptible_sleep(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def _run(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                if not self._due(self._flushing > 0):
                    oldest = self._queue[0][0] if self._queue else None
                    self._lock.wait(self.flush_interval_s if oldest is None else
                                    max(0.001, oldest + self.flush_interval_s - self._clock()))
                force = self._flushing > 0
            try:
                self.pump(force)
            except Exception:  # the sending thread must outlive any bug in a dialect
                log.exception("sluice sdk: sending failed")
