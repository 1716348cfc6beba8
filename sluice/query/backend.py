"""Where queries run: a ClickHouse server over HTTP, or the worker that owns the embedded engine."""

from __future__ import annotations

import asyncio

from sluice import internal
from sluice.query.search import LIMITS, QueryError
from sluice.settings import Settings

# ClickHouse error codes that mean "this query asked too much".
_TIMEOUT, _TOO_MANY_ROWS, _MEMORY = "TIMEOUT_EXCEEDED", "TOO_MANY_ROWS", "MEMORY_LIMIT_EXCEEDED"


def _classify(message: str) -> QueryError:
    if _TIMEOUT in message:
        return QueryError(408, "query_timeout", "The query ran out of time; narrow the time range or the filter.")
    if _TOO_MANY_ROWS in message or _MEMORY in message:
        return QueryError(422, "query_too_broad", "The query would read too much; narrow the time range or the filter.")
    return QueryError(502, "storage_error", "ClickHouse could not run the query.")


class QueryBackend:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._client = None

    def _server(self, sql: str, params: dict) -> list[list]:
        if self._client is None:
            from sluice.storage import connect
            self._client = connect(self.settings)
        try:
            return [list(r) for r in self._client.query(sql, parameters=params, settings=LIMITS).result_rows]
        except Exception as exc:  # clickhouse-connect raises its own DatabaseError family
            raise _classify(str(exc)) from None

    def _worker(self, sql: str, params: dict) -> list[list]:
        try:
            return internal.query(self.settings, {"sql": sql, "parameters": params, "settings": LIMITS}, 30)["rows"]
        except internal.InternalError as exc:
            raise _classify(str(exc)) from None
        except OSError:
            raise QueryError(503, "storage_unavailable", "The worker that owns the embedded ClickHouse is not running.") from None

    async def rows(self, sql: str, params: dict) -> list[list]:
        run = self._worker if self.settings.embedded_clickhouse else self._server
        return await asyncio.to_thread(run, sql, params)
