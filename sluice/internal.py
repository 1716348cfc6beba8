"""The worker's read-only SQL endpoint: who may call it, what it may run, and the one client.

With the embedded engine only the worker process can open the data, so the
gateway's query API and ``sluice sql`` reach it over ``/internal/sql``. That
endpoint is for Sluice's own processes only:

- a caller presents ``Authorization: Bearer <token>``, the internal token:
  ``SLUICE_INTERNAL_TOKEN``, else ``<state_dir>/internal.token`` (mode 0600,
  created by the worker on first start). It is compared in constant time;
  a web page a developer opens cannot know it, so a cross-site POST fails.
- a statement runs with ``readonly=1``: no writes, no settings changes, and
  no table functions (``file``, ``url``, ``s3``, ``remote``, ``executable``…).
- a statement names no system table beyond ``SYSTEM_TABLES``.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import re
import secrets
import threading
import urllib.parse
from pathlib import Path

import msgspec

from sluice import private
from sluice.settings import Settings

PATH = "/internal/sql"
# What operators and the CLI read: sizes, parts, merges, schema. Not users,
# grants, settings profiles or the query log (other tenants' filters).
SYSTEM_TABLES = frozenset({
    "one", "numbers", "tables", "columns", "databases", "parts", "parts_columns", "merges",
    "mutations", "disks", "data_skipping_indices", "build_options",
})
_SYSTEM = re.compile(r"\bsystem\s*\.\s*`?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class Refused(Exception):
    """A statement the endpoint will not run, with a message for the caller."""


def token(settings: Settings, create: bool = False) -> str:
    """The internal token; with ``create``, written once to the state directory (0600)."""
    if settings.internal_token:
        return str(settings.internal_token)
    path = Path(settings.state_dir) / "internal.token"
    if not path.exists() and create:
        private.create_once(path, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def authorized(header: str | None, expected: str) -> bool:
    """True when ``header`` is ``Bearer <expected>``; constant time, never true without a token."""
    if not expected or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def check(sql: str) -> None:
    """Raise ``Refused`` for a statement naming a system table outside ``SYSTEM_TABLES``.

    Table functions and writes are refused by the engine itself (``readonly=1``);
    this guard covers what ``readonly`` still allows.
    """
    for name in _SYSTEM.findall(sql):
        if name.lower() not in SYSTEM_TABLES:
            raise Refused(f"system.{name} is not readable here; allowed: {', '.join(sorted(SYSTEM_TABLES))}")


class InternalError(Exception):
    """The worker refused or failed the statement; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def query(settings: Settings, payload: dict, timeout_s: float = 60) -> dict:
    """POST ``payload`` ({"sql", "parameters"?, "settings"?}) to the worker; its JSON answer.

    Each thread keeps one HTTP/1.1 connection to the worker open between calls: a search
    pays no TCP handshake. A kept connection the worker closed meanwhile is replaced and
    the statement sent once more (it only reads). Raises ``InternalError`` for a refusal
    and ``OSError`` when no worker answers.
    """
    body = msgspec.json.encode(payload)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token(settings)}"}
    target = urllib.parse.urlsplit(settings.worker_url)
    for attempt in range(2):
        connection, reused = _connection(target, timeout_s)
        try:
            connection.request("POST", PATH, body, headers)
            response = connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, ConnectionError):
            _close(target.netloc)
            if reused and attempt == 0:
                continue  # the worker closed the idle connection: once more on a new one
            raise
        except OSError:  # a timeout: a connection in an unknown state is not kept
            _close(target.netloc)
            raise
        if response.will_close:
            _close(target.netloc)
        if response.status >= 400:
            try:
                message = msgspec.json.decode(data).get("error", "")
            except (ValueError, AttributeError):
                message = response.reason
            raise InternalError(response.status, str(message))
        return msgspec.json.decode(data)
    raise AssertionError("unreachable: the second attempt returns or raises")


_local = threading.local()  # .open: {"host:port": this thread's connection to that worker}


def _connection(target: urllib.parse.SplitResult, timeout_s: float) -> tuple[http.client.HTTPConnection, bool]:
    """This thread's connection to ``target`` (made now, or kept from an earlier call: the bool)."""
    open_ = _local.__dict__.setdefault("open", {})
    connection = open_.get(target.netloc)
    reused = connection is not None
    if connection is None:
        connection = open_[target.netloc] = http.client.HTTPConnection(target.hostname, target.port)
    connection.timeout = timeout_s
    if connection.sock is not None:
        connection.sock.settimeout(timeout_s)
    return connection, reused


def _close(netloc: str) -> None:
    connection = _local.__dict__.get("open", {}).pop(netloc, None)
    if connection is not None:
        connection.close()
