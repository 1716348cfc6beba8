"""Where queries run: a ClickHouse server over HTTP, or the worker that owns the embedded engine.

Every failure becomes a QueryError the API can answer as it is:

- the engine ran out of time or rows: 408 ``query_timeout`` / 422 ``query_too_broad``;
- the engine or the worker refused the statement (bad SQL, too large, a guard):
  400 ``query_refused`` with the first line of the engine's message;
- the worker does not accept this process's internal token: 503
  ``storage_unauthorized`` (a deployment fault the caller cannot fix);
- nothing answers: 503 ``storage_unavailable``; anything else: 502 ``storage_error``.

With a server, each thread has a client of its own, without a session id:
clickhouse-connect clients with a session answer SESSION_IS_LOCKED when two
threads query through one at the same time.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading

from sluice import internal
from sluice.query.errors import QueryError
from sluice.query.search import LIMITS
from sluice.settings import Settings

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "this query asked too much".
_TIMEOUT, _TOO_MANY_ROWS, _MEMORY = "TIMEOUT_EXCEEDED", "TOO_MANY_ROWS", "MEMORY_LIMIT_EXCEEDED"
_REFUSAL_CHARS = 300


def _classify(message: str) -> QueryError:
    if _TIMEOUT in message:
        return QueryError(408, "query_timeout", "The query ran out of time; narrow the time range or the filter.")
    if _TOO_MANY_ROWS in message or _MEMORY in message:
        return QueryError(422, "query_too_broad", "The query would read too much; narrow the time range or the filter.")
    return QueryError(502, "storage_error", "ClickHouse could not run the query.")


def refusal(status: int, message: str, secret: str = "") -> QueryError:
    """The QueryError for the worker's answer ``status`` (4xx) with ``message``.

    The message is trimmed to its first line and ``_REFUSAL_CHARS``; ``secret``
    (the internal token) never shows.
    """
    if status in (401, 403):
        return QueryError(503, "storage_unauthorized",
                          "The storage worker did not accept this gateway's internal token; an operator must give "
                          "both the same SLUICE_INTERNAL_TOKEN (or state directory).")
    classified = _classify(message)
    if classified.code != "storage_error":
        return classified
    first = message.strip().splitlines()[0] if message.strip() else ""
    if secret:
        first = first.replace(secret, "***")
    first = first[:_REFUSAL_CHARS] or f"HTTP {status}"
    return QueryError(400, "query_refused", f"The storage engine refused the query: {first}")


class QueryBackend:
    """Runs a statement where the data is; ``rows`` off the event loop, ``rows_sync`` on the calling thread."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._local = threading.local()  # .client: this thread's clickhouse-connect client

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            import clickhouse_connect
            client = clickhouse_connect.get_client(dsn=self.settings.clickhouse_dsn, autogenerate_session_id=False)
            self._local.client = client
        return client

    def _server(self, sql: str, params: dict) -> list[list]:
        try:
            client = self._client()
            return [list(r) for r in client.query(sql, parameters=params, settings=LIMITS).result_rows]
        except Exception as exc:  # clickhouse-connect raises its own DatabaseError family
            error = _classify(str(exc))
            if error.code == "storage_error":
                log.warning("ClickHouse query failed: %s", type(exc).__name__)
            raise error from None

    def _worker(self, sql: str, params: dict) -> list[list]:
        try:
            return internal.query(self.settings, {"sql": sql, "parameters": params, "settings": LIMITS}, 30)["rows"]
        except internal.InternalError as exc:
            if 400 <= exc.status < 500:
                raise refusal(exc.status, str(exc), internal.token(self.settings)) from None
            raise _classify(str(exc)) from None
        except (OSError, http.client.HTTPException):
            raise QueryError(503, "storage_unavailable",
                             "The worker that owns the embedded ClickHouse is not running.") from None
        except ValueError:  # an answer that is not JSON
            raise QueryError(502, "storage_error", "The storage worker gave an answer that is not JSON.") from None

    def rows_sync(self, sql: str, params: dict) -> list[list]:
        """The rows of ``sql``, blocking; raises QueryError."""
        return (self._worker if self.settings.embedded_clickhouse else self._server)(sql, params)

    async def rows(self, sql: str, params: dict) -> list[list]:
        return await asyncio.to_thread(self.rows_sync, sql, params)
