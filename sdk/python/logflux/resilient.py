"""``ResilientClient``: the LogFlux SDK's client, a thin face over ``sluice_sdk.Client``.

Entries are encrypted (``sluice_sdk.logflux``: AES-256-GCM, PBKDF2 once per
client), queued and sent in batches of up to 100 to ``<server_url>/v1/batch``
by one background thread, with retries on network errors, 429 and 5xx.

``failsafe_mode`` (the doc's ``failsafeMode``) decides what the application
sees when logging cannot work:

* True (the default, "never crash your app"): nothing ever raises; an entry
  that does not fit in the ``queue_size`` queue is dropped and counted in
  ``stats.dropped``.
* False: a log call whose entry is not queued raises ``LogFluxError``
  (``QUEUE_FULL`` or ``CLOSED``), and ``close()`` raises ``LogFluxError``
  (``UNDELIVERED``) when entries were refused by the server or still queued
  at the deadline.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from sluice_sdk.client import Client, Stats
from sluice_sdk.dialects import LogFlux

class LogFluxError(Exception):
    """A log call or close that could not do its job, with a machine-readable ``code``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def base_url(server_url: str) -> str:
    """The doc names both ``https://host`` and ``https://host/v1`` as the endpoint: accept either.

    Raises ``LogFluxError`` (``INVALID_CONFIG``) for anything but an http(s) URL with a host,
    which could only ever fail (and be retried) at every send.
    """
    base = str(server_url).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LogFluxError("INVALID_CONFIG", "the server URL must be http(s)://host[:port], "
                                             "e.g. https://c12345.ingest.us.logflux.io")
    return base[:-3] if base.endswith("/v1") else base


class ResilientClient:
    def __init__(self, server_url: str, node: str, api_key: str, secret: str, *, failsafe_mode: bool = True,
                 queue_size: int = 1000, batch_size: int = 100, flush_interval_s: float = 1.0,
                 timeout_s: float = 10.0, compression: Optional[str] = None, **client_options: Any):
        # No compression by default: the LogFlux doc documents plain JSON bodies only.
        self.failsafe_mode = failsafe_mode
        self._closed = False
        base = base_url(server_url)
        if not api_key or not secret:
            raise LogFluxError("INVALID_CONFIG", "an API key and an encryption secret are both required")
        try:
            dialect = LogFlux(secret, node=node)
        except ImportError as exc:  # the encryption needs `cryptography`, an optional dependency
            raise LogFluxError("MISSING_DEPENDENCY", "LogFlux encryption needs the `cryptography` package: "
                                                     "pip install 'sluice-sdk[logflux]'") from exc
        self.client = Client(base, api_key, dialect=dialect, batch_size=batch_size,
                             flush_interval_s=flush_interval_s, max_queue=queue_size, timeout_s=timeout_s,
                             compression=compression, **client_options)

    @property
    def stats(self) -> Stats:
        return self.client.stats

    def log(self, level: str, message: str, **fields: Any) -> bool:
        """Queue one entry; False (failsafe) or ``LogFluxError`` when it was not queued."""
        if self.client.log(level, message, **fields):
            return True
        if self.failsafe_mode:
            return False
        if self._closed:
            raise LogFluxError("CLOSED", "the client is closed; create a new one or call logflux.init again")
        raise LogFluxError("QUEUE_FULL", f"{self.client.max_queue} entries are waiting to be sent; "
                                         "raise queue_size or log less while the server is unreachable")

    def emergency(self, message: str, **fields: Any) -> bool:
        return self.log("emergency", message, **fields)

    def alert(self, message: str, **fields: Any) -> bool:
        return self.log("alert", message, **fields)

    def critical(self, message: str, **fields: Any) -> bool:
        return self.log("critical", message, **fields)

    def error(self, message: str, **fields: Any) -> bool:
        return self.log("error", message, **fields)

    def warning(self, message: str, **fields: Any) -> bool:
        return self.log("warning", message, **fields)

    def notice(self, message: str, **fields: Any) -> bool:
        return self.log("notice", message, **fields)

    def info(self, message: str, **fields: Any) -> bool:
        return self.log("info", message, **fields)

    def debug(self, message: str, **fields: Any) -> bool:
        return self.log("debug", message, **fields)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """True once everything queued so far was sent, False when the time is up."""
        return self.client.flush(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued (within ``timeout_s``) and stop the sending thread."""
        self._closed = True
        self.client.close(timeout_s)
        lost = self.stats.rejected + self.stats.abandoned
        if lost and not self.failsafe_mode:
            raise LogFluxError("UNDELIVERED", f"{lost} entries were refused by the server or still queued at "
                                              "close; see stats and the server's answer in the log")
