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
import json
import re
import secrets
import urllib.error
import urllib.request
from pathlib import Path

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

    Raises ``InternalError`` for a refusal and ``OSError`` when no worker answers.
    """
    request = urllib.request.Request(
        settings.worker_url + PATH, data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token(settings)}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except ValueError:
            message = exc.reason
        raise InternalError(exc.code, str(message)) from None
