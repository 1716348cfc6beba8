"""The LogFlux SDK's surface on Sluice: ``import logflux`` as the LogFlux doc writes it.

    logflux.init('https://c12345.ingest.us.logflux.io', 'my-app', 'lf_your_api_key', 'your-secret')
    logflux.info('User registered successfully')
    logflux.close()

``init`` makes one process-wide ``ResilientClient`` (failsafe: logging never
raises) that the level functions write to; ``close`` delivers what is queued
and ends it. A level function called before ``init`` raises ``LogFluxError``
(``NOT_INITIALIZED``): that is a programming error, not an outage. Extra
keyword arguments become structured fields (the encrypted plaintext is then a
JSON object whose ``message`` is the log's body).
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from logflux.resilient import LogFluxError, ResilientClient
from sluice_sdk.client import Stats

__all__ = ["LogFluxError", "ResilientClient", "Stats", "alert", "close", "critical", "debug", "emergency", "error",
           "flush", "get_client", "info", "init", "notice", "warning"]

_lock = threading.Lock()
_client: Optional[ResilientClient] = None  # set by init(), cleared by close()


def init(url: str, node: str, api_key: str, secret: str, **options: Any) -> ResilientClient:
    """Start the process-wide client (closing the previous one); ``options`` as ``ResilientClient``'s."""
    global _client
    client = ResilientClient(url, node, api_key, secret, **options)
    with _lock:
        previous, _client = _client, client
    if previous is not None:
        previous.close()
    return client


def get_client() -> ResilientClient:
    with _lock:
        client = _client
    if client is None:
        raise LogFluxError("NOT_INITIALIZED", "call logflux.init(url, node, api_key, secret) before logging")
    return client


def emergency(message: str, **fields: Any) -> bool:
    return get_client().log("emergency", message, **fields)


def alert(message: str, **fields: Any) -> bool:
    return get_client().log("alert", message, **fields)


def critical(message: str, **fields: Any) -> bool:
    return get_client().log("critical", message, **fields)


def error(message: str, **fields: Any) -> bool:
    return get_client().log("error", message, **fields)


def warning(message: str, **fields: Any) -> bool:
    return get_client().log("warning", message, **fields)


def notice(message: str, **fields: Any) -> bool:
    return get_client().log("notice", message, **fields)


def info(message: str, **fields: Any) -> bool:
    return get_client().log("info", message, **fields)


def debug(message: str, **fields: Any) -> bool:
    return get_client().log("debug", message, **fields)


def flush(timeout_s: float = 10.0) -> bool:
    return get_client().flush(timeout_s)


def close(timeout_s: float = 10.0) -> None:
    """Deliver what is queued within ``timeout_s`` and end the process-wide client; a no-op without one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close(timeout_s)
